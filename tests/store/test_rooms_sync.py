"""Provisioning from the rooms file: sync_rooms and match_pin, on SQLite and PostgreSQL.
PINs are stored as keyed hashes: what a row holds is compared with ``hashed(...)``."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import argon2
import pytest
from sqlalchemy import select

from bridge.domain.accounts import Right, Via
from bridge.domain.events import Role
from bridge.domain.rooms import ModeratorSpec, QueuePolicy, RoomsConfig, RoomSpec
from bridge.domain.schedule import Schedule
from bridge.store.accounts import account_of
from bridge.store.db import Database
from bridge.store.models import Call, Moderator, ModeratorRoom, Room
from bridge.store.rooms import (
    SyncRefused,
    active_rooms,
    find_room,
    has_rooms,
    match_pin,
    sync_rooms,
)
from tests.support import TEST_PIN_KEY

# Cheap parameters: the store keeps the hash as given and never checks its cost.
_HASHER = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
HASH = _HASHER.hash("first-password")
OTHER_HASH = _HASHER.hash("second-password")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def room(name: str, pin: str, **fields: Any) -> RoomSpec:
    fields.setdefault("title", f"Room {name}")
    return RoomSpec(name=name, pin=pin, **fields)


def moderator(username: str, *rooms: str, password_hash: str = HASH) -> ModeratorSpec:
    return ModeratorSpec(username=username, password_hash=password_hash, rooms=rooms)


def hashed(pin: str | None) -> str | None:
    return TEST_PIN_KEY.hash_optional(pin)


def as_stored(spec: RoomSpec) -> RoomSpec:
    """A room as the database gives it back: without its PINs."""
    return replace(spec, pin="", moderator_pin=None)


def config(*rooms: RoomSpec, moderators: tuple[ModeratorSpec, ...] = ()) -> RoomsConfig:
    return RoomsConfig(rooms=rooms, moderators=moderators)


GA = room("ga", "1111", moderator_pin="1112")
WG = room("wg", "2222")
BASE = config(GA, WG, moderators=(moderator("alice", "*"), moderator("bob", "ga")))


async def sync(db: Database, wanted: RoomsConfig, now: datetime = T0) -> list[str]:
    async with db.sessions.begin() as session:
        report = await sync_rooms(session, wanted, now, pin_key=TEST_PIN_KEY)
    return report.lines()


async def rooms_by_name(db: Database) -> dict[str, Room]:
    async with db.sessions() as session:
        return {r.name: r for r in await session.scalars(select(Room))}


async def moderator_rooms(db: Database) -> dict[str, tuple[bool, set[str]]]:
    """username -> (all_rooms, names of the rooms linked)."""
    async with db.sessions() as session:
        accounts = await session.scalars(select(Moderator))
        return {m.username: (m.all_rooms, {link.room.name for link in m.rooms}) for m in accounts}


async def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the provisioning tables, to prove that nothing moved."""
    async with db.sessions() as session:
        rooms = await session.scalars(select(Room).order_by(Room.id))
        accounts = await session.scalars(select(Moderator).order_by(Moderator.id))
        links = await session.scalars(select(ModeratorRoom))
        return {
            "rooms": [
                tuple(getattr(r, c.key) for c in Room.__table__.columns) for r in rooms.all()
            ],
            "moderators": [
                (m.id, m.username, m.password_hash, m.all_rooms) for m in accounts.all()
            ],
            "links": sorted((x.moderator_id, x.room_id) for x in links.all()),
        }


async def match(db: Database, digits: str) -> tuple[str, Role, bool] | None:
    async with db.sessions() as session:
        found = await match_pin(session, digits, TEST_PIN_KEY)
    return None if found is None else (found.room.name, found.role, found.retired)


# --- adding ---------------------------------------------------------------------------------


async def test_first_sync_adds_rooms_and_moderators(db: Database) -> None:
    async with db.sessions() as session:
        assert not await has_rooms(session)

    lines = await sync(db, BASE)

    assert lines == ["+ room ga", "+ room wg", "+ moderator alice", "+ moderator bob"]
    rows = await rooms_by_name(db)
    assert set(rows) == {"ga", "wg"}
    ga = rows["ga"]
    assert (ga.title, ga.pin_hash, ga.moderator_pin_hash) == (
        "Room ga",
        hashed("1111"),
        hashed("1112"),
    )
    assert (ga.max_participants, ga.muted_on_entry, ga.queue) == (500, False, "fifo")
    assert (ga.speaking_time_limit, ga.record, ga.announce_names) == (0, False, False)
    assert ga.retired_at is None
    assert rows["wg"].moderator_pin_hash is None
    assert await moderator_rooms(db) == {"alice": (True, set()), "bob": (False, {"ga"})}
    async with db.sessions() as session:
        assert await has_rooms(session)
        assert [spec.name for spec in await active_rooms(session)] == ["ga", "wg"]
        assert await find_room(session, "ga") == as_stored(GA)


