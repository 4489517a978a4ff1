"""The room page's live feed: one websocket per open panel, a fresh snapshot of the room on
connect and after every burst of changes.

One ``RoomFeed`` per watched room subscribes to the service's hubs (the roster's changes,
the audit trail), builds the room's snapshot once per burst (at most every ``INTERVAL``:
the first change of a quiet room goes out at once, a storm of talk events is coalesced)
and offers the same text to every panel watching. Each panel has a one-slot mailbox where
a newer snapshot replaces an unsent older one, so a slow browser gets fewer snapshots and
never a backlog; one that does not take a snapshot within ``SEND_TIMEOUT`` is closed (the
page reconnects and gets a fresh one). Nothing here is awaited by the AMI reader: the hubs'
publish never waits.

The websocket carries no commands (actions are POSTs with the CSRF token); it is refused
before the upgrade without a session (401), from a foreign Origin or for a room the
session may not moderate (403).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from aiohttp import WSCloseCode, WSMsgType, web

from bridge.domain.rooms import RoomSpec
from bridge.errors import BadField
from bridge.hub import Hub, SubscriberDropped
from bridge.service.accounts import PanelSession
from bridge.service.roster import Change
from bridge.web.auth import check_same_origin, json_session, room_of_request
from bridge.web.keys import SERVICE
from bridge.web.panel.pages import find_room_or_404
from bridge.web.panel.state import room_snapshot

if TYPE_CHECKING:
    from bridge.service import BridgeService

log = logging.getLogger(__name__)

INTERVAL = 0.075  # seconds between two snapshots of a busy room
SEND_TIMEOUT = 5.0  # a panel that takes no snapshot for this long is closed
RECHECK_RIGHTS = 60.0  # a panel's session and rights are read again this often
CLOSE_TOO_SLOW = 4000  # the page reconnects at once
CLOSE_NOT_ALLOWED = 4003  # the page goes to the login page
T = TypeVar("T")


class Viewer:
    """One open panel: a one-slot mailbox of the latest snapshot not yet sent."""

    def __init__(self, ws: web.WebSocketResponse, session: PanelSession) -> None:
        self.ws = ws
        self.session = session
        self.mailbox: asyncio.Queue[str] = asyncio.Queue(maxsize=1)

    def offer(self, snapshot: str) -> None:
        if self.mailbox.full():
            self.mailbox.get_nowait()  # superseded: the newer snapshot says all it said
        self.mailbox.put_nowait(snapshot)


class RoomFeed:
    def __init__(self, service: BridgeService, room: RoomSpec) -> None:
        self.service = service
        self.room = room
        self.viewers: set[Viewer] = set()
        self._dirty = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"panel-feed-{self.room.name}"
        )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def snapshot(self) -> str:
        trail = await self.service.audit.recent(self.room.name)
        return json.dumps(room_snapshot(self.service, self.room, trail), separators=(",", ":"))

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        watchers = [
            loop.create_task(self._watch(self.service.roster.changes, self._concerns_room)),
            loop.create_task(self._watch(self.service.audit.changes, self._is_room)),
        ]
        try:
            last = 0.0
            while True:
                await self._dirty.wait()
                wait = last + INTERVAL - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)  # the rest of the burst joins this snapshot
                self._dirty.clear()
                text = await self.snapshot()
                last = loop.time()
                for viewer in list(self.viewers):
                    viewer.offer(text)
        finally:
            for task in watchers:
                task.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)

    def _concerns_room(self, change: Change) -> bool:
        return change.room is None or change.room == self.room.name  # None: every room

    def _is_room(self, room: str) -> bool:
        return room == self.room.name

    async def _watch(self, hub: Hub[T], concerns: Callable[[T], bool]) -> None:
        """Mark the feed dirty on every change that concerns the room. If the hub drops us
        (the loop was starved), subscribe again: the next snapshot is whole anyway."""
        while True:
            async with hub.subscribe(f"panel:{self.room.name}") as sub:
                try:
                    while True:
                        if concerns(await sub.get()):
                            self._dirty.set()
                except SubscriberDropped:
                    self._dirty.set()


class LiveFeeds:
    """The feeds of the rooms someone is watching; a feed stops with its last viewer."""

    def __init__(self) -> None:
        self._feeds: dict[str, RoomFeed] = {}

    async def watch(
        self,
        service: BridgeService,
        room: RoomSpec,
        ws: web.WebSocketResponse,
        session: PanelSession,
    ) -> None:
        feed = self._feeds.get(room.name)
        if feed is None:
            feed = self._feeds[room.name] = RoomFeed(service, room)
            feed.start()
        viewer = Viewer(ws, session)
        feed.viewers.add(viewer)
        try:
            viewer.offer(await feed.snapshot())  # on connect and on every reconnect
            await _serve(service, feed.room.name, viewer)
        finally:
            feed.viewers.discard(viewer)
            if not feed.viewers and self._feeds.get(room.name) is feed:
                del self._feeds[room.name]
                await feed.stop()

    @property
    def viewer_count(self) -> int:
        return sum(len(feed.viewers) for feed in self._feeds.values())

    async def close(self) -> None:
        for feed in list(self._feeds.values()):
            for viewer in list(feed.viewers):
                await viewer.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server stopping")
            await feed.stop()
        self._feeds.clear()


async def _serve(service: BridgeService, room: str, viewer: Viewer) -> None:
    """Send snapshots until the browser leaves; read (and ignore) what it sends, which also
    answers its pings and sees its close."""
    ws = viewer.ws
    loop = asyncio.get_running_loop()
    reader = loop.create_task(_drain(ws))
    try:
        while True:
            taking = loop.create_task(viewer.mailbox.get())
            done, _ = await asyncio.wait(
                {taking, reader}, timeout=RECHECK_RIGHTS, return_when=asyncio.FIRST_COMPLETED
            )
            if taking not in done:
                taking.cancel()
                if reader in done:
                    return  # the browser left
                if not await _still_allowed(service, viewer.session, room):
                    await ws.close(code=CLOSE_NOT_ALLOWED, message=b"not allowed any more")
                    return
                continue
            try:
                await asyncio.wait_for(ws.send_str(taking.result()), SEND_TIMEOUT)
            except TimeoutError:
                log.warning("panel.viewer_too_slow room=%s", room)
                await ws.close(code=CLOSE_TOO_SLOW, message=b"too slow; reconnect")
                return
            except ConnectionError:
                return
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader


async def _drain(ws: web.WebSocketResponse) -> None:
    async for message in ws:
        if message.type is WSMsgType.ERROR:
            return


async def _still_allowed(service: BridgeService, session: PanelSession, room: str) -> bool:
    again = await service.accounts.session(session.token)
    return again is not None and again.principal.may_moderate(room)


FEEDS = web.AppKey("panel_feeds", LiveFeeds)


async def live(request: web.Request) -> web.StreamResponse:
    """``GET /rooms/{room}/live``: the websocket of a room page."""
    session = await json_session(request)
    check_same_origin(request)
    room = room_of_request(request, session)
    spec = await find_room_or_404(request, room)
    ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=4096)
    if not ws.can_prepare(request).ok:
        raise BadField("this address is the room page's websocket")
    await ws.prepare(request)
    await request.app[FEEDS].watch(request.app[SERVICE], spec, ws, session)
    return ws
