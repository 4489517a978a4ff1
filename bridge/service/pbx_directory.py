"""Which Asterisk holds a room: the one question every feature asks before it acts on a room.

Each node (an Asterisk the service drives) has its ``ConferenceBridge``; each room is
placed on one node. Today the service drives one node and every room is on it, so
``bridge_for`` always answers that node's bridge; with several nodes, the rooms are placed
(``place``) and the roster's resync reads every node's lists.

A big room spreads over several nodes (docs/admin.md, "Big rooms"): its home node, where
``bridge_for`` acts on the whole room, and others linked to it. An act on one person goes
to the node their channel is on (``bridge_for_channel``): the directory remembers each
conference channel's node from the node whose events and lists named it. Channel names
cannot collide across nodes where it matters: every node-to-node endpoint's name holds the
node's own name (asterisk-config/nodes/pjsip-nodes.conf), and Kamailio's callers come
through such endpoints too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import replace

from bridge.asterisk.conference import ConferenceBridge, WhisperStarts
from bridge.domain.events import PbxSnapshot, SeenRoom
from bridge.service.tasks import Tasks

log = logging.getLogger(__name__)

LOCAL = "local"  # the node of a service that drives one Asterisk


class UnknownNode(ValueError):
    """A room placed on a node the directory does not have."""


class PbxDirectory:
    def __init__(
        self,
        nodes: Mapping[str, ConferenceBridge],
        default: str = LOCAL,
        is_up: Callable[[str], bool] = lambda node: True,
        on_seen: Callable[[dict[str, tuple[SeenRoom, ...]]], Awaitable[None]] | None = None,
    ) -> None:
        if default not in nodes:
            raise UnknownNode(f"the default node {default!r} is not among {sorted(nodes)}")
        self.nodes: dict[str, ConferenceBridge] = dict(nodes)
        self.default = default  # where a room nobody placed is
        self._is_up = is_up  # a node whose AMI link is down has no lists to read
        self._on_seen = on_seen  # told each live node's rooms (and links) at every snapshot
        self._placement: dict[str, str] = {}  # room -> node
        self._channel_node: dict[str, str] = {}  # a conference channel -> its node
        self.whispers = Tasks(log, "whisper.start_failed")  # ``start_whispers``

    def start_whispers(self) -> None:
        """Each node's link starts its whispers' prompts once their spies listen
        (``WhisperStarts``: a Setvar each, run as one of ``whispers``)."""
        for bridge in self.nodes.values():
            WhisperStarts(bridge.ami, self.whispers.start)

    @classmethod
    def single(cls, bridge: ConferenceBridge) -> PbxDirectory:
        """The directory of a service that drives one Asterisk."""
        return cls({LOCAL: bridge})

    def place(self, room: str, node: str) -> None:
        """Pin ``room`` to ``node`` (its calls are on that Asterisk)."""
        if node not in self.nodes:
            raise UnknownNode(f"room {room!r} placed on {node!r}, not among {sorted(self.nodes)}")
        self._placement[room] = node

    def unplace(self, room: str) -> None:
        self._placement.pop(room, None)

    def placed(self) -> dict[str, str]:
        """Every placed room, with its node."""
        return dict(self._placement)

    def node_of(self, room: str) -> str:
        return self._placement.get(room, self.default)

    def bridge_for(self, room: str) -> ConferenceBridge:
        """The ``ConferenceBridge`` of the node that holds ``room`` (its home node)."""
        return self.nodes[self.node_of(room)]

    def saw_channel(self, channel: str, node: str) -> None:
        """Node ``node`` said ``channel`` joined one of its conferences."""
        if node in self.nodes:
            self._channel_node[channel] = node

    def forget_channel(self, channel: str, node: str) -> None:
        """Node ``node`` hung ``channel`` up (a namesake on another node stays)."""
        if self._channel_node.get(channel) == node:
            del self._channel_node[channel]

    def node_of_channel(self, room: str, channel: str) -> str:
        """The node ``channel`` is on; the room's home node when no node named it."""
        return self._channel_node.get(channel) or self.node_of(room)

    def bridge_for_channel(self, room: str, channel: str) -> ConferenceBridge:
        """The ``ConferenceBridge`` of the node ``channel`` (a person of ``room``) is on."""
        return self.nodes[self.node_of_channel(room, channel)]

    def nodes_of(self, room: str, channels: Iterable[str]) -> list[str]:
        """The nodes ``room`` is on, its home node first: where its ``channels`` are."""
        home = self.node_of(room)
        others = {self.node_of_channel(room, channel) for channel in channels} - {home}
        return [home, *sorted(others)]

    def bridges_of(self, room: str, channels: Iterable[str]) -> list[ConferenceBridge]:
        """The bridges of every node ``room`` is on (``nodes_of``): an act on the whole
        room acts on each."""
        return [self.nodes[node] for node in self.nodes_of(room, channels)]

    async def snapshot(self) -> PbxSnapshot:
        """Every live node's rooms and channels, read at once (the roster's resync)."""
        live = [name for name in self.nodes if self._is_up(name)]
        seen = await asyncio.gather(*(self.nodes[name].snapshot() for name in live))
        if self._on_seen is not None:
            await self._on_seen({name: one.rooms for name, one in zip(live, seen, strict=True)})
        rooms: dict[str, SeenRoom] = {}
        for name, one in zip(live, seen, strict=True):
            for room in one.rooms:
                for person in room.participants:
                    self.saw_channel(person.channel, name)
                rooms[room.room] = _merged(rooms.get(room.room), room)
        return PbxSnapshot(
            tuple(rooms.values()), tuple(channel for one in seen for channel in one.channels)
        )


def _merged(earlier: SeenRoom | None, room: SeenRoom) -> SeenRoom:
    """One room seen on two nodes (a big room's cascade) is one room: every node's people."""
    if earlier is None:
        return room
    return replace(
        earlier,
        locked=earlier.locked or room.locked,
        participants=earlier.participants + room.participants,
        recording=earlier.recording or room.recording,
        links=earlier.links + room.links,
    )
