"""A moderator's ``rooms:`` entries: a room name (the moderator is its host), or a mapping
``{room: NAME, role: host|assistant}``. The mapping form is read here, node by node, so
that a wrong role or key names its own line."""

from __future__ import annotations

import difflib
from collections.abc import Callable

import yaml

from bridge.domain.accounts import Right
from bridge.domain.rooms import RoomGrant

ROLES = tuple(right.value for right in Right)  # host, assistant
GRANT_KEYS = ("room", "role")
_STR_TAG = "tag:yaml.org,2002:str"

Report = Callable[[int, str], None]  # (line, message)


def grant_of(node: yaml.MappingNode, report: Report) -> RoomGrant | None:
    """The grant a ``{room, role}`` mapping makes; None (each problem reported) if wrong."""
    found: dict[str, yaml.Node] = {}
    good = True
    for key_node, value_node in node.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        if key not in GRANT_KEYS:
            report(line_of(key_node), unknown_key(str(key), GRANT_KEYS))
            good = False
        elif not _is_text(value_node):
            report(line_of(value_node), f"{key}: must be text, got {_describe(value_node)}")
            good = False
        else:
            found[key] = value_node
    if "room" not in found:
        if good:
            report(line_of(node), "required key 'room' is missing")
        return None
    role = str(found["role"].value) if "role" in found else Right.HOST.value
    if role not in ROLES:
        message = f"role: no role {role!r} (expected one of: {', '.join(ROLES)})"
        report(line_of(found["role"]), message + did_you_mean(role, ROLES))
        return None
    return RoomGrant(str(found["room"].value), Right(role)) if good else None


def line_of(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1 if node.start_mark else 1


def unknown_key(key: str, expected: tuple[str, ...]) -> str:
    message = f"unknown key {key!r} (expected one of: {', '.join(expected)})"
    return message + did_you_mean(key, expected)


def did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _is_text(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == _STR_TAG and bool(node.value)


def _describe(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return str(node.value) or "nothing"
