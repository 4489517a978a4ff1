"""The room page's live feed: one websocket per open panel; the whole room on connect, then
what changed after every burst of changes.

One ``RoomFeed`` per watched room subscribes to the service's hubs (the roster's changes,
the audit trail), rebuilds the room's state and works out what changed since the last
version (``state.changes``): one text, built once, offered to every panel watching. What
callers do in numbers (talk, join, leave, raise hands) is coalesced: at most one version
every ``INTERVAL``, the first change of a quiet room at once. What a moderator did (an
action in the audit trail, a mute, the lock, the recording) cuts that wait short: it goes
out within ``URGENT_INTERVAL``, so the moderators see their action at once in a busy room.

A panel whose browser falls ``BACKLOG`` versions behind gets the whole room again instead
of the backlog; one that takes nothing for ``SEND_TIMEOUT`` is closed (the page reconnects
and starts from a whole snapshot). Nothing here is awaited by the AMI reader: the hubs'
publish never waits.

Messages: ``{"type": "snapshot", "version": V, ...the room...}`` and ``{"type": "delta",
"version": V, "now", "room"?, "stack"?, "audit"?, "upsert"?: [participant],
"remove"?: [channel]}``, which applies to version V - 1 only (the page reconnects on a gap).

The websocket carries no commands (actions are POSTs with the CSRF token); it is refused
before the upgrade without a session (401), from a foreign Origin or for a room the
session may not moderate (403). Once open, it is closed (4003, the page goes to the login
page) when its session logs out, ends, or loses the room.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from aiohttp import WSCloseCode, WSMsgType, web

from bridge.domain.events import (
    CallArrived,
    CallHungUp,
    ParticipantJoined,
    ParticipantLeft,
    TalkingChanged,
)
from bridge.domain.polls import PollChanged
from bridge.domain.rooms import RoomSpec
from bridge.domain.speakers import StackChanged
from bridge.errors import BadField
from bridge.hub import Hub, SubscriberDropped
from bridge.service.accounts import PanelSession, token_hash
from bridge.service.room_view import NumberShown, numbers_for, room_view, whole_numbers
from bridge.service.roster import Change
from bridge.web.auth import check_same_origin, json_session, room_of_request
from bridge.web.keys import SERVICE
from bridge.web.panel.state import changes, room_snapshot

if TYPE_CHECKING:
    from bridge.service import BridgeService

log = logging.getLogger(__name__)

INTERVAL = 0.075  # seconds between two versions of a busy room
URGENT_INTERVAL = 0.01  # ... when a moderator's doing is among the changes
# Changes that callers make in numbers: coalesced. Any other change is urgent.
COALESCED = (
    TalkingChanged,
    ParticipantJoined,
    ParticipantLeft,
    CallArrived,
    CallHungUp,
    StackChanged,
    PollChanged,  # keys callers press; a moderator's open and close is in the trail too
)
BACKLOG = 64  # versions a panel may fall behind before it gets the whole room instead
SEND_TIMEOUT = 5.0  # a panel that takes nothing for this long is closed
FRESH = 1.0  # a whole snapshot older than this is rebuilt for a newcomer (its clocks)
# A panel's session and rights are read again this often, however busy the room: a sync
# that takes the room away or changes the password ends the feed within this (plus the
# accounts' 5 s cache). A logout ends it at once (``Accounts.ended``).
RECHECK_RIGHTS = 5.0
CLOSE_TOO_SLOW = 4000  # the page reconnects at once
CLOSE_NOT_ALLOWED = 4003  # the page goes to the login page
T = TypeVar("T")


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"))


class Viewer:
    """One open panel: the versions not yet sent, or a debt of the whole room."""

    def __init__(self, ws: web.WebSocketResponse, session: PanelSession) -> None:
        self.ws = ws
        self.session = session
        self.pending: deque[tuple[int, str]] = deque()
        self.owes_whole = True  # on connect, and after falling too far behind
        self.wake = asyncio.Event()

    def offer(self, version: int, text: str) -> None:
        if self.owes_whole:
            return  # the whole room, when it goes, includes this
        if len(self.pending) >= BACKLOG:
            self.pending.clear()
            self.owes_whole = True
        else:
            self.pending.append((version, text))
        self.wake.set()


class RoomFeed:
    def __init__(
        self, service: BridgeService, room: RoomSpec, shown: NumberShown = whole_numbers
    ) -> None:
        self.service = service
        self.room = room
        self.shown = shown  # callers' numbers as this feed's viewers see them (their role)
        self.viewers: set[Viewer] = set()
        self.version = 0
        self.state: dict[str, Any] | None = None
        self._whole: tuple[int, str] | None = None
        self._building = asyncio.Lock()
        self._dirty = asyncio.Event()
        self._hurry = asyncio.Event()  # an urgent change is among the dirty ones
        self._task: asyncio.Task[None] | None = None
        # Why each participant gone since the last version left (the roster's leave
        # events): the delta's ``left`` says it beside ``remove``.
        self._leave_reasons: dict[str, str | None] = {}

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"panel-feed-{self.room.name}"
        )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _next_version(self) -> None:
        """Rebuild the room's state; offer what changed to every panel."""
        async with self._building:
            trail = await self.service.audit.recent(self.room.name)
            new = room_snapshot(room_view(self.service, self.room), trail, self.shown)
            reasons, self._leave_reasons = self._leave_reasons, {}
            if self.state is None:
                self.state, self.version = new, 1
                return
            delta = changes(self.state, new)
            self.state = new
            if delta is None:
                return
            if "remove" in delta:
                delta["left"] = [
                    {"channel": channel, "reason": reasons.get(channel)}
                    for channel in delta["remove"]
                ]
            self.version += 1
            text = _json({"type": "delta", "version": self.version, **delta})
            for viewer in list(self.viewers):
                viewer.offer(self.version, text)

    async def whole(self) -> tuple[int, str]:
        """The current version of the whole room, as text (built once per version)."""
        if self.state is None or time.time() - self.state["now"] > FRESH:
            await self._next_version()
        assert self.state is not None
        if self._whole is None or self._whole[0] != self.version:
            self._whole = (self.version, _json({**self.state, "version": self.version}))
        return self._whole

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
                await self._wait_out(last)  # the rest of the burst joins this version
                self._dirty.clear()
                self._hurry.clear()
                try:
                    await self._next_version()
                except Exception:  # the next change tries again; the panels keep what they have
                    log.exception("panel.feed_failed room=%s", self.room.name)
                last = loop.time()
        finally:
            for task in watchers:
                task.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)

    async def _wait_out(self, last: float) -> None:
        """Until ``INTERVAL`` after the last version, or ``URGENT_INTERVAL`` once an urgent
        change is among the dirty ones (it may come while we wait)."""
        loop = asyncio.get_running_loop()
        while True:
            hurry = self._hurry.is_set()
            wait = last + (URGENT_INTERVAL if hurry else INTERVAL) - loop.time()
            if wait <= 0:
                return
            if hurry:
                await asyncio.sleep(wait)
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._hurry.wait(), wait)

    def _concerns_room(self, change: Change) -> bool:
        return change.room is None or change.room == self.room.name  # None: every room

    def _is_room(self, room: str) -> bool:
        return room == self.room.name

    async def _watch(self, hub: Hub[T], concerns: Callable[[T], bool]) -> None:
        """Mark the feed dirty on every change that concerns the room (and in a hurry for an
        urgent one). If the hub drops us (the loop was starved), subscribe again: the next
        version is rebuilt whole anyway."""
        while True:
            async with hub.subscribe(f"panel:{self.room.name}") as sub:
                try:
                    while True:
                        change = await sub.get()
                        if concerns(change):
                            self._note_leave(change)
                            if not _coalesced(change):
                                self._hurry.set()
                            self._dirty.set()
                except SubscriberDropped:
                    self._dirty.set()

    def _note_leave(self, change: object) -> None:
        if isinstance(change, Change) and isinstance(change.event, ParticipantLeft):
            self._leave_reasons[change.event.channel] = change.event.reason.value


