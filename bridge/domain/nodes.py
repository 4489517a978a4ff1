"""Nodes: the Asterisk servers one service drives when there is more than one (docs/admin.md,
"More than one machine"). What a node is, the checks across a list of them, where a new
room goes (``place_room``) and, in a big room, where its next caller goes (``place_caller``).
Pure: the nodes file's reader (``bridge.nodesfile``) and the service's placement call these."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

NODE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
# How many of one room's callers its home node holds before the next go to a second node
# (a big room's cascade). The room profile's own limit (asterisk-config/confbridge.conf,
# max_members) is 500, so a room of the default size never spreads.
DEFAULT_MAX_CALLERS_PER_NODE = 500


@dataclass(frozen=True)
class Address:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class PortRange:
    first: int
    last: int

    def overlaps(self, other: PortRange) -> bool:
        return self.first <= other.last and other.first <= self.last

    def __str__(self) -> str:
        return f"{self.first}-{self.last}"


@dataclass(frozen=True)
class NodeSpec:
    """One node as its admin declared it. The AMI secret is named, never held here: read
    from ``secret_file`` or the environment variable ``secret_env`` when connecting."""

    name: str
    sip: Address
    ami: Address
    rtp: PortRange
    weight: int = 1
    secret_file: str | None = None
    secret_env: str | None = None


@dataclass(frozen=True)
class NodeClash:
    """Two nodes that cannot both be right: ``index`` is the later one, ``field`` its key."""

    index: int
    field: str
    message: str


def node_clashes(nodes: Sequence[NodeSpec]) -> list[NodeClash]:
    """Names, SIP and AMI addresses each used once; RTP ranges that share no port."""
    clashes: list[NodeClash] = []
    for i, node in enumerate(nodes):
        for earlier in nodes[:i]:
            if node.name == earlier.name:
                clashes.append(NodeClash(i, "name", f"duplicate node name {node.name!r}"))
            if node.sip == earlier.sip:
                message = f"SIP address {node.sip} is already node {earlier.name!r}'s"
                clashes.append(NodeClash(i, "sip", message))
            if node.ami == earlier.ami:
                message = f"AMI address {node.ami} is already node {earlier.name!r}'s"
                clashes.append(NodeClash(i, "ami", message))
            if node.rtp.overlaps(earlier.rtp):
                message = (
                    f"RTP ports {node.rtp} overlap node {earlier.name!r}'s {earlier.rtp} "
                    f"(each node needs ports of its own)"
                )
                clashes.append(NodeClash(i, "rtp", message))
    return clashes


@dataclass(frozen=True)
class NodesConfig:
    """The nodes file: its nodes, and how many of one room's callers a node holds."""

    nodes: tuple[NodeSpec, ...]
    max_callers_per_node: int = DEFAULT_MAX_CALLERS_PER_NODE


@dataclass(frozen=True)
class LinkChanged:
    """A big room's link to ``node`` came up or dropped (the panels show it)."""

    room: str
    node: str
    up: bool


class NodeState(StrEnum):
    UP = "up"  # its AMI link is up: it takes new rooms
    DOWN = "down"  # no AMI link: no new room goes there
    DRAINING = "draining"  # an admin's choice: its rooms finish, no new one goes there


class NoLiveNode(Exception):
    """Every node is down or draining: a new room has nowhere to go."""


def place_room(
    nodes: Sequence[NodeSpec], states: Mapping[str, NodeState], load: Mapping[str, int]
) -> str:
    """The node a new room goes to: among the nodes that are up, the one with the fewest
    calls per unit of weight; ties go to the node declared first."""
    live = [node for node in nodes if states.get(node.name) is NodeState.UP]
    if not live:
        raise NoLiveNode("no node is up to take a new room")
    return min(live, key=lambda node: load.get(node.name, 0) / node.weight).name


def place_caller(
    home: str,
    nodes: Sequence[NodeSpec],
    states: Mapping[str, NodeState],
    load: Mapping[str, int],
    room_callers: Mapping[str, int],
    limit: int,
) -> str:
    """The node the next caller of a placed room joins (a big room's cascade, docs/admin.md
    "Big rooms"). ``room_callers``: the room's callers on each node; ``load``: every call on
    each node. The home node while it holds fewer than ``limit`` of the room's callers;
    then a node the room already spread to with room to spare (the fewest of the room's
    callers first: no new link while one will do); then the least-loaded live node the
    room is not on yet (never the home node, which is full). When every live node holds
    ``limit`` of the room's callers, the home node takes the caller anyway: a room over
    its size is ConfBridge's to refuse, and a full node is better than none."""
    if room_callers.get(home, 0) < limit:
        return home
    live = [n for n in nodes if n.name != home and states.get(n.name) is NodeState.UP]
    spread = [n for n in live if 0 < room_callers.get(n.name, 0) < limit]
    if spread:
        return min(spread, key=lambda node: room_callers.get(node.name, 0)).name
    fresh = [n for n in live if room_callers.get(n.name, 0) == 0]
    if fresh:
        return min(fresh, key=lambda node: load.get(node.name, 0) / node.weight).name
    return home


def nodes_on_one_machine(
    count: int, network: str, sip_port: int, ami_port: int, rtp: PortRange
) -> tuple[NodeSpec, ...]:
    """``iobridge up --nodes N``: N nodes on loopback addresses ``NETWORK.2``, ``.3`` ... (the
    proxy has ``.1``), each with the same ports on its own address and an even share of
    ``rtp`` (a call takes an even port and the odd one above it)."""
    share = ((rtp.last - rtp.first + 1) // count) & ~1
    if count < 1 or share < 2:
        raise ValueError(f"cannot split RTP ports {rtp} among {count} nodes")
    return tuple(
        NodeSpec(
            f"node-{i + 1}",
            Address(f"{network}.{i + 2}", sip_port),
            Address(f"{network}.{i + 2}", ami_port),
            PortRange(rtp.first + i * share, rtp.first + (i + 1) * share - 1),
        )
        for i in range(count)
    )


def checked_placements(
    stored: Mapping[str, str], seen: Mapping[str, Collection[str]]
) -> dict[str, str]:
    """The placements once the nodes' live conferences were read (``seen``: each node that
    answered, with its live rooms). A room live on its node stays; a room live elsewhere is
    placed where it is live (the first such node, if it is split); a room placed on a node
    that answered without it, and live nowhere, is placed nowhere; a room placed on a node
    that did not answer keeps its place (nothing says otherwise)."""
    live_on: dict[str, str] = {}
    for node, rooms in seen.items():
        for room in rooms:
            live_on.setdefault(room, node)
    placed: dict[str, str] = {}
    for room, node in stored.items():
        if node in seen and room in seen[node]:
            placed[room] = node
        elif room in live_on:
            placed[room] = live_on[room]
        elif node not in seen:
            placed[room] = node
    for room, node in live_on.items():
        placed.setdefault(room, node)
    return placed
