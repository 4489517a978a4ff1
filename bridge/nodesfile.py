"""The nodes file: the Asterisk servers one service drives (docs/admin.md, "More than one
machine"), read like the rooms file (``FILE:LINE: field: message``, every problem at once)::

    max_callers_per_node: 500   # optional: a big room spreads to a second node past this
    nodes:
      - name: node-1
        sip: 10.0.0.11:5060
        ami: 10.0.0.11:5038
        secret_file: /etc/iobridge/node-1.ami   # or secret_env: NODE_1_AMI
        rtp: 20000-23999
        weight: 1

The AMI secret is never written in the file (``secret:`` is refused without echoing it).
The checks across nodes (unique names and addresses, RTP ranges that share no port) are the
domain's (``bridge.domain.nodes.node_clashes``).
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, ClassVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator

from bridge.domain.nodes import (
    DEFAULT_MAX_CALLERS_PER_NODE,
    NODE_NAME,
    Address,
    NodesConfig,
    NodeSpec,
    PortRange,
    node_clashes,
)
from bridge.roomsfile import _syntax_problem
from bridge.roomsfile.nodes import INT_TAG, describe, is_null, line_of, unknown_key
from bridge.roomsfile.problems import Problem, RoomsFileError
from bridge.roomsfile.reader import Reader
from bridge.roomsfile.trunks import INLINE_SECRETS, readerline_of

_ENV = re.compile(r"[A-Z_][A-Z0-9_]{0,63}")
_RANGE = re.compile(r"([0-9]{1,5})-([0-9]{1,5})")
_TOP_KEYS = ("nodes", "max_callers_per_node")
_MAX_CALLERS = (2, 100_000)
INLINE_MESSAGE = (
    "the AMI secret is never written in the nodes file (the value is not shown here): put it "
    "in a file and name it with secret_file, or name an environment variable with secret_env"
)


class NodesFileError(RoomsFileError):
    """The nodes file's problems, one line each (the rooms file's shape)."""


def address_of(value: str) -> Address:
    """``HOST:PORT`` as an address; ValueError saying what was expected."""
    host, _, port = value.rpartition(":")
    try:
        ipaddress.ip_address(host.strip("[]"))
        number = int(port)
    except ValueError:
        number = 0
    if not 1 <= number <= 65535:
        raise ValueError(f"must be an address and a port like 10.0.0.11:5060, got {value[:40]!r}")
    return Address(host.strip("[]"), number)


class NodeEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    EXPECTED_HERE: ClassVar[dict[str, str]] = {
        "name": "a node name like 'node-1' (a-z, 0-9, '-')",
        "sip": "the node's SIP address and port, like 10.0.0.11:5060",
        "ami": "the node's AMI address and port, like 10.0.0.11:5038",
        "secret_file": "the path of a file holding the AMI secret",
        "secret_env": "the name of an environment variable holding the AMI secret",
        "rtp": "the node's RTP ports, like 20000-23999",
        "weight": "a whole number from 1 to 100 (a node of weight 2 takes twice the calls)",
    }

    name: StrictStr
    sip: StrictStr
    ami: StrictStr
    rtp: StrictStr
    secret_file: StrictStr | None = None
    secret_env: StrictStr | None = None
    weight: Annotated[StrictInt, Field(ge=1, le=100)] = 1

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NODE_NAME.fullmatch(value):
            raise ValueError(f"must be 1-40 characters of a-z, 0-9 and '-', got {value[:40]!r}")
        return value

    @field_validator("sip", "ami")
    @classmethod
    def _addresses(cls, value: str) -> str:
        address_of(value)
        return value

    @field_validator("rtp")
    @classmethod
    def _rtp(cls, value: str) -> str:
        found = _RANGE.fullmatch(value)
        first, last = (int(found.group(1)), int(found.group(2))) if found else (0, 0)
        if not found or not 1024 <= first < last <= 65535:
            raise ValueError(f"must be a range of ports like 20000-23999, got {value[:40]!r}")
        return value

    @field_validator("secret_env")
    @classmethod
    def _env(cls, value: str | None) -> str | None:
        if value is not None and not _ENV.fullmatch(value):
            raise ValueError(f"must be an environment variable's name, got {value[:40]!r}")
        return value

    def spec(self, nodes_file: str) -> NodeSpec:
        first, last = (int(n) for n in self.rtp.split("-"))
        secret_file = self.secret_file
        if secret_file is not None and not Path(secret_file).is_absolute():
            secret_file = str(Path(nodes_file).parent / secret_file)
        return NodeSpec(
            self.name,
            address_of(self.sip),
            address_of(self.ami),
            PortRange(first, last),
            self.weight,
            secret_file,
            self.secret_env,
        )


def load_nodes_file(path: Path) -> tuple[NodeSpec, ...]:
    return load_nodes_config(path).nodes


def parse_nodes_text(text: str, filename: str) -> tuple[NodeSpec, ...]:
    return parse_nodes_config(text, filename).nodes


def load_nodes_config(path: Path) -> NodesConfig:
    """The whole nodes file: its nodes and its settings."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        problem = Problem(str(path), 0, "file", f"cannot read the file: {reason}")
        raise NodesFileError([problem]) from None
    return parse_nodes_config(text, str(path))