async def test_every_room_setting_is_stored(db: Database) -> None:
    spec = room(
        "plenary",
        "424242",
        title="Plenary session",
        moderator_pin="919191",
        max_participants=40,
        muted_on_entry=True,
        queue=QueuePolicy.PROGRESSIVE,
        speaking_time_limit=120,
        record=True,
        announce_names=True,
    )
    await sync(db, config(spec))
    async with db.sessions() as session:
        assert await find_room(session, "plenary") == as_stored(spec)


async def test_a_schedule_and_the_directory_settings_are_stored_and_changes_named(
    db: Database,
) -> None:
    weekly = Schedule("FREQ=WEEKLY;BYDAY=TH;BYHOUR=20", "America/New_York", 90, date(2026, 12, 3))
    spec = room("thursday", "42424242", schedule=weekly, public=True, show_pin=True)
    spec = replace(spec, admit_outside_schedule=False)
    await sync(db, config(spec))
    async with db.sessions() as session:
        assert await find_room(session, "thursday") == as_stored(spec)
    assert await sync(db, config(spec)) == ["nothing to change"]
    later = replace(spec, schedule=replace(weekly, minutes=60), public=False, show_pin=False)
    assert await sync(db, config(later)) == ["~ room thursday: schedule, public, show_pin"]


async def test_second_identical_sync_changes_nothing(db: Database) -> None:
    await sync(db, BASE)
    before = await snapshot(db)

    assert await sync(db, BASE, T0 + timedelta(hours=1)) == ["nothing to change"]
    assert await snapshot(db) == before


# --- changing -------------------------------------------------------------------------------


async def test_changed_fields_are_named_and_secrets_never_shown(db: Database) -> None:
    await sync(db, BASE)
    changed_ga = room(
        "ga",
        "7301",
        title="General assembly",
        moderator_pin="7302",
        max_participants=90,
        queue=QueuePolicy.PROGRESSIVE,
    )
    changed_wg = room("wg", "2222", record=True, speaking_time_limit=60)
    wanted = config(
        changed_ga,
        changed_wg,
        moderators=(moderator("alice", "*", password_hash=OTHER_HASH), moderator("bob", "ga")),
    )

    lines = await sync(db, wanted)

    assert lines == [
        "~ room ga: title, pin (hidden), moderator_pin (hidden), max_participants, queue",
        "~ room wg: speaking_time_limit, record",
        "~ moderator alice: password (sessions ended, tokens revoked)",
    ]
    text = "\n".join(lines)
    for secret in ("1111", "1112", "7301", "7302", HASH, OTHER_HASH):
        assert secret not in text
    rows = await rooms_by_name(db)
    assert (rows["ga"].pin_hash, rows["ga"].moderator_pin_hash, rows["ga"].queue) == (
        hashed("7301"),
        hashed("7302"),
        "progressive",
    )
    assert (rows["wg"].record, rows["wg"].speaking_time_limit) == (True, 60)
    async with db.sessions() as session:
        alice = await session.scalar(select(Moderator).where(Moderator.username == "alice"))
        assert alice is not None and alice.password_hash == OTHER_HASH
    assert await match(db, "7301") == ("ga", Role.PARTICIPANT, False)
    assert await match(db, "7302") == ("ga", Role.MODERATOR, False)
    assert await match(db, "1111") is None
    assert await match(db, "1112") is None


async def test_moderator_pin_removed_is_reported_hidden(db: Database) -> None:
    await sync(db, BASE)
    lines = await sync(db, config(room("ga", "1111"), WG, moderators=BASE.moderators))
    assert lines == ["~ room ga: moderator_pin (hidden)"]
    assert (await rooms_by_name(db))["ga"].moderator_pin_hash is None
    assert await match(db, "1112") is None


async def test_two_rooms_swap_pins_in_one_sync(db: Database) -> None:
    await sync(db, BASE)
    swapped = config(room("ga", "2222", moderator_pin="1112"), room("wg", "1111"))

    lines = await sync(db, swapped)

    assert lines[:2] == ["~ room ga: pin (hidden)", "~ room wg: pin (hidden)"]
    assert await match(db, "1111") == ("wg", Role.PARTICIPANT, False)
    assert await match(db, "2222") == ("ga", Role.PARTICIPANT, False)
    rows = await rooms_by_name(db)
    assert (rows["ga"].pin_hash, rows["wg"].pin_hash) == (hashed("2222"), hashed("1111"))


