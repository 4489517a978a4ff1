"""A room closed outside its schedule (``admit_outside_schedule: false``), on the FastAGI
wire with the real entry desk: a right PIN before the call hears when it begins, in the
room's zone, and counts nothing against the caller; within the grace before the start, and
for moderators at any time, the door is open."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bridge.asterisk.fastagi import FastAgiServer
from bridge.asterisk.pin_dialogue import entry_route
from bridge.domain.guard import internet_source
from bridge.domain.roster import Switchboard
from bridge.roomsfile import parse_rooms_text
from bridge.service.entry import EntryDesk
from bridge.settings import Settings
from bridge.store import pin_failures
from bridge.store.db import Database, upgrade
from bridge.store.pin_key import install_pin_key
from bridge.store.rooms import sync_rooms
from tests.adapters.test_agi_guard import call, heard
from tests.adapters.test_agi_server import AGI_SECRET

ROOMS = """\
rooms:
  - name: thursday
    pin: "424242"
    moderator_pin: "919191"
    admit_outside_schedule: false
    schedule: {rrule: "FREQ=WEEKLY;BYDAY=TH;BYHOUR=20", tz: America/New_York, minutes: 90}
"""
SOUNDS = Path("/srv/sounds")
MONDAY = datetime(2026, 12, 7, 15, tzinfo=UTC)
NEXT_CALL = datetime(2026, 12, 11, 1, tzinfo=UTC)  # Thursday 10 December, 20:00 in New York
CALLER = "203.0.113.7:5060"


@dataclass
class Desk:
    desk: EntryDesk
    port: int
    db: Database
    now: list[datetime]


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    settings = Settings(state_dir=tmp_path, schedule_early_minutes=10)
    key = install_pin_key(settings)
    await upgrade(settings.effective_database_url, pin_key=key)
    db = Database(settings.effective_database_url)
    async with db.sessions.begin() as session:
        await sync_rooms(session, parse_rooms_text(ROOMS, "rooms.yaml"), pin_key=key)
    now = [MONDAY]
    clock: Callable[[], float] = lambda: now[0].timestamp()  # noqa: E731
    entry = EntryDesk(settings, db, Switchboard(), lambda: None, clock=clock)
    server = await asyncio.start_server(
        FastAgiServer([entry_route(entry, 3, SOUNDS)], secret=AGI_SECRET).handle, "127.0.0.1", 0
    )
    try:
        yield Desk(entry, server.sockets[0].getsockname()[1], db, now)
    finally:
        server.close()
        await server.wait_closed()
        await entry.flushed()
        await db.dispose()


async def test_a_right_pin_before_the_call_hears_when_it_begins_and_counts_nothing(
    desk: Desk,
) -> None:
    sent = await call(desk.port, ["424242"], address=CALLER)
    assert heard(sent) == ["conf-getpin", "/srv/sounds/call-not-started", "vm-goodbye"]
    assert f"SAY DATETIME {int(NEXT_CALL.timestamp())} " in " ".join(sent)
    assert sent[-2].endswith(" America/New_York")
    assert not any("MSet" in command for command in sent)  # no room given
    await desk.desk.flushed()
    assert desk.desk.guard.failures(internet_source("203.0.113.7"), MONDAY.timestamp()) == 0
    async with desk.db.sessions() as session:
        assert await pin_failures.failures_since(session, datetime(2026, 1, 1, tzinfo=UTC)) == []


async def test_the_door_opens_the_grace_before_the_start(desk: Desk) -> None:
    desk.now[0] = datetime(2026, 12, 11, 0, 51, tzinfo=UTC)  # 19:51 in New York
    sent = await call(desk.port, ["424242"], address=CALLER)
    assert "IOBRIDGE_ROOM=thursday" in sent[-1]


async def test_a_moderator_gets_in_outside_the_schedule(desk: Desk) -> None:
    sent = await call(desk.port, ["919191"], address=CALLER)
    assert "IOBRIDGE_ROLE=moderator" in sent[-1]


async def test_after_the_call_ends_the_door_closes_again(desk: Desk) -> None:
    desk.now[0] = datetime(2026, 12, 11, 2, 31, tzinfo=UTC)  # 21:31, the call ended at 21:30
    sent = await call(desk.port, ["424242"], address=CALLER)
    assert "/srv/sounds/call-not-started" in heard(sent)
    assert f"SAY DATETIME {int(datetime(2026, 12, 18, 1, tzinfo=UTC).timestamp())} " in " ".join(
        sent
    )
