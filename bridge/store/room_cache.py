"""The rooms as the entry desk reads them: from memory, and exactly what the database says.

A PIN decision used to query the rooms table. Every write to that table (a sync, usually from
another process, ``iobridge rooms sync``; or anything else) bumps ``rooms_revision`` in the
same transaction, by a database trigger. So a decision reads that one number (a primary-key
read) and answers from memory while it is unchanged; when it moved, the table is read again.
Reading the revision *before* the rooms means a sync landing in between leaves the copy marked
older than it is, so the next decision reloads: never the reverse.

On SQLite (the default), even that read costs a caller nothing: ``SqliteRevision`` asks
SQLite, in the event loop's own thread, whether any other connection wrote to the file
since it last looked (``PRAGMA data_version``, answered from memory) and reads the revision
only then. The decision is then made without leaving the loop, exactly as up to date. On
another database, or when SQLite is busy, the revision is read over the pool as before.

The index is keyed on the PINs' keyed hashes, as the database keeps them: the typed digits
are hashed once and looked up; no PIN is held in memory. The same copy answers "which
active rooms are there, with which settings" for the rest of the service (the panel's
pages and feeds, the API, an action's "is there such a room"), under the same check.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bridge.domain.events import Role
from bridge.domain.pins import PinKey
from bridge.domain.rooms import RoomSpec
from bridge.store.pin_key import check_pin_key
from bridge.store.rooms import PinMatch, StoredRoom, every_room, rooms_revision


@dataclass(frozen=True)
class PinIndex:
    """Every PIN's hash to what it opens, built the way ``match_pin`` chooses: active rooms
    before retired ones, then the older room; a room's own PIN before its moderator PIN."""

    revision: int
    matches: dict[str, PinMatch] = field(default_factory=dict, repr=False)
    active: dict[str, RoomSpec] = field(default_factory=dict)  # by name, in name order
    # Active rooms opened on demand (not the file's), each with when its time is up.
    on_demand: dict[str, datetime] = field(default_factory=dict)

    @classmethod
    def build(cls, revision: int, rooms: Iterable[StoredRoom]) -> PinIndex:
        matches: dict[str, PinMatch] = {}
        active: dict[str, RoomSpec] = {}
        on_demand: dict[str, datetime] = {}
        for room in rooms:  # already in preference order
            if not room.retired:
                active[room.spec.name] = room.spec
                if room.on_demand and room.closes_at is not None:
                    on_demand[room.spec.name] = room.closes_at
            match = PinMatch(room.spec, Role.PARTICIPANT, room.retired)
            matches.setdefault(room.pin_hash, match)
            if room.moderator_pin_hash:
                match = PinMatch(room.spec, Role.MODERATOR, room.retired)
                matches.setdefault(room.moderator_pin_hash, match)
        return cls(revision, matches, dict(sorted(active.items())), on_demand)

    def match(self, pin_hash: str) -> PinMatch | None:
        return self.matches.get(pin_hash) if pin_hash else None


class SqliteRevision:
    """The rooms' revision of one SQLite file, read without leaving the event loop: a
    private connection asks ``PRAGMA data_version`` (which moves when any other connection
    commits) and reads the revision row only when it moved. None when SQLite cannot answer
    at once (a writer holds a lock it must wait for): the caller asks over the pool."""

    def __init__(self, path: Path, table: str = "rooms_revision") -> None:
        # timeout=0: never wait in the event loop; isolation_level=None: no transaction
        # stays open between two reads (each read sees the latest commit).
        self._db = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA query_only = ON")
        self._seen: int | None = None  # data_version when the revision was read
        self._revision = 0
        self._read = f"SELECT revision FROM {table} WHERE id = 1"  # a name of ours

    def __call__(self) -> int | None:
        try:
            (version,) = self._db.execute("PRAGMA data_version").fetchone()
            if version != self._seen:
                row = self._db.execute(self._read)
                found = row.fetchone()
                self._revision, self._seen = (found[0] if found else 0), version
        except sqlite3.Error:
            return None
        return self._revision

    def close(self) -> None:
        self._db.close()


def revision_probe(database_url: str, table: str = "rooms_revision") -> SqliteRevision | None:
    """The in-loop reader of a revision table (the rooms', or the credentials') for a
    SQLite file; None for any other database."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return SqliteRevision(Path(url.database), table)


class RoomCache:
    """The PIN index of one process, checked against the database's revision on each use."""

    def __init__(
        self, pin_key: PinKey, revision_now: Callable[[], int | None] | None = None
    ) -> None:
        self.pin_key = pin_key
        self.index = PinIndex(revision=-1)  # never a real revision: the first use loads
        self.loads = 0  # how often the table was read (tests and benchmarks look)
        self._revision_now = revision_now or (lambda: None)

    async def match(
        self, sessions: async_sessionmaker[AsyncSession], digits: str
    ) -> PinMatch | None:
        """What ``digits`` open. Raises ``PinKeyMismatch`` when the rooms were hashed with
        another key than ours (no PIN could match: better said than silently refused)."""
        if not digits:
            return None
        return (await self.current(sessions)).match(self.pin_key.hash(digits))

    async def current(self, sessions: async_sessionmaker[AsyncSession]) -> PinIndex:
        """The index as the database has it now (read again only when it moved)."""
        if self._revision_now() != self.index.revision:
            async with sessions() as session:
                revision = await rooms_revision(session)
                if revision != self.index.revision:
                    # No lock: two decisions reloading at once both build a valid index; a
                    # stale one that lands last carries its older revision and is replaced
                    # on next use.
                    await check_pin_key(session, self.pin_key)
                    self.index = PinIndex.build(revision, await every_room(session))
                    self.loads += 1
        return self.index