async def test_pins_rotate_through_three_rooms_and_a_new_room(db: Database) -> None:
    await sync(db, config(room("a", "1001"), room("b", "2002"), room("c", "3003")))
    # a takes b's PIN, b takes c's, c takes a's, and a new room takes c's moderator-free slot.
    rotated = config(room("a", "2002"), room("b", "3003"), room("c", "4004"), room("d", "1001"))

    lines = await sync(db, rotated)

    assert lines == [
        "+ room d",
        "~ room a: pin (hidden)",
        "~ room b: pin (hidden)",
        "~ room c: pin (hidden)",
    ]
    pins = {name: row.pin_hash for name, row in (await rooms_by_name(db)).items()}
    assert pins == {
        "a": hashed("2002"),
        "b": hashed("3003"),
        "c": hashed("4004"),
        "d": hashed("1001"),
    }


# --- removing -------------------------------------------------------------------------------


async def test_removed_room_is_retired_and_keeps_its_history(db: Database) -> None:
    await sync(db, BASE)
    wg_id = (await rooms_by_name(db))["wg"].id
    async with db.sessions.begin() as session:
        session.add(Call(room_id=wg_id, room_name="wg", started_at=T0, ended_at=T0))
    later = T0 + timedelta(days=1)

    lines = await sync(db, config(GA, moderators=BASE.moderators), later)

    assert lines == ["- room wg (retired; its history is kept)"]
    wg = (await rooms_by_name(db))["wg"]
    assert wg.id == wg_id
    assert wg.retired_at == later
    assert wg.pin_hash == hashed("2222")  # kept: a caller typing it is counted as guessing
    async with db.sessions() as session:
        call = await session.scalar(select(Call))
        assert call is not None and call.room_id == wg_id
        assert [spec.name for spec in await active_rooms(session)] == ["ga"]
        assert await find_room(session, "wg") is None
    assert await match(db, "2222") == ("wg", Role.PARTICIPANT, True)
    assert await sync(db, config(GA, moderators=BASE.moderators)) == ["nothing to change"]


async def test_a_retired_rooms_pin_can_go_to_a_new_room(db: Database) -> None:
    await sync(db, BASE)
    await sync(db, config(GA))
    assert await match(db, "2222") == ("wg", Role.PARTICIPANT, True)

    lines = await sync(db, config(GA, room("newroom", "2222")))

    assert lines == ["+ room newroom"]
    assert await match(db, "2222") == ("newroom", Role.PARTICIPANT, False)


async def test_removal_refused_while_the_room_has_a_call_in_progress(db: Database) -> None:
    await sync(db, BASE)
    wg_id = (await rooms_by_name(db))["wg"].id
    async with db.sessions.begin() as session:
        session.add(Call(room_id=wg_id, room_name="wg", started_at=T0))
    before = await snapshot(db)
    # Besides dropping wg, this sync would change, add and remove plenty: none of it may stick.
    wanted = config(
        room("ga", "9999", title="Renamed", moderator_pin="9998"),
        room("extra", "2222"),
        moderators=(moderator("carol", "ga"), moderator("alice", "ga", password_hash=OTHER_HASH)),
    )

    with pytest.raises(SyncRefused, match=r"\bwg\b") as refused:
        async with db.sessions.begin() as session:
            await sync_rooms(session, wanted, T0 + timedelta(hours=1), pin_key=TEST_PIN_KEY)

    assert "2222" not in str(refused.value)
    assert await snapshot(db) == before
    assert await match(db, "2222") == ("wg", Role.PARTICIPANT, False)


async def test_a_finished_call_does_not_block_removal(db: Database) -> None:
    await sync(db, BASE)
    async with db.sessions.begin() as session:
        session.add(Call(room_name="wg", started_at=T0, ended_at=T0 + timedelta(minutes=5)))
        session.add(Call(room_name="ga", started_at=T0))  # live, but ga stays
    assert await sync(db, config(GA, moderators=BASE.moderators)) == [
        "- room wg (retired; its history is kept)"
    ]


async def test_retired_room_is_brought_back(db: Database) -> None:
    await sync(db, BASE)
    wg_id = (await rooms_by_name(db))["wg"].id
    await sync(db, config(GA, moderators=BASE.moderators))

    back = room("wg", "2222", title="Working group, again")
    lines = await sync(db, config(GA, back, moderators=BASE.moderators))

    assert lines == ["+ room wg (brought back)"]
    wg = (await rooms_by_name(db))["wg"]
    assert (wg.id, wg.retired_at, wg.title) == (wg_id, None, "Working group, again")
    assert await match(db, "2222") == ("wg", Role.PARTICIPANT, False)


