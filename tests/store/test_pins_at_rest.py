"""PINs at rest, on SQLite and PostgreSQL: a database from before migration 0007 gets its
plain PINs hashed with the install's key in the migration itself, callers still get in by
the same digits, and a process holding another key is caught instead of matching nothing.
And the guard's wrong PINs: written, read back after a restart, lifted per source."""

from __future__ import annotations

import asyncio
import logging
import traceback
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from bridge.cli import main
from bridge.domain.events import Role
from bridge.domain.guard import Guard, GuardPolicy, Outcome, internet_source, trunk_source
from bridge.domain.pins import PinKey, PinKeyMismatch
from bridge.domain.rooms import RoomsConfig, RoomSpec
from bridge.logs import NOISY
from bridge.service.entry import replay
from bridge.settings import Settings
from bridge.store import pin_failures
from bridge.store.db import Database, upgrade
from bridge.store.models import PinKeyCheck, Room
from bridge.store.pin_failures import FailureRow
from bridge.store.pin_key import check_pin_key, install_pin_key
from bridge.store.rooms import SyncRefused, match_pin, sync_rooms
from tests.support import TEST_PIN_KEY

OTHER_KEY = PinKey(b"another install's key, as long as it needs")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def test_a_database_from_before_keeps_its_rooms_with_their_pins_hashed(
    database_url: str,
) -> None:
    await upgrade(database_url, "0005_rooms_revision")
    old = Database(database_url)
    try:
        async with old.engine.begin() as connection:
            for name, pin, moderator_pin, retired in [
                ("ga", "424242", "919191", None),
                ("wg", "5555", None, None),
                ("gone", "8080", None, T0),
            ]:
                await connection.execute(
                    text(
                        "INSERT INTO rooms (name, title, pin, moderator_pin, max_participants,"
                        " muted_on_entry, queue, speaking_time_limit, record, announce_names,"
                        " auto_advance, rejoin_grace, retired_at) VALUES (:name, :name, :pin,"
                        " :moderator_pin, 500, false, 'fifo', 0, false, false, false, 120,"
                        " :retired)"
                    ),
                    {"name": name, "pin": pin, "moderator_pin": moderator_pin, "retired": retired},
                )
    finally:
        await old.dispose()

    await upgrade(database_url, pin_key=TEST_PIN_KEY)

    db = Database(database_url)
    try:
        async with db.sessions() as session:
            rows = {r.name: r for r in await session.scalars(select(Room))}
            dumped = " ".join(
                str(value) for r in rows.values() for value in (r.pin_hash, r.moderator_pin_hash)
            )
            for pin in ("424242", "919191", "5555", "8080"):
                assert pin not in dumped
            assert rows["ga"].pin_hash == TEST_PIN_KEY.hash("424242")
            found = await match_pin(session, "919191", TEST_PIN_KEY)
            assert found is not None and (found.room.name, found.role) == ("ga", Role.MODERATOR)
            retired = await match_pin(session, "8080", TEST_PIN_KEY)
            assert retired is not None and retired.retired
            await check_pin_key(session, TEST_PIN_KEY)  # the key is recorded
            with pytest.raises(PinKeyMismatch):
                await check_pin_key(session, OTHER_KEY)
        # The revision triggers survived the renamed columns.
        async with db.sessions.begin() as session:
            before = (await session.execute(text("SELECT revision FROM rooms_revision"))).scalar()
            await session.execute(text("UPDATE rooms SET title = 'x' WHERE name = 'wg'"))
        async with db.sessions() as session:
            after = (await session.execute(text("SELECT revision FROM rooms_revision"))).scalar()
        assert after == before + 1
    finally:
        await db.dispose()


async def test_plain_pins_are_not_migrated_without_the_key(database_url: str) -> None:
    await upgrade(database_url, "0005_rooms_revision")
    old = Database(database_url)
    try:
        async with old.engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO rooms (name, title, pin, max_participants, muted_on_entry,"
                    " queue, speaking_time_limit, record, announce_names, auto_advance,"
                    " rejoin_grace) VALUES ('ga', 'GA', '424242', 500, false, 'fifo', 0,"
                    " false, false, false, 120)"
                )
            )
    finally:
        await old.dispose()
    with pytest.raises(Exception, match="PIN key"):
        await upgrade(database_url)
    await upgrade(database_url, pin_key=TEST_PIN_KEY)  # nothing was half done


async def test_a_sync_with_another_key_is_refused_unless_told_the_key_is_new(db: Database) -> None:
    rooms = RoomsConfig(rooms=(RoomSpec(name="ga", title="GA", pin="424242"),))
    async with db.sessions.begin() as session:
        await sync_rooms(session, rooms, pin_key=TEST_PIN_KEY)
    with pytest.raises(PinKeyMismatch):
        async with db.sessions.begin() as session:
            await sync_rooms(session, rooms, pin_key=OTHER_KEY)
    async with db.sessions.begin() as session:
        report = await sync_rooms(session, rooms, pin_key=OTHER_KEY, new_pin_key=True)
    assert report.lines() == ["~ room ga: pin (hidden)"]
    async with db.sessions() as session:
        assert await match_pin(session, "424242", OTHER_KEY) is not None
        row = await session.get(PinKeyCheck, 1)
        assert row is not None and row.fingerprint == OTHER_KEY.fingerprint


