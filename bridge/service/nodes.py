"""Several Asterisk nodes (docs/admin.md, "More than one machine"): one AMI link and one
``ConferenceBridge`` per node, in the PBX directory; which node a new room goes to (the
least-loaded live one, ``bridge.domain.nodes.place_room``), and a room's node freed once the
room has been empty for a while; placements are stored (``bridge.store.placements``), read
back at start and checked against the nodes' live conferences at every resync. Every node's
events reach the one roster; the caller who answered on another node than their room's is
handed over there by the dialplan (dialplan/nodes/extensions-nodes.conf) when the entry
script sets ``IOBRIDGE_NODE``. A big room's callers past ``max_callers_per_node`` on its
home node go to a second node (``bridge.domain.nodes.place_caller``), linked to the home
node by the cascade (``bridge.service.cascade``)."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from panoramisk.message import Message
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bridge.asterisk.ami import AmiClient
from bridge.asterisk.ami_events import is_link
from bridge.asterisk.conference import ConferenceBridge
from bridge.domain.breakouts import split_conference
from bridge.domain.cascade import Reservations
from bridge.domain.events import SeenRoom
from bridge.domain.nodes import (
    DEFAULT_MAX_CALLERS_PER_NODE,
    NodeSpec,
    NodeState,
    NoLiveNode,
    checked_placements,
    place_caller,
    place_room,
)
from bridge.domain.roster import Switchboard
from bridge.errors import NoSuchNode
from bridge.service.cascade import Cascade
from bridge.service.pbx_directory import PbxDirectory
from bridge.settings import Settings
from bridge.store.placements import drop_placements, load_placements, save_placement

log = logging.getLogger(__name__)

EMPTY_ROOM_KEPT_SECONDS = 60.0  # a room empty this long is no longer placed anywhere
# A caller placed on a node counts there this long at most before they join (the hand-over,
# a name recorded at entry: seconds), so callers arriving together respect the limit.
RESERVED_SECONDS = 30.0


class NodeSecretMissing(Exception):
    """A node's AMI secret cannot be read; the message names where, never a value."""


def secret_of(node: NodeSpec) -> SecretStr:
    if node.secret_file:
        try:
            return SecretStr(Path(node.secret_file).read_text().strip())
        except OSError as exc:
            raise NodeSecretMissing(
                f"node {node.name}: cannot read secret_file {node.secret_file}: {exc.strerror}"
            ) from None
    value = os.environ.get(node.secret_env or "", "")
    if not value:
        raise NodeSecretMissing(
            f"node {node.name}: the environment variable {node.secret_env} is not set"
        )
    return SecretStr(value)