async def test_room_brought_back_while_its_old_pin_moves_on(db: Database) -> None:
    await sync(db, BASE)
    await sync(db, config(GA))  # wg retired, keeps 2222
    await sync(db, config(GA, room("newroom", "2222")))  # 2222 reused by an active room

    # wg comes back with its old PIN while newroom moves to another one, in one sync.
    lines = await sync(db, config(GA, room("wg", "2222"), room("newroom", "5555")))

    assert lines == ["+ room wg (brought back)", "~ room newroom: pin (hidden)"]
    assert await match(db, "2222") == ("wg", Role.PARTICIPANT, False)
    assert await match(db, "5555") == ("newroom", Role.PARTICIPANT, False)


# --- moderators -----------------------------------------------------------------------------


async def test_moderator_for_every_room_versus_a_list(db: Database) -> None:
    await sync(db, BASE)
    assert await moderator_rooms(db) == {"alice": (True, set()), "bob": (False, {"ga"})}

    wanted = config(GA, WG, moderators=(moderator("alice", "ga"), moderator("bob", "ga", "wg")))
    assert await sync(db, wanted) == ["~ moderator alice: rooms", "~ moderator bob: rooms"]
    assert await moderator_rooms(db) == {
        "alice": (False, {"ga"}),
        "bob": (False, {"ga", "wg"}),
    }

    wanted = config(GA, WG, moderators=(moderator("alice", "ga"), moderator("bob", "*")))
    assert await sync(db, wanted) == ["~ moderator bob: rooms"]
    assert await moderator_rooms(db) == {"alice": (False, {"ga"}), "bob": (True, set())}
    assert await sync(db, wanted) == ["nothing to change"]


async def test_a_role_changed_in_the_file_is_synced_and_reported(db: Database) -> None:
    await sync(db, BASE)
    bob = ModeratorSpec("bob", HASH, ("ga", "wg"), assisting=("ga",))
    alice = ModeratorSpec("alice", HASH, ("*",), assisting=("*",))
    wanted = config(GA, WG, moderators=(alice, bob))
    assert await sync(db, wanted) == ["~ moderator alice: roles", "~ moderator bob: rooms"]
    async with db.sessions() as session:
        accounts = {m.username: account_of(m) for m in await session.scalars(select(Moderator))}
    assert accounts["bob"].principal(Via.SESSION).role_in("ga") is Right.ASSISTANT
    assert accounts["bob"].principal(Via.SESSION).role_in("wg") is Right.HOST
    assert accounts["alice"].principal(Via.TOKEN).role_in("wg") is Right.ASSISTANT
    assert await sync(db, wanted) == ["nothing to change"]

    wanted = config(GA, WG, moderators=(moderator("alice", "*"), moderator("bob", "ga", "wg")))
    assert await sync(db, wanted) == ["~ moderator alice: roles", "~ moderator bob: roles"]
    async with db.sessions() as session:
        accounts = {m.username: account_of(m) for m in await session.scalars(select(Moderator))}
    assert accounts["bob"].principal(Via.SESSION).role_in("ga") is Right.HOST
    assert accounts["alice"].assisting == frozenset()


async def test_a_room_in_every_list_and_a_new_room_for_all_rooms(db: Database) -> None:
    await sync(db, BASE)
    # A room added later is covered by "*" without any change to the moderator.
    wanted = config(GA, WG, room("new", "3333"), moderators=BASE.moderators)
    assert await sync(db, wanted) == ["+ room new"]
    assert await moderator_rooms(db) == {"alice": (True, set()), "bob": (False, {"ga"})}


async def test_moderator_removed(db: Database) -> None:
    await sync(db, BASE)

    lines = await sync(db, config(GA, WG, moderators=(moderator("alice", "*"),)))

    assert lines == ["- moderator bob"]
    assert await moderator_rooms(db) == {"alice": (True, set())}
    async with db.sessions() as session:
        assert (await session.scalars(select(ModeratorRoom))).all() == []


async def test_room_removed_from_a_moderators_list_with_the_room(db: Database) -> None:
    wanted = config(GA, WG, moderators=(moderator("bob", "ga", "wg"),))
    await sync(db, wanted)

    lines = await sync(db, config(GA, moderators=(moderator("bob", "ga"),)))

    assert lines == ["~ moderator bob: rooms", "- room wg (retired; its history is kept)"]
    assert await moderator_rooms(db) == {"bob": (False, {"ga"})}


# --- match_pin ------------------------------------------------------------------------------


async def test_match_pin(db: Database) -> None:
    await sync(db, BASE)
    assert await match(db, "1111") == ("ga", Role.PARTICIPANT, False)
    assert await match(db, "1112") == ("ga", Role.MODERATOR, False)
    assert await match(db, "2222") == ("wg", Role.PARTICIPANT, False)
    assert await match(db, "9999") is None
    assert await match(db, "111") is None
    assert await match(db, "") is None
    async with db.sessions() as session:
        found = await match_pin(session, "1112", TEST_PIN_KEY)
    assert found is not None and found.room == as_stored(GA)
