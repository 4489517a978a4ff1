"""The directory of calls, live: the public rooms' next calls (``bridge.domain.directory``)
from the room cache and the stored trunks, for ``/calls`` and ``/calls.ics``.

Those pages need no login, so anyone may ask as often as they like: the listing is built
at most once per ``KEEP_SECONDS`` (or when the rooms changed), and every other request is
answered from memory, without the database.

PINs are kept hashed, so a PIN a room shows (``show_pin``) comes from the rooms file, read
by the runtime (``file_pins``, ``bridge.provision.FilePins``): a PIN is shown only when its
keyed hash is the one the database holds for that room's participants, so a file edited but
not synced never shows a PIN that does not open the room. Without a rooms file the runtime
knows no PIN, and none is shown."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bridge.domain.directory import ListedCall, listing
from bridge.domain.events import Role
from bridge.store.db import Database
from bridge.store.room_cache import PinIndex, RoomCache
from bridge.store.trunks import stored_trunks

log = logging.getLogger(__name__)

KEEP_SECONDS = 30.0
FilePins = Callable[[], Mapping[str, str]]  # room -> its participant PIN, from the file


@dataclass
class _Built:
    revision: int = -1
    at: float = float("-inf")
    calls: list[ListedCall] = field(default_factory=list)


class CallDirectory:
    def __init__(
        self,
        db: Database,
        rooms: RoomCache,
        file_pins: FilePins | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.rooms = rooms
        self.file_pins = file_pins
        self._clock = clock
        self._built = _Built()
        self._lock = asyncio.Lock()  # one rebuild at a time; the others wait for it

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    async def calls(self) -> list[ListedCall]:
        """The directory now (built at most every ``KEEP_SECONDS``)."""
        index = await self.rooms.current(self.db.sessions)
        if self._fresh(index):
            return self._built.calls
        async with self._lock:
            if not self._fresh(index):
                now = self._clock()
                calls = await self._build(index, datetime.fromtimestamp(now, UTC))
                self._built = _Built(index.revision, now, calls)
        return self._built.calls

    def _fresh(self, index: PinIndex) -> bool:
        built = self._built
        return built.revision == index.revision and self._clock() - built.at < KEEP_SECONDS

    async def _build(self, index: PinIndex, now: datetime) -> list[ListedCall]:
        public = [spec for spec in index.active.values() if spec.public]
        async with self.db.sessions() as session:
            trunks = await stored_trunks(session)
        pins: dict[str, str] = {}
        if self.file_pins is not None and any(spec.show_pin for spec in public):
            pins = await self._shown_pins(index)
        return listing(public, trunks, pins, now)

    async def _shown_pins(self, index: PinIndex) -> dict[str, str]:
        """The file's PINs of rooms that show theirs, each only if it opens that room."""
        assert self.file_pins is not None
        try:
            from_file = await asyncio.to_thread(self.file_pins)  # a file read: off the loop
        except Exception:
            log.exception("directory.rooms_file_unreadable")
            return {}
        shown = {}
        for room, pin in from_file.items():
            match = index.match(self.rooms.pin_key.hash(pin))
            opens = match is not None and match.room.name == room and not match.retired
            if opens and match is not None and match.role is Role.PARTICIPANT:
                shown[room] = pin
            else:
                log.warning("directory.pin_not_shown room=%s reason=file_not_synced", room)
        return shown