def _coalesced(change: object) -> bool:
    """A change callers make in numbers (an audit entry is a moderator's: never)."""
    return isinstance(change, Change) and isinstance(change.event, COALESCED)


class LiveFeeds:
    """The feeds of the rooms someone is watching; a feed stops with its last viewer."""

    def __init__(self) -> None:
        # One feed per room and way of showing numbers: its hosts' (whole) and, when
        # someone assists, its assistants' (masked), each built once for all its viewers.
        self._feeds: dict[tuple[str, NumberShown], RoomFeed] = {}

    async def watch(
        self,
        service: BridgeService,
        room: RoomSpec,
        ws: web.WebSocketResponse,
        session: PanelSession,
    ) -> None:
        shown = numbers_for(session.principal, room)
        key = (room.name, shown)
        feed = self._feeds.get(key)
        if feed is None:
            feed = self._feeds[key] = RoomFeed(service, room, shown)
            feed.start()
        viewer = Viewer(ws, session)
        feed.viewers.add(viewer)
        try:
            await _serve(service, feed, viewer)
        finally:
            feed.viewers.discard(viewer)
            if not feed.viewers and self._feeds.get(key) is feed:
                del self._feeds[key]
                await feed.stop()

    async def close(self) -> None:
        for feed in list(self._feeds.values()):
            for viewer in list(feed.viewers):
                await viewer.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server stopping")
            await feed.stop()
        self._feeds.clear()


