"""Rooms opened on demand beside the file's: a sync never touches them, a clash with
them is refused, and a closed one's PINs are a retired room's (refused as wrong PINs)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bridge.domain.events import Role
from bridge.domain.rooms import RoomSpec
from bridge.store.db import Database
from bridge.store.models import Call, Room
from bridge.store.room_cache import RoomCache
from bridge.store.rooms import SyncRefused, every_room
from bridge.store.rooms_on_demand import (
    add_room_on_demand,
    close_room,
    due_rooms,
    taken_pin_hashes,
)
from tests.store.test_rooms_sync import (
    BASE,
    T0,
    config,
    match,
    moderator,
    moderator_rooms,
    room,
    rooms_by_name,
    snapshot,
    sync,
)
from tests.support import TEST_PIN_KEY

POP_UP = RoomSpec(name="pop-up-0042", title="Pop-up", pin="10203040", moderator_pin="50607080")
CLOSES = T0 + timedelta(hours=4)


async def open_pop_up(db: Database, opened_by: str = "bob") -> None:
    async with db.sessions.begin() as session:
        await add_room_on_demand(
            session, POP_UP, TEST_PIN_KEY, closes_at=CLOSES, opened_by=opened_by
        )


async def test_a_sync_never_retires_or_changes_a_room_opened_on_demand(db: Database) -> None:
    await sync(db, BASE)
    await open_pop_up(db)
    lines = await sync(db, config(room("ga", "1111")))
    assert not any("pop-up" in line for line in lines)
    stored = (await rooms_by_name(db))["pop-up-0042"]
    assert stored.retired_at is None and stored.on_demand and stored.closes_at == CLOSES
    assert await match(db, "10203040") == ("pop-up-0042", Role.PARTICIPANT, False)


async def test_the_host_who_opened_a_room_keeps_it_through_a_sync(db: Database) -> None:
    await sync(db, BASE)
    await open_pop_up(db, opened_by="bob")
    assert (await moderator_rooms(db))["bob"] == (False, {"ga", "pop-up-0042"})
    await sync(
        db, config(room("ga", "1111"), room("wg", "2222"), moderators=(moderator("bob", "wg"),))
    )
    assert (await moderator_rooms(db))["bob"] == (False, {"wg", "pop-up-0042"})


@pytest.mark.parametrize(
    ("clash", "said"),
    [(room("pop-up-0042", "7777"), "the name of a room opened on demand"),
     (room("new", "10203040"), "pin is a PIN of a room opened on demand"),
     (room("new", "7777", moderator_pin="10203040"), "moderator_pin is a PIN of a room")],
)  # fmt: skip
async def test_a_sync_that_takes_a_name_or_pin_of_a_room_opened_on_demand_is_refused(
    db: Database, clash: RoomSpec, said: str
) -> None:
    await sync(db, BASE)
    await open_pop_up(db)
    before = await snapshot(db)
    with pytest.raises(SyncRefused, match=said):
        await sync(db, config(room("ga", "1111"), clash))
    assert await snapshot(db) == before


async def test_a_room_is_due_once_its_time_is_up_and_no_call_is_open(db: Database) -> None:
    await open_pop_up(db)
    async with db.sessions() as session:
        assert await due_rooms(session, CLOSES - timedelta(seconds=1)) == []
        assert [name for name, _ in await due_rooms(session, CLOSES)] == ["pop-up-0042"]
    async with db.sessions.begin() as session:
        session.add(Call(room_name="pop-up-0042", started_at=T0))
    async with db.sessions() as session:
        assert await due_rooms(session, CLOSES + timedelta(hours=1)) == []


async def test_a_closed_room_s_pins_are_refused_and_never_given_again(db: Database) -> None:
    await open_pop_up(db)
    cache = RoomCache(TEST_PIN_KEY)
    assert (await cache.match(db.sessions, "10203040")) is not None
    async with db.sessions.begin() as session:
        assert await close_room(session, "pop-up-0042", CLOSES)
        assert not await close_room(session, "pop-up-0042", CLOSES)  # once
    found = await cache.match(db.sessions, "10203040")  # the cache sees the close
    assert found is not None and found.retired  # the entry desk's "wrong PIN"
    assert "pop-up-0042" not in (await cache.current(db.sessions)).active
    async with db.sessions() as session:
        taken = await taken_pin_hashes(session)
        assert TEST_PIN_KEY.hash("10203040") in taken and TEST_PIN_KEY.hash("50607080") in taken
        assert [r.on_demand for r in await every_room(session)] == [True]
        row = await session.scalar(select(Room))
        assert row is not None and row.retired_at == CLOSES
