"""The rooms as the entry desk reads them: from memory, and exactly what the database says.

A PIN decision used to query the rooms table. Every write to that table (a sync, usually from
another process, ``iobridge rooms sync``; or anything else) bumps ``rooms_revision`` in the
same transaction, by a database trigger. So a decision reads that one number (a primary-key
read) and answers from memory while it is unchanged; when it moved, the table is read again.
Reading the revision *before* the rooms means a sync landing in between leaves the copy marked
older than it is, so the next decision reloads: never the reverse.

The index is keyed on the PINs' keyed hashes, as the database keeps them: the typed digits
are hashed once and looked up; no PIN is held in memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from bridge.domain.events import Role
from bridge.domain.pins import PinKey
from bridge.store.pin_key import check_pin_key
from bridge.store.rooms import PinMatch, StoredRoom, every_room, rooms_revision


@dataclass(frozen=True)
class PinIndex:
    """Every PIN's hash to what it opens, built the way ``match_pin`` chooses: active rooms
    before retired ones, then the older room; a room's own PIN before its moderator PIN."""

    revision: int
    matches: dict[str, PinMatch] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, revision: int, rooms: Iterable[StoredRoom]) -> PinIndex:
        matches: dict[str, PinMatch] = {}
        for room in rooms:  # already in preference order
            match = PinMatch(room.spec, Role.PARTICIPANT, room.retired)
            matches.setdefault(room.pin_hash, match)
            if room.moderator_pin_hash:
                match = PinMatch(room.spec, Role.MODERATOR, room.retired)
                matches.setdefault(room.moderator_pin_hash, match)
        return cls(revision, matches)

    def match(self, pin_hash: str) -> PinMatch | None:
        return self.matches.get(pin_hash) if pin_hash else None


class RoomCache:
    """The PIN index of one process, checked against the database's revision on each use."""

    def __init__(self, pin_key: PinKey) -> None:
        self.pin_key = pin_key
        self.index = PinIndex(revision=-1)  # never a real revision: the first use loads
        self.loads = 0  # how often the table was read (tests and benchmarks look)

    async def match(self, session: AsyncSession, digits: str) -> PinMatch | None:
        """What ``digits`` open. Raises ``PinKeyMismatch`` when the rooms were hashed with
        another key than ours (no PIN could match: better said than silently refused)."""
        if not digits:
            return None
        revision = await rooms_revision(session)
        if revision != self.index.revision:
            # No lock: two decisions reloading at once both build a valid index; a stale
            # one that lands last carries its older revision and is replaced on next use.
            await check_pin_key(session, self.pin_key)
            self.index = PinIndex.build(revision, await every_room(session))
            self.loads += 1
        return self.index.match(self.pin_key.hash(digits))
