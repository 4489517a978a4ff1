"""The entry desk's copy of the rooms: answers like ``match_pin``, and is never stale after a
sync, even one made by another process (another ``Database`` on the same file here)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete

from bridge.domain.events import Role
from bridge.store import pin_failures
from bridge.store.db import Database, upgrade
from bridge.store.models import Room
from bridge.store.pin_failures import FailureRow
from bridge.store.room_cache import RoomCache, revision_probe
from bridge.store.rooms import PinMatch, active_rooms, match_pin, rooms_revision
from tests.store.test_rooms_sync import BASE, GA, T0, WG, as_stored, config, hashed, room, sync
from tests.support import TEST_PIN_KEY

PINS = ["1111", "1112", "2222", "3333", "9999", "", "111"]


async def cached(cache: RoomCache, db: Database, digits: str) -> tuple[str, Role, bool] | None:
    found = await cache.match(db.sessions, digits)
    return None if found is None else (found.room.name, found.role, found.retired)


async def direct(db: Database, digits: str) -> tuple[str, Role, bool] | None:
    async with db.sessions() as session:
        found = await match_pin(session, digits, TEST_PIN_KEY)
    return None if found is None else (found.room.name, found.role, found.retired)


async def test_the_cache_answers_every_pin_as_the_database_does(db: Database) -> None:
    cache = RoomCache(TEST_PIN_KEY)
    await sync(db, BASE)
    await sync(db, config(GA), T0 + timedelta(minutes=1))  # wg retired, keeps its PIN
    for digits in PINS:
        assert await cached(cache, db, digits) == await direct(db, digits), digits
    assert await cached(cache, db, "2222") == ("wg", Role.PARTICIPANT, True)


async def test_the_table_is_read_once_while_nothing_changes(db: Database) -> None:
    cache = RoomCache(TEST_PIN_KEY)
    await sync(db, BASE)
    for digits in PINS * 3:
        await cached(cache, db, digits)
    assert cache.loads == 1


async def test_the_cache_knows_the_active_rooms_as_the_database_does_without_a_new_read(
    db: Database,
) -> None:
    cache = RoomCache(TEST_PIN_KEY)
    await sync(db, BASE)
    await sync(db, config(GA), T0 + timedelta(minutes=1))  # wg retired
    async with db.sessions() as session:
        expected = await active_rooms(session)
    for _ in range(3):
        assert list((await cache.current(db.sessions)).active.values()) == expected
    assert "wg" not in (await cache.current(db.sessions)).active
    assert cache.loads == 1


async def test_a_sync_that_changes_nothing_keeps_the_revision(db: Database) -> None:
    # (a sync that changes nothing writes nothing: no caller pays for a reload)
    await sync(db, BASE)
    async with db.sessions() as session:
        before = await rooms_revision(session)
    await sync(db, BASE)
    async with db.sessions() as session:
        assert await rooms_revision(session) == before


async def test_a_sync_from_another_process_is_seen_by_the_next_decision(
    db: Database, database_url: str
) -> None:
    cache = RoomCache(TEST_PIN_KEY)
    await sync(db, BASE)
    assert await cached(cache, db, "2222") == ("wg", Role.PARTICIPANT, False)

    other = Database(database_url)  # what `iobridge rooms sync` opens
    try:
        moved = config(GA, room("wg", "4444"), room("new", "2222"))
        await sync(other, moved, T0 + timedelta(minutes=1))
    finally:
        await other.dispose()

    assert await cached(cache, db, "2222") == ("new", Role.PARTICIPANT, False)
    assert await cached(cache, db, "4444") == ("wg", Role.PARTICIPANT, False)
    assert cache.loads == 2


async def test_a_changed_setting_is_seen_by_the_next_decision(db: Database) -> None:
    cache = RoomCache(TEST_PIN_KEY)
    await sync(db, BASE)
    first = await cache.match(db.sessions, "2222")
    assert first is not None and first.room == as_stored(WG)

    await sync(db, config(GA, room("wg", "2222", max_participants=7)), T0 + timedelta(hours=1))

    found = await cache.match(db.sessions, "2222")
    assert found is not None and found.room.max_participants == 7


async def test_a_room_written_without_a_sync_is_seen_too(db: Database) -> None:
    """The revision is bumped by the database itself (triggers), not by the sync's code."""
    cache = RoomCache(TEST_PIN_KEY)
    await sync(db, BASE)
    assert await cached(cache, db, "8080") is None
    async with db.sessions.begin() as session:
        session.add(Room(name="direct", title="Added in SQL", pin_hash=hashed("8080")))
    assert await cached(cache, db, "8080") == ("direct", Role.PARTICIPANT, False)
    async with db.sessions.begin() as session:
        await session.execute(delete(Room).where(Room.name == "direct"))
    assert await cached(cache, db, "8080") is None


class CountedSessions:
    """The pool's sessions, counted: a decision the probe answers opens none."""

    def __init__(self, db: Database) -> None:
        self.db, self.opened = db, 0

    def __call__(self) -> Any:
        self.opened += 1
        return self.db.sessions()


async def test_on_sqlite_a_decision_leaves_the_loop_only_when_the_rooms_changed(
    tmp_path: Path,
) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'iobridge.sqlite3'}"
    await upgrade(database_url)
    db = Database(database_url)
    probe = revision_probe(database_url)
    assert probe is not None
    cache = RoomCache(TEST_PIN_KEY, probe)
    sessions = CountedSessions(db)
    try:
        await sync(db, BASE)
        for digits in PINS * 3:
            found = await cache.match(sessions, digits)  # type: ignore[arg-type]
            assert _named(found) == await direct(db, digits), digits
        assert sessions.opened == 1, "only the first decision read the rooms"

        other = Database(database_url)  # `iobridge rooms sync`, another process
        try:
            await sync(other, config(GA, room("wg", "4444")), T0 + timedelta(minutes=1))
        finally:
            await other.dispose()
        found = await cache.match(sessions, "4444")  # type: ignore[arg-type]
        assert _named(found) == ("wg", Role.PARTICIPANT, False)
        assert sessions.opened == 2 and cache.loads == 2

        async with db.sessions.begin() as session:  # a write elsewhere: a wrong PIN noted
            row = FailureRow("address:203.0.113.7", T0, "wrong-pin")
            await pin_failures.add_failures(session, [row])
        await cache.match(sessions, "4444")  # type: ignore[arg-type]
        assert sessions.opened == 2, "a write to another table does not move the revision"
    finally:
        probe.close()
        await db.dispose()


def test_no_probe_for_a_database_other_than_a_sqlite_file() -> None:
    assert revision_probe("postgresql+asyncpg://u@localhost/iobridge") is None
    assert revision_probe("sqlite+aiosqlite:///:memory:") is None


def _named(found: PinMatch | None) -> tuple[str, Role, bool] | None:
    return None if found is None else (found.room.name, found.role, found.retired)
