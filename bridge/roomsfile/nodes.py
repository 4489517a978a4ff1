"""Small readings of YAML nodes for the rooms file's messages: a node's line, the value as
the admin wrote it, "did you mean"."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import BaseModel

from bridge.roomsfile.entries import quote

STR_TAG = "tag:yaml.org,2002:str"
NULL_TAG = "tag:yaml.org,2002:null"
INT_TAG = "tag:yaml.org,2002:int"
Fields = dict[str, tuple[yaml.Node, yaml.Node]]  # key -> (key node, value node)


@dataclass
class Entry:
    path: str  # "rooms[2]"
    fields: Fields
    data: dict[str, Any]  # what pydantic was given
    good: dict[str, Any]  # the fields that passed, for the checks across entries
    parsed: BaseModel | None

    def line(self, key: str) -> int:
        return line_of(self.fields[key][0])


def line_of(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1 if node.start_mark else 1


def describe(node: yaml.Node) -> str:
    """The value as the admin wrote it, for "got ..." in messages."""
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    raw = str(node.value)
    if node.tag == NULL_TAG:
        return raw or "nothing"
    if node.tag == STR_TAG:
        return quote(raw)
    return raw if len(raw) <= 40 else raw[:37] + "..."


def key_name(node: yaml.Node) -> str | None:
    """A key's text; None for keys no setting could have (lists, mappings, nothing)."""
    if isinstance(node, yaml.ScalarNode) and not is_null(node) and node.value:
        return str(node.value)
    return None


def is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == NULL_TAG


def is_plain_non_text(node: yaml.Node) -> bool:
    """A bare number, date or yes/no where text was expected: quoting it would help."""
    plain = isinstance(node, yaml.ScalarNode) and node.style is None
    return plain and node.tag not in (STR_TAG, NULL_TAG)


def unknown_key(key: str, expected: tuple[str, ...]) -> str:
    message = f"unknown key {quote(key)} (expected one of: {', '.join(expected)})"
    return message + did_you_mean(key, expected)


def did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f"; did you mean {quote(close[0])}?" if close else ""
