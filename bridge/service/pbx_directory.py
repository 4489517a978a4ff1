"""Which Asterisk holds a room: the one question every feature asks before it acts on a room.

Each node (an Asterisk the service drives) has its ``ConferenceBridge``; each room is
placed on one node. Today the service drives one node and every room is on it, so
``bridge_for`` always answers that node's bridge; with several nodes, the rooms are placed
(``place``) and the roster's resync reads every node's lists.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from bridge.asterisk.conference import ConferenceBridge
from bridge.domain.events import PbxSnapshot

LOCAL = "local"  # the node of a service that drives one Asterisk


class UnknownNode(ValueError):
    """A room placed on a node the directory does not have."""


class PbxDirectory:
    def __init__(
        self,
        nodes: Mapping[str, ConferenceBridge],
        default: str = LOCAL,
        is_up: Callable[[str], bool] = lambda node: True,
        on_seen: Callable[[dict[str, set[str]]], Awaitable[None]] | None = None,
    ) -> None:
        if default not in nodes:
            raise UnknownNode(f"the default node {default!r} is not among {sorted(nodes)}")
        self.nodes: dict[str, ConferenceBridge] = dict(nodes)
        self.default = default  # where a room nobody placed is
        self._is_up = is_up  # a node whose AMI link is down has no lists to read
        self._on_seen = on_seen  # told each live node's rooms at every snapshot
        self._placement: dict[str, str] = {}  # room -> node

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
        """The ``ConferenceBridge`` of the node that holds ``room``."""
        return self.nodes[self.node_of(room)]

    async def snapshot(self) -> PbxSnapshot:
        """Every live node's rooms and channels, read at once (the roster's resync)."""
        live = [name for name in self.nodes if self._is_up(name)]
        seen = await asyncio.gather(*(self.nodes[name].snapshot() for name in live))
        if self._on_seen is not None:
            await self._on_seen(
                {
                    name: {room.room for room in one.rooms}
                    for name, one in zip(live, seen, strict=True)
                }
            )
        return PbxSnapshot(
            tuple(room for one in seen for room in one.rooms),
            tuple(channel for one in seen for channel in one.channels),
        )