def parse_nodes_config(text: str, filename: str) -> NodesConfig:
    problems: list[Problem] = []
    config = NodesConfig(())
    try:
        loader = yaml.SafeLoader(text)
        try:
            config = _read(Reader(loader, filename, problems), loader.get_single_node())
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        problems.append(_syntax_problem(exc, filename))
    except yaml.YAMLError:
        problems.append(Problem(filename, 1, "file", "not a YAML text file"))
    if problems:
        raise NodesFileError(sorted(problems, key=lambda p: p.line))
    return config


def _read(reader: Reader, root: yaml.Node | None) -> NodesConfig:
    nodes = _read_nodes(reader, root)
    limit = DEFAULT_MAX_CALLERS_PER_NODE
    if isinstance(root, yaml.MappingNode):  # duplicate keys: reported by _read_nodes
        for key_node, value_node in root.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == "max_callers_per_node":
                limit = _max_callers(reader, value_node)
    return NodesConfig(nodes, limit)


def _max_callers(reader: Reader, node: yaml.Node) -> int:
    low, high = _MAX_CALLERS
    value = node.value if isinstance(node, yaml.ScalarNode) else None
    if (
        node.tag != INT_TAG
        or not isinstance(value, str)
        or not value.isdigit()
        or not low <= int(value) <= high
    ):
        reader.add(
            line_of(node),
            "max_callers_per_node",
            f"must be a whole number from {low} to {high} (how many of one room's callers a "
            f"node holds before the next go to a second node), got {describe(node)}",
        )
        return DEFAULT_MAX_CALLERS_PER_NODE
    return int(value)


def _read_nodes(reader: Reader, root: yaml.Node | None) -> tuple[NodeSpec, ...]:
    if root is None or is_null(root) or not isinstance(root, yaml.MappingNode):
        got = "nothing" if root is None else describe(root)
        reader.add(1 if root is None else line_of(root), "file", f"expected 'nodes:', got {got}")
        return ()
    top = reader.fields(root, "")
    for key, (key_node, _) in top.items():
        if key not in _TOP_KEYS:
            reader.add(line_of(key_node), key, unknown_key(key, _TOP_KEYS))
    if "nodes" not in top:
        reader.add(line_of(root), "nodes", "required key 'nodes' is missing")
        return ()
    key_node, listed = top["nodes"]
    if isinstance(listed, yaml.SequenceNode):
        items = [_without_inline_secret(reader, item, i) for i, item in enumerate(listed.value)]
        listed = yaml.SequenceNode(listed.tag, items, listed.start_mark, listed.end_mark)
    entries = reader.entries((key_node, listed), "nodes", NodeEntry)
    if not entries and not reader.problems:
        reader.add(line_of(key_node), "nodes", "no nodes listed; add at least one")
    for entry in entries:
        given = [key for key in ("secret_file", "secret_env") if key in entry.fields]
        if len(given) != 1:
            line = entry.line(given[1]) if given else readerline_of(entry)
            where = f"{entry.path}.{given[1] if given else 'secret_file'}"
            reader.add(line, where, "needs exactly one of secret_file and secret_env")
    if reader.problems:
        return ()
    parsed = [e.parsed for e in entries if isinstance(e.parsed, NodeEntry)]
    specs = tuple(node.spec(reader.filename) for node in parsed)
    for clash in node_clashes(specs):
        entry = entries[clash.index]
        reader.add(entry.line(clash.field), f"{entry.path}.{clash.field}", clash.message)
    return specs


def _without_inline_secret(reader: Reader, node: yaml.Node, index: int) -> yaml.Node:
    if not isinstance(node, yaml.MappingNode):
        return node
    kept = []
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value in INLINE_SECRETS:
            reader.add(line_of(key_node), f"nodes[{index}].{key_node.value}", INLINE_MESSAGE)
        else:
            kept.append((key_node, value_node))
    return yaml.MappingNode(node.tag, kept, node.start_mark, node.end_mark, node.flow_style)