async def _serve(service: BridgeService, feed: RoomFeed, viewer: Viewer) -> None:
    """Send the room to one panel until its browser leaves; read (and ignore) what the
    browser sends, which also answers its pings and sees its close."""
    ws = viewer.ws
    loop = asyncio.get_running_loop()
    reader = loop.create_task(_drain(ws))
    ended = loop.create_task(_logged_out(service, viewer.session))
    recheck_at = loop.time() + RECHECK_RIGHTS
    try:
        while True:
            if loop.time() >= recheck_at:
                if not await _still_allowed(service, viewer.session, feed.room.name):
                    await ws.close(code=CLOSE_NOT_ALLOWED, message=b"not allowed any more")
                    return
                recheck_at = loop.time() + RECHECK_RIGHTS
            while viewer.owes_whole or viewer.pending:
                if viewer.owes_whole:
                    viewer.owes_whole = False
                    version, text = await feed.whole()
                    while viewer.pending and viewer.pending[0][0] <= version:
                        viewer.pending.popleft()  # the whole room includes them
                else:
                    version, text = viewer.pending.popleft()
                if not await _send(ws, text, feed.room.name):
                    return
            viewer.wake.clear()
            waking = loop.create_task(viewer.wake.wait())
            done, _ = await asyncio.wait(
                {waking, reader, ended},
                timeout=max(0.0, recheck_at - loop.time()),
                return_when=asyncio.FIRST_COMPLETED,
            )
            waking.cancel()
            if reader in done:
                return  # the browser left
            if ended in done:
                await ws.close(code=CLOSE_NOT_ALLOWED, message=b"logged out")
                return
    finally:
        for task in (reader, ended):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _send(ws: web.WebSocketResponse, text: str, room: str) -> bool:
    try:
        await asyncio.wait_for(ws.send_str(text), SEND_TIMEOUT)
    except TimeoutError:
        log.warning("panel.viewer_too_slow room=%s", room)
        await ws.close(code=CLOSE_TOO_SLOW, message=b"too slow; reconnect")
        return False
    except ConnectionError:
        return False
    return True


async def _drain(ws: web.WebSocketResponse) -> None:
    async for message in ws:
        if message.type is WSMsgType.ERROR:
            return


async def _logged_out(service: BridgeService, session: PanelSession) -> None:
    """Returns when this session logs out (the accounts' hub says so)."""
    mine = token_hash(session.token)
    while True:
        async with service.accounts.ended.subscribe("panel-viewer") as sub:
            try:
                while await sub.get() != mine:
                    pass
                return
            except SubscriberDropped:
                continue  # hundreds of logouts at once: subscribe again


async def _still_allowed(service: BridgeService, session: PanelSession, room: str) -> bool:
    again = await service.accounts.session(session.token)
    return again is not None and again.principal.may_moderate(room)


FEEDS = web.AppKey("panel_feeds", LiveFeeds)


async def live(request: web.Request) -> web.StreamResponse:
    """``GET /rooms/{room}/live``: the websocket of a room page."""
    session = await json_session(request)
    check_same_origin(request)
    room = room_of_request(request, session)
    spec = await request.app[SERVICE].find_room(room)
    ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=4096)
    if not ws.can_prepare(request).ok:
        raise BadField("this address is the room page's websocket")
    await ws.prepare(request)
    await request.app[FEEDS].watch(request.app[SERVICE], spec, ws, session)
    return ws
