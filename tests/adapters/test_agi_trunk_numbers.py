"""A trunk's numbers on the FastAGI wire (the real dialogue, the real entry desk): a DID to
the PIN prompt, a DID into one room (with that room's PIN only, or none at all), and the
guard's trunk budget split per room; the internet endpoint dialling a DID gets none of it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bridge.asterisk.fastagi import FastAgiServer
from bridge.asterisk.pin_dialogue import entry_route
from bridge.domain.guard import trunk_source
from bridge.domain.roster import Switchboard
from bridge.roomsfile import parse_rooms_text
from bridge.service.entry import EntryDesk
from bridge.settings import Settings
from bridge.store.db import Database, upgrade
from bridge.store.pin_key import install_pin_key
from bridge.store.rooms import sync_rooms
from tests.adapters.test_agi_guard import Desk, call, heard
from tests.adapters.test_agi_server import AGI_SECRET

ROOMS = """\
rooms:
  - name: assembly
    pin: "42424242"
  - name: legal
    pin: "31313131"
trunks:
  - name: carrier
    kind: ip
    host: 198.51.100.50
    match: ["198.51.100.48/29"]
    numbers:
      - number: "+15557770000"
      - number: "+15557770001"
        room: assembly
        pin_required: false
      - number: "+15557770002"
        room: legal
"""
TRUNK = {"address": "198.51.100.50:5060", "endpoint": "carrier", "caller_id": "x"}


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    settings = Settings(state_dir=tmp_path, guard_first_delay_seconds=0.0)
    key = install_pin_key(settings)
    await upgrade(settings.effective_database_url, pin_key=key)
    db = Database(settings.effective_database_url)
    async with db.sessions.begin() as session:
        await sync_rooms(session, parse_rooms_text(ROOMS, "rooms.yaml"), pin_key=key)
    entry = EntryDesk(settings, db, Switchboard(), lambda: None)
    server = await asyncio.start_server(
        FastAgiServer([entry_route(entry, 3)], secret=AGI_SECRET).handle, "127.0.0.1", 0
    )
    try:
        yield Desk(entry, server.sockets[0].getsockname()[1])
    finally:
        server.close()
        await server.wait_closed()
        await entry.flushed()
        await db.dispose()


def joined(commands: list[str]) -> str | None:
    for command in commands:
        if command.startswith("EXEC MSet") and "IOBRIDGE_ROOM=" in command:
            return command.rsplit("IOBRIDGE_ROOM=", 1)[1].split(",")[0].strip('"')
    return None


async def test_a_did_without_a_room_is_the_pin_prompt_for_every_room(desk: Desk) -> None:
    sent = await call(
        desk.port, ["31313131"], asserted="+15550100", dialled="+15557770000", **TRUNK
    )
    assert heard(sent)[0] == "conf-getpin"
    assert joined(sent) == "legal"


async def test_a_public_number_joins_its_room_without_a_pin(desk: Desk) -> None:
    sent = await call(desk.port, [], asserted="+15550100", dialled="15557770001", **TRUNK)
    assert "conf-getpin" not in heard(sent)
    assert joined(sent) == "assembly"
    assert any("CONFBRIDGE(user,template)=iobridge_participant" in c for c in sent)


async def test_a_rooms_number_takes_that_rooms_pin_only_and_counts_per_trunk_and_room(
    desk: Desk,
) -> None:
    other_rooms_pin = await call(
        desk.port, ["42424242", "31313131"], asserted="+15550100", dialled="+15557770002", **TRUNK
    )
    assert heard(other_rooms_pin)[:2] == ["conf-getpin", "conf-invalidpin"]
    assert joined(other_rooms_pin) == "legal"  # its own PIN, at the second prompt
    now = datetime.now(UTC).timestamp()
    guard = desk.desk.guard
    assert guard.failures(trunk_source("carrier", "+15550100"), now) == 1
    assert guard.shared_failures("carrier/legal", now) == 1
    assert guard.shared_failures("carrier", now) == 0


async def test_the_internet_endpoint_dialling_a_public_number_still_needs_a_pin(
    desk: Desk,
) -> None:
    sent = await call(desk.port, [""], address="203.0.113.9:5060", dialled="+15557770001")
    assert heard(sent)[0] == "conf-getpin"
    assert joined(sent) is None


async def test_another_trunk_dialling_a_public_number_still_needs_a_pin(desk: Desk) -> None:
    stranger = {**TRUNK, "endpoint": "other"}
    sent = await call(desk.port, [""], asserted="+15550100", dialled="+15557770001", **stranger)
    assert heard(sent)[0] == "conf-getpin"
    assert joined(sent) is None
