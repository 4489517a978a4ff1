"""A carrier's numbers, end to end: SIPp plays the carrier from its own loopback address,
delivering calls to the trunk's DIDs with a P-Asserted-Identity, through the pjsip file
`rooms sync` writes (pjsip-trunks.conf) and the session's real Asterisk.

The trunk and its room are added to the session's rooms for this file and the trunk taken
away again at the end (the room stays: a room of its own, as every scenario has)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator

import pytest

from bridge.asterisk.trunk_config import RELOAD, write_trunks
from bridge.domain.guard import trunk_source
from bridge.domain.rooms import RoomSpec
from bridge.domain.trunks import TrunkKind, TrunkNumber, TrunkSpec
from bridge.roomsfile import load_rooms_file
from bridge.runtime import Runtime
from bridge.service import BridgeService
from bridge.settings import Settings
from bridge.store.pin_key import install_pin_key
from bridge.store.rooms import sync_rooms
from bridge.store.trunks import sync_trunks
from tests.conftest import E2E_ROOMS
from tests.integration.conftest import Dial
from tests.support import AmiWatcher, event

CARRIER_ADDRESS = "127.0.0.50"  # fresh_loopback() never gets here
ROOM = RoomSpec(name="e2e-phones", title="Phones", pin="80808080")
PROMPT, PUBLIC, WITH_PIN = "+15557770000", "+15557770001", "+15557770002"
CARRIER = TrunkSpec(
    name="e2e-carrier",
    kind=TrunkKind.IP,
    host=CARRIER_ADDRESS,
    match=(f"{CARRIER_ADDRESS}/32",),
    numbers=(
        TrunkNumber(PROMPT),
        TrunkNumber(PUBLIC, ROOM.name, pin_required=False),
        TrunkNumber(WITH_PIN, ROOM.name),
    ),
)


async def _reload(runtime: Runtime) -> None:
    assert runtime.asterisk is not None
    code, output = await runtime.asterisk.cli(RELOAD)
    assert code == 0, output
    await asyncio.sleep(1.0)  # PJSIP applies the reload on its own threads


@pytest.fixture
async def carrier(
    runtime: Runtime, runtime_settings: Settings, service: BridgeService
) -> AsyncIterator[TrunkSpec]:
    config = load_rooms_file(E2E_ROOMS)
    config = dataclasses.replace(config, rooms=(*config.rooms, ROOM), trunks=(CARRIER,))
    key = install_pin_key(runtime_settings)
    async with service.db.sessions.begin() as session:
        await sync_rooms(session, config, pin_key=key)
    write_trunks(runtime_settings, config.trunks)
    await _reload(runtime)
    assert runtime.asterisk is not None
    _, identify = await runtime.asterisk.cli("pjsip show identifies")
    assert CARRIER.name in identify, identify
    try:
        yield CARRIER
    finally:
        async with service.db.sessions.begin() as session:
            await sync_trunks(session, ())
        write_trunks(runtime_settings, ())
        await _reload(runtime)


def pai(number: str) -> tuple[str, ...]:
    return (f"P-Asserted-Identity: <sip:{number}@{CARRIER_ADDRESS}>",)


async def test_a_did_call_hears_the_pin_prompt_and_joins_with_the_rooms_pin(
    ami: AmiWatcher, dial: Dial, carrier: TrunkSpec
) -> None:
    mark = ami.mark()
    await dial("80808080#", extension=PROMPT, headers=pai("+15550101"), local_ip=CARRIER_ADDRESS)
    joined = await ami.wait_for(event("ConfbridgeJoin", CallerIDNum="+15550101"), since=mark)
    assert joined["Conference"] == ROOM.name
    assert joined["Channel"].startswith(f"PJSIP/{carrier.name}-")


async def test_a_public_room_number_joins_its_room_with_no_pin_at_all(
    ami: AmiWatcher, dial: Dial, carrier: TrunkSpec
) -> None:
    mark = ami.mark()
    await dial("", extension=PUBLIC, headers=pai("+15550102"), local_ip=CARRIER_ADDRESS)
    joined = await ami.wait_for(event("ConfbridgeJoin", CallerIDNum="+15550102"), since=mark)
    assert joined["Conference"] == ROOM.name


async def test_two_callers_behind_the_carrier_count_their_wrong_pins_apart(
    ami: AmiWatcher, dial: Dial, service: BridgeService, carrier: TrunkSpec
) -> None:
    mark = ami.mark()
    guesser = await dial(
        "11112222#", extension=WITH_PIN, headers=pai("+15550103"), local_ip=CARRIER_ADDRESS,
        stay=3,
    )  # fmt: skip
    await asyncio.wait_for(guesser.wait(), 60)
    await dial("80808080#", extension=WITH_PIN, headers=pai("+15550104"), local_ip=CARRIER_ADDRESS)
    joined = await ami.wait_for(event("ConfbridgeJoin", CallerIDNum="+15550104"), since=mark)
    assert joined["Conference"] == ROOM.name
    now = time.time()
    guard = service.desk.guard
    assert guard.failures(trunk_source(carrier.name, "+15550103"), now) >= 1
    assert guard.failures(trunk_source(carrier.name, "+15550104"), now) == 0
    # The number named the room: the trunk's shared budget counts it per trunk and room.
    assert guard.shared_failures(f"{carrier.name}/{ROOM.name}", now) >= 1
    assert guard.shared_failures(carrier.name, now) == 0
