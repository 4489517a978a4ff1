"""A big room's cascade (docs/admin.md, "Big rooms"): past ``max_callers_per_node`` of a
room's callers on its home node, the next join the room on another node, and ONE call, a
link, joins that node's conference to the home node's: a star from the home node, one link
per other node, never two between the same pair (a second link feeds back). The service
originates each link on the home node (``ConferenceBridge.link``), watches its home end in
the nodes' events, dials it again at once when it drops, and hangs it up once the other
node has held none of the room's callers for ``IDLE_LINK_SECONDS``. A restarted service (or
the standby taking over) finds the links already up at its first resync and takes them as
its own (``adopt``); a second link between the same two conferences, however it came, is
hung up as soon as it is seen.

A link is never a participant: its channels run in ``[iobridge-link]``, which the AMI
reader leaves out of the roster (``bridge.asterisk.ami_events.is_link``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bridge.asterisk.ami_events import is_link
from bridge.domain.cascade import adopt_links, endpoint, link_peer
from bridge.domain.nodes import LinkChanged
from bridge.errors import BridgeError
from bridge.service.pbx_directory import PbxDirectory
from bridge.service.tasks import Tasks

log = logging.getLogger(__name__)

CHECK_EVERY_SECONDS = 0.25  # how often every wanted link is looked at
REDIAL_AFTER_SECONDS = 1.5  # a dialled link not up by then is dialled again
IDLE_LINK_SECONDS = 10.0  # a link to a node without the room's callers is hung up then


class LinkState(StrEnum):
    UP = "up"  # both conferences hear each other
    DOWN = "down"  # being dialled (again): the other node's callers hear only each other


@dataclass
class RoomLink:
    room: str
    home: str  # the room's home node, where the link is dialled from
    node: str  # the other node
    channel: str | None = None  # the home node's end, while it is in the room's conference
    dialled_at: float | None = None
    idle_since: float | None = None

    @property
    def state(self) -> LinkState:
        return LinkState.UP if self.channel is not None else LinkState.DOWN

    def as_json(self) -> dict[str, str]:
        return {"node": self.node, "state": str(self.state)}


class Cascade:
    def __init__(
        self,
        directory: PbxDirectory,
        callers_on: Callable[[str], Mapping[str, int]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._directory = directory
        self._callers_on = callers_on  # room -> its callers on each node
        self._clock = clock
        self._links: dict[tuple[str, str], RoomLink] = {}  # (room, other node) -> its link
        self._dialling = Tasks(log, "cascade.failed")
        self.on_change: Callable[[LinkChanged], None] = lambda change: None  # to the panels

    def links_of(self, room: str) -> list[RoomLink]:
        return sorted(
            (link for link in self._links.values() if link.room == room), key=lambda link: link.node
        )

    async def want(self, room: str, home: str, node: str) -> None:
        """Room ``room``'s callers on ``node`` hear its home node: one link, dialled now
        unless it exists already."""
        if node == home:
            return
        link = self._links.get((room, node))
        if link is not None and link.home == home:
            link.idle_since = None
            return
        if link is not None:  # the room has a new home node: its old link is no star's
            await self._hang_up(link)
        link = self._links[(room, node)] = RoomLink(room, home, node)
        log.info("cascade.link_wanted room=%s home=%s node=%s", room, home, node)
        await self._dial(link)

    def on_ami(self, node: str, message: Mapping[str, Any]) -> None:
        """One node's event: a link's end that joined or left its conference. Only the home
        node's end counts: the far end's name does not say which link it is, and when
        either end hangs up the call ends, so the home end leaves too."""
        if not is_link(message):
            return
        event, channel = str(message.get("Event", "")), str(message.get("Channel", ""))
        room = str(message.get("Conference", ""))
        if event == "ConfbridgeJoin":
            self._joined(node, room, channel)
        elif event in ("ConfbridgeLeave", "Hangup"):
            for link in self._links.values():
                if link.home == node and link.channel == channel:
                    link.channel = None
                    log.warning("cascade.link_down room=%s node=%s", link.room, link.node)
                    self.on_change(LinkChanged(link.room, link.node, False))
                    self._dialling.start(self._dial(link), name="cascade-redial")

    def _joined(self, node: str, room: str, channel: str) -> None:
        peer = link_peer(node, channel, self._directory.nodes)
        home = self._directory.placed().get(room)
        if peer is None or home is None or (node != home and peer == home):
            return  # not ours to judge: no star is known, or the far end of a star link
        link = self._links.get((room, peer))
        if node != home or (link is not None and link.home != home):
            log.warning("cascade.link_outside_star room=%s node=%s peer=%s", room, node, peer)
            self._dialling.start(self._end(node, channel), name="cascade-redial")
        elif link is not None and link.channel not in (None, channel):
            log.warning("cascade.second_link room=%s node=%s", room, peer)  # it would feed back
            self._dialling.start(self._end(node, channel), name="cascade-redial")
        else:
            if link is None:  # dialled by a service before this one (a restart, the standby)
                link = self._links[(room, peer)] = RoomLink(room, home, peer)
            link.channel = channel
            log.info("cascade.link_up room=%s node=%s", room, peer)
            self.on_change(LinkChanged(room, peer, True))

    async def adopt(self, seen: Mapping[str, Mapping[str, Sequence[str]]]) -> None:
        """At every resync (``seen``: each node that answered -> room -> its link channels
        there): the links already up become the rooms' links, a second link between the same
        two conferences and any link outside a room's star are hung up
        (``bridge.domain.cascade.adopt_links``), and a known link its home node no longer
        has is down (dialled again)."""
        homes = self._directory.placed()
        known = {key: link.channel for key, link in self._links.items()}
        adoption = adopt_links(homes, seen, known, self._directory.nodes)
        for link in list(self._links.values()):
            gone = link.channel
            if (
                gone is not None
                and link.home in seen
                and gone not in seen[link.home].get(link.room, ())
            ):
                # Its end left unseen (the node's AMI link was down), or joined after the
                # lists were read: ended to be sure, so the new one is never a second.
                link.channel = None
                log.warning("cascade.link_gone room=%s node=%s", link.room, link.node)
                self.on_change(LinkChanged(link.room, link.node, False))
                await self._end(link.home, gone)
        for (room, node), channel in adoption.links.items():
            old = self._links.get((room, node))
            if old is not None and old.home != homes[room]:
                await self._hang_up(old)
            adopted = self._links.get((room, node))
            if adopted is None:
                adopted = self._links[(room, node)] = RoomLink(room, homes[room], node)
                adopted.dialled_at = self._clock()
            if adopted.channel != channel:
                adopted.channel = channel
                log.info("cascade.link_adopted room=%s node=%s", room, node)
                self.on_change(LinkChanged(room, node, True))
        for node, channel in adoption.hang_up:
            log.warning("cascade.link_hung_up node=%s channel=%s", node, channel)
            await self._end(node, channel)

    async def run(self) -> None:
        """Every wanted link up (dialled again when it dropped or never came), every idle
        one hung up; until cancelled."""
        try:
            while True:
                await asyncio.sleep(CHECK_EVERY_SECONDS)
                await self.check()
        finally:
            self._dialling.cancel()

    async def check(self) -> None:
        now = self._clock()
        for link in list(self._links.values()):
            if self._callers_on(link.room).get(link.node, 0):
                link.idle_since = None
            elif link.idle_since is None:
                link.idle_since = now
            elif now - link.idle_since >= IDLE_LINK_SECONDS:
                await self._hang_up(link)
                continue
            waited = now - (link.dialled_at or 0.0)
            if link.channel is None and waited >= REDIAL_AFTER_SECONDS:
                await self._dial(link)

    async def _dial(self, link: RoomLink) -> None:
        if (link.room, link.node) not in self._links or link.channel is not None:
            return
        link.dialled_at = self._clock()
        try:
            await self._directory.nodes[link.home].link(link.room, endpoint(link.home, link.node))
        except BridgeError as exc:  # the next check dials again
            log.warning("cascade.link_refused room=%s node=%s why=%s", link.room, link.node, exc)

    async def _hang_up(self, link: RoomLink) -> None:
        del self._links[(link.room, link.node)]
        log.info("cascade.link_dropped room=%s node=%s", link.room, link.node)
        self.on_change(LinkChanged(link.room, link.node, False))
        if link.channel is not None:
            await self._end(link.home, link.channel)

    async def _end(self, node: str, channel: str) -> None:
        with contextlib.suppress(BridgeError):  # gone already: what was wanted
            await self._directory.nodes[node].hang_up(channel)
