"""Moderation: what a moderator does to a room and the people in it, recording included.

Every action goes to Asterisk; the roster changes only when Asterisk reports that it
happened (ConfBridge sends no event for a lock, so the lock is read back after it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from bridge.asterisk.conference import ConferenceBridge
from bridge.domain.events import DomainEvent, RoomStarted
from bridge.domain.rooms import RoomSpec
from bridge.domain.roster import Switchboard
from bridge.errors import BridgeError, NoSuchParticipant

log = logging.getLogger(__name__)

RoomLookup = Callable[[str], Awaitable[RoomSpec | None]]


def recording_name(room: str, at: datetime) -> str:
    return f"{room}-{at.strftime('%Y%m%d-%H%M%S')}.wav"


class Moderation:
    def __init__(
        self,
        pbx: ConferenceBridge,
        switchboard: Switchboard,
        lock_seen: Callable[[str, bool], None],
        find_room: RoomLookup,
        recordings_dir: Path,
    ) -> None:
        self.pbx = pbx
        self.switchboard = switchboard
        self._lock_seen = lock_seen
        self._find_room = find_room
        self.recordings_dir = recordings_dir
        self._background: set[asyncio.Task[None]] = set()

    # ---- one participant --------------------------------------------------------------

    def check_present(self, room: str, channel: str) -> None:
        """Asterisk said this participant left: acting now would race their departure
        (ConfBridge lists a leaving channel for a moment after ConfbridgeLeave)."""
        live = self.switchboard.room(room)
        if self.switchboard.pbx_connected and (live is None or channel not in live.participants):
            raise NoSuchParticipant(room, channel)

    async def mute(self, room: str, channel: str) -> None:
        self.check_present(room, channel)
        await self.pbx.mute(room, channel)

    async def unmute(self, room: str, channel: str) -> None:
        self.check_present(room, channel)
        await self.pbx.unmute(room, channel)

    async def kick(self, room: str, channel: str) -> None:
        self.check_present(room, channel)
        await self.pbx.kick(room, channel)

    # ---- the whole room ---------------------------------------------------------------

    async def mute_all(self, room: str) -> None:
        """Mute everyone but the moderators."""
        await self.pbx.mute_participants(room)

    async def unmute_all(self, room: str) -> None:
        await self.pbx.unmute_participants(room)

    async def lock(self, room: str) -> None:
        await self.pbx.lock(room)
        await self._read_lock(room)

    async def unlock(self, room: str) -> None:
        await self.pbx.unlock(room)
        await self._read_lock(room)

    async def _read_lock(self, room: str) -> None:
        locked = await self.pbx.is_locked(room)
        if locked is not None:
            self._lock_seen(room, locked)

    async def end(self, room: str) -> None:
        """End the call for everyone in the room."""
        await self.pbx.kick_everyone(room)

    # ---- recording --------------------------------------------------------------------

    async def start_recording(self, room: str) -> Path:
        path = self.recordings_dir / recording_name(room, datetime.now())
        self.recordings_dir.mkdir(parents=True, exist_ok=True)
        await self.pbx.start_recording(room, path)
        return path

    async def stop_recording(self, room: str) -> None:
        await self.pbx.stop_recording(room)

    def on_event(self, event: DomainEvent) -> None:
        """Rooms with ``record: true`` record from their first join."""
        if isinstance(event, RoomStarted):
            task = asyncio.get_running_loop().create_task(self._auto_record(event.room))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _auto_record(self, room: str) -> None:
        spec = await self._find_room(room)
        if spec is None or not spec.record:
            return
        try:
            path = await self.start_recording(room)
            log.info("recording.auto_started room=%s file=%s", room, path.name)
        except BridgeError as exc:
            log.warning("recording.auto_start_failed room=%s reason=%s", room, exc)

    def close(self) -> None:
        for task in list(self._background):
            task.cancel()