async def test_a_pin_given_to_two_active_rooms_still_breaks_the_unique_index(db: Database) -> None:
    async with db.sessions.begin() as session:
        session.add(Room(name="a", title="A", pin_hash=TEST_PIN_KEY.hash("1111")))
    with pytest.raises(Exception, match=r"(?i)unique") as failure:
        async with db.sessions.begin() as session:
            session.add(Room(name="b", title="B", pin_hash=TEST_PIN_KEY.hash("1111")))
    # PostgreSQL's "Key (pin_hash)=(...) already exists" is cut from the message.
    shown = "".join(traceback.format_exception(failure.value))
    assert TEST_PIN_KEY.hash("1111") not in shown


async def test_a_sync_refused_says_no_pin(db: Database) -> None:
    async with db.sessions.begin() as session:
        await sync_rooms(
            session,
            RoomsConfig(rooms=(RoomSpec(name="wg", title="WG", pin="731904"),)),
            pin_key=TEST_PIN_KEY,
        )
        from bridge.store.models import Call

        session.add(Call(room_name="wg", started_at=T0))
    with pytest.raises(SyncRefused) as refused:
        async with db.sessions.begin() as session:
            await sync_rooms(
                session,
                RoomsConfig(rooms=(RoomSpec(name="ga", title="GA", pin="731904"),)),
                pin_key=TEST_PIN_KEY,
            )
    assert "731904" not in str(refused.value)


# ---- the guard's failures --------------------------------------------------------------


async def test_failures_written_are_read_back_into_a_guard_that_refuses_the_same(
    db: Database,
) -> None:
    policy = GuardPolicy(source_threshold=3, alarm_source_threshold=2)
    guesser, other = internet_source("198.51.100.7"), internet_source("198.51.100.8")
    rows = [
        FailureRow(str(guesser), T0 + timedelta(seconds=n), Outcome.WRONG_PIN.value)
        for n in range(3)
    ]
    rows.append(FailureRow(str(other), T0, Outcome.ROOM_LOCKED.value, "ga"))
    withheld = trunk_source("carrier", "")  # no budget of its own: its trunk's shared one
    rows.append(FailureRow(str(withheld), T0, Outcome.WRONG_PIN.value))
    async with db.sessions.begin() as session:
        await pin_failures.add_failures(session, rows)
    async with db.sessions() as session:
        stored = await pin_failures.failures_since(session, T0 - timedelta(hours=1))
    assert sorted(stored, key=str) == sorted(rows, key=str)

    guard = Guard(policy)
    assert replay(guard, stored) == 3
    now = (T0 + timedelta(minutes=1)).timestamp()
    assert guard.failures(guesser, now) == 3 and guard.failures(other, now) == 1
    assert guard.shared_failures("carrier", now) == 1
    assert [held.source for held in guard.held_back(now) if held.refused] == [guesser]

    async with db.sessions.begin() as session:
        assert await pin_failures.forget_source(session, str(guesser)) == 3
    async with db.sessions() as session:
        left = await pin_failures.failures_since(session, T0 - timedelta(hours=1))
    assert sorted(row.source for row in left) == sorted([str(other), str(withheld)])


# ---- a failing run says no PIN ---------------------------------------------------------


async def test_a_sync_that_the_database_refuses_shows_no_pin_nor_its_hash(
    db: Database,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``iobridge rooms sync`` (with --debug: the whole traceback) against a database that
    refuses the write: neither the PINs nor their hashes are in anything it prints."""
    caplog.set_level(logging.DEBUG)  # as IOBRIDGE_LOG_LEVEL=DEBUG sets it (bridge.logs)
    caplog.set_level(logging.DEBUG, logger="bridge")  # whatever level a fixture set it to
    for name in NOISY:
        caplog.set_level(logging.WARNING, logger=name)
    async with db.sessions.begin() as session:  # the database refuses any new room
        if db.engine.dialect.name == "postgresql":
            await session.execute(text("ALTER TABLE rooms ADD CONSTRAINT no_more CHECK (id < 0)"))
        else:
            await session.execute(
                text("CREATE TRIGGER no_more BEFORE INSERT ON rooms BEGIN "
                     "SELECT RAISE(ABORT, 'no more rooms'); END")
            )  # fmt: skip
    pins = ["73182049", "73182048"]
    rooms = tmp_path / "rooms.yaml"
    rooms.write_text(
        f'rooms:\n  - name: ga\n    pin: "{pins[0]}"\n    moderator_pin: "{pins[1]}"\n'
    )
    monkeypatch.setenv("IOBRIDGE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("IOBRIDGE_DATABASE_URL", database_url)
    key = install_pin_key(Settings())
    shown = []
    for debug in ([], ["--debug"]):
        result = await asyncio.to_thread(
            CliRunner().invoke, main, [*debug, "rooms", "sync", str(rooms)]
        )
        assert result.exit_code != 0
        shown.append(result.output)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            shown.append("".join(traceback.format_exception(result.exception)))
    shown.append(caplog.text)
    everything = "\n".join(shown)
    assert "rooms" in everything  # the failure was shown...
    for secret in [*pins, *(key.hash(pin) for pin in pins)]:
        assert secret not in everything  # ...without what it was about