class NodeLinks:
    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        nodes: Sequence[NodeSpec],
        switchboard: Callable[[], Switchboard],
        on_event: Callable[[Message], None],
        on_link: Callable[[str, bool], Awaitable[None]],
        clock: Callable[[], float] = time.monotonic,
        max_callers_per_node: int = DEFAULT_MAX_CALLERS_PER_NODE,
    ) -> None:
        self.nodes = tuple(nodes)
        self.max_callers_per_node = max_callers_per_node
        self._sessions = sessions
        self._switchboard = switchboard
        self._clock = clock
        self.links: dict[str, AmiClient] = {}
        for node in self.nodes:
            self.links[node.name] = AmiClient(
                host=node.ami.host,
                port=node.ami.port,
                username=settings.ami_username,
                secret=secret_of(node),
                on_event=self._events_of(node.name, on_event),
                on_connected=_for_node(on_link, node.name),
                action_timeout=settings.ami_action_timeout,
                ping_every=settings.node_ping_seconds,
                ping_timeout=settings.node_ping_seconds * 1.25,
            )
        bridges = {
            name: ConferenceBridge(ami, settings.sounds_dir) for name, ami in self.links.items()
        }
        self.directory = PbxDirectory(
            bridges, default=self.nodes[0].name, is_up=self.is_up, on_seen=self.resynced
        )
        self.draining: set[str] = set()
        self._empty_since: dict[str, float] = {}
        self.reservations = Reservations(RESERVED_SECONDS)
        self.cascade = Cascade(self.directory, self.expected_callers, clock)

    def _events_of(
        self, name: str, on_event: Callable[[Message], None]
    ) -> Callable[[Message], None]:
        """Node ``name``'s events: the node each conference channel is on noted first
        (a person's mute goes to their node), then a link's to the cascade, then the
        roster's."""

        def received(message: Message) -> None:
            event, channel = message.get("Event"), str(message.get("Channel", ""))
            if event == "ConfbridgeJoin" and not is_link(message):
                self.directory.saw_channel(channel, name)
                room, group = split_conference(str(message.get("Conference", "")))
                if group is None:
                    self.reservations.joined(room, name)
            self.cascade.on_ami(name, message)
            on_event(message)
            if event == "Hangup":
                self.directory.forget_channel(channel, name)
                self.reservations.ended(channel)

        return received

    def room_callers(self, room: str) -> dict[str, int]:
        """The room's callers on each node it is on."""
        live = self._switchboard().room(room)
        counts: dict[str, int] = {}
        for channel in live.participants if live is not None else ():
            node = self.directory.node_of_channel(room, channel)
            counts[node] = counts.get(node, 0) + 1
        return counts

    def expected_callers(self, room: str) -> dict[str, int]:
        """The room's callers on each node, with those placed there who have not joined yet."""
        counts = self.room_callers(room)
        for node, reserved in self.reservations.of(room, self._clock()).items():
            counts[node] = counts.get(node, 0) + reserved
        return counts

    def is_up(self, name: str) -> bool:
        return self.links[name].connected.is_set()

    def any_up(self) -> bool:
        return any(ami.connected.is_set() for ami in self.links.values())

    def state(self, name: str) -> NodeState:
        if not self.is_up(name):
            return NodeState.DOWN
        return NodeState.DRAINING if name in self.draining else NodeState.UP

    async def node_lost(self, name: str) -> None:
        """Node ``name``'s link is down: its calls are lost, and its rooms are placed
        anew for the next callers (on a live node)."""
        lost = set(self.rooms_on(name))
        for room in lost:
            self.directory.unplace(room)
            self._empty_since.pop(room, None)
        log.warning("nodes.lost node=%s rooms=%s", name, sorted(lost))
        await self._store({}, lost)

    def drain(self, name: str) -> None:
        """No new room goes to node ``name``; its live rooms finish there."""
        if name not in self.links:
            raise NoSuchNode(name, [node.name for node in self.nodes])
        self.draining.add(name)
        log.warning("nodes.draining node=%s rooms=%s", name, self.rooms_on(name))

    def listing(self) -> list[dict[str, Any]]:
        """Every node as ``iobridge nodes list --json`` shows it."""
        return [
            {
                "name": node.name,
                "sip": str(node.sip),
                "ami": str(node.ami),
                "state": str(self.state(node.name)),
                "calls": self.calls_on(node.name),
                "rooms": self.rooms_on(node.name),
            }
            for node in self.nodes
        ]

    def rooms_on(self, name: str) -> list[str]:
        return sorted(room for room, node in self.directory.placed().items() if node == name)

    def calls_on(self, name: str) -> int:
        """The people on node ``name``, of every room (a big room's on each of its nodes)."""
        board = self._switchboard()
        return sum(
            1
            for room in board.rooms.values()
            for channel in room.participants
            if self.directory.node_of_channel(room.name, channel) == name
        )

    async def restore(self) -> None:
        """At start: the placements a previous run stored (checked at the first resync)."""
        async with self._sessions() as session:
            stored = await load_placements(session)
        for room, node in stored.items():
            if node in self.directory.nodes:
                self.directory.place(room, node)
        log.info("nodes.placements_restored rooms=%d", len(stored))

    async def resynced(self, seen: Mapping[str, Sequence[SeenRoom]]) -> None:
        """After reading the live nodes' conferences (``seen``: node -> its rooms): the
        placements checked, then the big rooms' links found there taken as theirs."""
        await self.check_placements(
            {node: {room.room for room in rooms} for node, rooms in seen.items()}
        )
        await self.cascade.adopt(
            {node: {room.room: room.links for room in rooms} for node, rooms in seen.items()}
        )

    async def check_placements(self, seen: Mapping[str, set[str]]) -> None:
        """After reading the live nodes' conferences (``seen``: node -> live rooms): each
        room placed where it is live (``bridge.domain.nodes.checked_placements``)."""
        before = self.directory.placed()
        after = checked_placements(before, seen)
        if after == before:
            return
        for room in before.keys() - after.keys():
            self.directory.unplace(room)
        moved = {room: node for room, node in after.items() if before.get(room) != node}
        for room, node in moved.items():
            self.directory.place(room, node)
        log.info("nodes.placements_checked moved=%s freed=%s", moved, sorted(before - after.keys()))
        await self._store(moved, set(before) - set(after))

    async def place(self, room: str, channel: str = "") -> str | None:
        """The node the caller on ``channel`` joins ``room`` on: its home node (placed, for
        a room nobody is in, on the least-loaded live node, and stored until the room has
        been empty for EMPTY_ROOM_KEPT_SECONDS), or past max_callers_per_node there,
        another. The caller counts there until they join (``Reservations``), counted before
        any wait, so that callers arriving together see each other. None when every node
        is down: the caller joins where they are."""
        freed = self._forget_empty_rooms()
        states = {node.name: self.state(node.name) for node in self.nodes}
        load = {node.name: self.calls_on(node.name) for node in self.nodes}
        home = self.directory.placed().get(room)
        if home is not None and self.is_up(home):
            callers = self.expected_callers(room)
            node = place_caller(home, self.nodes, states, load, callers, self.max_callers_per_node)
            self.reservations.reserve(room, node, channel, self._clock())
            await self._store({}, freed)
            if node != home:
                log.info("nodes.caller_cascaded room=%s home=%s node=%s", room, home, node)
                await self.cascade.want(room, home, node)
            return node
        try:
            node = place_room(self.nodes, states, load)
        except NoLiveNode:
            log.error("nodes.none_up room=%s", room)
            return None
        # In memory first, before any wait: a second caller of the room finds it placed.
        self.directory.place(room, node)
        self.reservations.reserve(room, node, channel, self._clock())
        self._empty_since.pop(room, None)
        log.info("nodes.room_placed room=%s node=%s", room, node)
        await self._store({room: node}, freed)
        return node

    async def _store(self, placed: Mapping[str, str], freed: set[str]) -> None:
        if not placed and not freed:
            return
        at = datetime.now(UTC)
        async with self._sessions.begin() as session:
            for room, node in placed.items():
                await save_placement(session, room, node, at)
            await drop_placements(session, freed - placed.keys())

    def _forget_empty_rooms(self) -> set[str]:
        board, now = self._switchboard(), self._clock()
        freed: set[str] = set()
        for room in list(self.directory.placed()):
            live = board.room(room)
            if live is not None and live.count:
                self._empty_since.pop(room, None)
                continue
            since = self._empty_since.setdefault(room, now)
            if now - since >= EMPTY_ROOM_KEPT_SECONDS:
                self.directory.unplace(room)
                del self._empty_since[room]
                freed.add(room)
                log.info("nodes.room_freed room=%s", room)
        return freed

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            for name, ami in self.links.items():
                group.create_task(ami.run(), name=f"ami-{name}")
            group.create_task(self.cascade.run(), name="cascade")

    async def close(self) -> None:
        await asyncio.gather(*(ami.close() for ami in self.links.values()))


def _for_node(
    on_link: Callable[[str, bool], Awaitable[None]], name: str
) -> Callable[[bool], Awaitable[None]]:
    async def changed(up: bool) -> None:
        await on_link(name, up)

    return changed
