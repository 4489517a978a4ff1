"""Moderation: what a moderator does to a room and the people in it, recording included.

Every action goes to the Asterisk that holds the room (``PbxDirectory``); the roster
changes only when Asterisk reports that it happened (ConfBridge sends no event for a lock,
so the lock is read back after it).

A recording is announced to everyone in the room as it starts, and history keeps who
started it ("admin", a moderator's name, or "room setting"). A recording that cannot be
announced is stopped again: nobody is recorded without being told.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from pathlib import Path

from bridge.asterisk.announcer import RECORDING_STARTED
from bridge.asterisk.conference import ConferenceBridge
from bridge.domain.events import (
    DomainEvent,
    LeaveReason,
    ParticipantJoined,
    RemovalOrdered,
    Resynced,
    RoomEnded,
)
from bridge.domain.group_moves import conference_of
from bridge.domain.languages import DEFAULT_LANGUAGE
from bridge.domain.rooms import RoomSpec
from bridge.domain.roster import Switchboard
from bridge.errors import (
    ActionRefused,
    AlreadyRecording,
    BridgeError,
    NoSuchParticipant,
    NoSuchRoom,
    PbxUnconfirmed,
)
from bridge.recordings import recording_name
from bridge.service.pbx_directory import PbxDirectory

log = logging.getLogger(__name__)

RoomLookup = Callable[[str], Awaitable[RoomSpec | None]]
# (room, file name, started by, at): history keeps who started each recording.
RecordingLog = Callable[[str, str, str, float], Awaitable[None]]
ROOM_SETTING = "room setting"  # who started a recording of a room set to record


class Moderation:
    def __init__(
        self,
        pbxs: PbxDirectory,
        switchboard: Switchboard,
        lock_seen: Callable[[str, bool], None],
        find_room: RoomLookup,
        recordings_dir: Path,
        log_recording: RecordingLog | None = None,
        *,
        order_removal: Callable[[RemovalOrdered], None],
    ) -> None:
        self.pbxs = pbxs
        self.switchboard = switchboard
        self._lock_seen = lock_seen
        self._find_room = find_room
        self.recordings_dir = recordings_dir
        self._log_recording = log_recording
        self._order_removal = order_removal
        self._background: set[asyncio.Task[None]] = set()
        self._calls_checked: set[str] = set()  # rooms whose call was checked for auto-record

    def _pbx(self, room: str) -> ConferenceBridge:
        return self.pbxs.bridge_for(room)

    def _pbx_of(self, room: str, channel: str) -> ConferenceBridge:
        """The node this person's channel is on (a big room spreads over several)."""
        return self.pbxs.bridge_for_channel(room, channel)

    def _every_pbx(self, room: str) -> list[ConferenceBridge]:
        """Every node the room is on, its home node first."""
        live = self.switchboard.room(room)
        return self.pbxs.bridges_of(room, live.participants if live is not None else ())

    # ---- one participant --------------------------------------------------------------

    def check_present(self, room: str, channel: str) -> None:
        """Asterisk said this participant left: acting now would race their departure
        (ConfBridge lists a leaving channel for a moment after ConfbridgeLeave)."""
        live = self.switchboard.room(room)
        if self.switchboard.pbx_connected and (live is None or channel not in live.participants):
            raise NoSuchParticipant(room, channel)

    def _conference(self, room: str, channel: str) -> str:
        """The conference ``channel`` is in: the room's, or its breakout group's."""
        live = self.switchboard.room(room)
        return conference_of(room, live.participants if live else None, channel)

    async def mute(self, room: str, channel: str) -> None:
        self.check_present(room, channel)
        await self._pbx_of(room, channel).mute(self._conference(room, channel), channel)

    async def unmute(self, room: str, channel: str) -> None:
        self.check_present(room, channel)
        await self._pbx_of(room, channel).unmute(self._conference(room, channel), channel)

    async def kick(self, room: str, channel: str) -> None:
        self.check_present(room, channel)
        conference = self._conference(room, channel)
        await self._remove(room, channel, self._pbx_of(room, channel).kick(conference, channel))

    async def _remove(
        self, room: str, channel: str | None, action: Coroutine[None, None, None]
    ) -> None:
        """Tell the roster the leave to come is a kick before asking Asterisk: its leave
        event can arrive before its answer. A refused kick is forgotten again."""
        self._order_removal(RemovalOrdered(room, channel, LeaveReason.KICKED, time.time()))
        try:
            await action
        except BaseException:
            self._order_removal(RemovalOrdered(room, channel, None, time.time()))
            raise

    # ---- the whole room ---------------------------------------------------------------

    async def mute_all(self, room: str) -> None:
        """Mute everyone but the moderators (and a big room's links, admins of their own)."""
        for pbx in self._every_pbx(room):
            await pbx.mute_participants(room)

    async def unmute_all(self, room: str) -> None:
        for pbx in self._every_pbx(room):
            await pbx.unmute_participants(room)

    async def lock(self, room: str) -> None:
        for pbx in self._every_pbx(room):
            await pbx.lock(room)
        await self._read_lock(room)

    async def unlock(self, room: str) -> None:
        for pbx in self._every_pbx(room):
            await pbx.unlock(room)
        await self._read_lock(room)

    async def _read_lock(self, room: str) -> None:
        locked = await self._pbx(room).is_locked(room)
        if locked is not None:
            self._lock_seen(room, locked)

    async def end(self, room: str) -> None:
        """End the call for everyone in the room."""
        await self._remove(room, None, self._kick_everyone(room))

    async def _kick_everyone(self, room: str) -> None:
        for pbx in self._every_pbx(room):
            await pbx.kick_everyone(room)

    # ---- recording --------------------------------------------------------------------

    async def start_recording(self, room: str, started_by: str = "admin") -> Path:
        """Record the room, announce it to everyone in it, and keep who started it.

        ``started_by``: "admin" (the admin token), the moderator's name (the panel passes
        it), or ``ROOM_SETTING``."""
        live = self.switchboard.room(room)
        if self.switchboard.pbx_connected and live is None:
            raise NoSuchRoom(room)
        if live is not None and live.recording:
            raise AlreadyRecording(room)
        at = time.time()
        path = self.recordings_dir / recording_name(room, datetime.now())
        self.recordings_dir.mkdir(parents=True, exist_ok=True)
        pbx = self._pbx(room)  # the recorder and the announcer go to the room's own node
        try:
            await pbx.start_recording(room, path)
        except PbxUnconfirmed as exc:
            # Asterisk may have started it all the same: no recording runs unannounced. The
            # stop goes on the same AMI session, which Asterisk reads in order: it comes
            # after the start, whatever became of it.
            with contextlib.suppress(BridgeError):
                await pbx.stop_recording(room)
            log.error("recording.unconfirmed room=%s file=%s (stopped)", room, path.name)
            raise PbxUnconfirmed(
                f"no answer to the recording's start ({exc}); stopped in case it had started"
            ) from exc
        try:
            spec = await self._find_room(room)
            await pbx.announce(room, RECORDING_STARTED, spec.language if spec else DEFAULT_LANGUAGE)
        except BridgeError as exc:
            log.error("recording.not_announced room=%s reason=%s (stopping it)", room, exc)
            with contextlib.suppress(BridgeError):
                await pbx.stop_recording(room)
            raise ActionRefused(
                f"the recording of room '{room}' could not be announced, so it was stopped ({exc})"
            ) from exc
        if self._log_recording is not None:
            try:
                await self._log_recording(room, path.name, started_by, at)
            except Exception as exc:  # the recording runs and was announced: say, go on
                log.error("recording.starter_not_stored room=%s reason=%r", room, exc)
        log.info("recording.started room=%s file=%s by=%s", room, path.name, started_by)
        return path

    async def stop_recording(self, room: str) -> None:
        await self._pbx(room).stop_recording(room)

    def on_event(self, event: DomainEvent) -> None:
        """Rooms with ``record: true`` record from their first join: the first caller is
        in the room by then (ConfBridge starts a room while its first caller still hears
        the welcome prompts), so they hear the announcement."""
        if isinstance(event, RoomEnded):
            self._calls_checked.discard(event.room)
        elif isinstance(event, Resynced):  # rooms Asterisk no longer has ended unseen
            self._calls_checked &= {seen.room for seen in event.rooms}
        elif isinstance(event, ParticipantJoined) and event.room not in self._calls_checked:
            self._calls_checked.add(event.room)
            task = asyncio.get_running_loop().create_task(self._auto_record(event.room))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _auto_record(self, room: str) -> None:
        spec = await self._find_room(room)
        live = self.switchboard.room(room)
        if spec is None or not spec.record or (live is not None and live.recording):
            return
        try:
            await self.start_recording(room, started_by=ROOM_SETTING)
        except BridgeError as exc:
            log.warning("recording.auto_start_failed room=%s reason=%s", room, exc)

    def close(self) -> None:
        for task in list(self._background):
            task.cancel()
