"""The guard on the FastAGI wire: the real dialogue and the real entry desk (its database a
SQLite file), with the test playing Asterisk's side of the socket. What a caller hears is
the commands the bridge sends; the PIN rules and the counting are the service's own.

(The end-to-end tests in tests/integration/test_guessing.py do the same with SIPp callers
and a real Asterisk; here the waits and hang-ups are exact and quick.)"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bridge.asterisk.fastagi import FastAgiServer
from bridge.asterisk.pin_dialogue import entry_route
from bridge.domain.guard import GuardPolicy, internet_source, trunk_source
from bridge.domain.roster import LiveRoom, Switchboard
from bridge.roomsfile import parse_rooms_text
from bridge.service.entry import EntryDesk
from bridge.settings import Settings
from bridge.store.db import Database, upgrade
from bridge.store.models import Room
from bridge.store.pin_key import install_pin_key
from bridge.store.rooms import sync_rooms
from tests.adapters.test_agi_server import AGI_SECRET

ROOMS = 'rooms:\n  - name: ga\n    pin: "424242"\n  - name: gone\n    pin: "808080"\n'
GREETING = "conf-getpin"


@dataclass
class Desk:
    desk: EntryDesk
    port: int
    commands: list[list[str]] = field(default_factory=list)


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    settings = Settings(
        state_dir=tmp_path,
        guard_source_threshold=3,
        guard_alarm_source_threshold=2,
        guard_first_delay_seconds=0.0,
    )
    key = install_pin_key(settings)
    await upgrade(settings.effective_database_url, pin_key=key)
    db = Database(settings.effective_database_url)
    async with db.sessions.begin() as session:
        await sync_rooms(session, parse_rooms_text(ROOMS, "rooms.yaml"), pin_key=key)
        session.add(Room(name="retired", title="R", pin_hash=key.hash("5151"),
                         retired_at=datetime.now(UTC)))  # fmt: skip
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


async def call(
    port: int,
    pins: list[str],
    *,
    address: str | None = "203.0.113.7:5060",
    endpoint: str = "anonymous",
    caller_id: str = "5550100",
    hang_up_after: int | None = None,
    variables: dict[str, str] | None = None,
    channel: str = "PJSIP/anonymous-1",
    asserted: str | None = None,
    dialled: str | None = None,
) -> list[str]:
    """One call as Asterisk makes it; the commands the bridge sent, in order. ``pins``: what
    the caller types at each GET DATA; ``hang_up_after``: close after that many commands."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    headers = (
        f"agi_network_script: {AGI_SECRET}/entry\nagi_channel: {channel}\n"
        f"agi_callerid: {caller_id}\n"
    )
    if address is not None:
        headers += f"agi_arg_1: {address}\nagi_arg_2: {endpoint}\n"
    if asserted is not None:
        headers += f"agi_arg_3: {asserted}\n"
    if dialled is not None:
        headers += f"agi_arg_4: {dialled}\n"
    writer.write(headers.encode() + b"\n")
    sent: list[str] = []
    typed = iter(pins)
    try:
        while line := (await asyncio.wait_for(reader.readline(), 10)).decode().strip():
            sent.append(line)
            if hang_up_after is not None and len(sent) >= hang_up_after:
                writer.close()
                break
            if line.startswith("GET DATA"):
                writer.write(f"200 result={next(typed, '')}\n".encode())
            elif line.startswith("GET FULL VARIABLE"):
                value = (variables or {}).get(line.removeprefix("GET FULL VARIABLE "), "")
                writer.write(f"200 result=1 ({value})\n".encode())
            else:
                writer.write(b"200 result=0\n")
    finally:
        writer.close()
    return sent


def heard(commands: list[str]) -> list[str]:
    return [c.split()[2] for c in commands if c.startswith(("STREAM FILE", "GET DATA"))]


async def test_a_retired_rooms_pin_sounds_exactly_like_a_wrong_one_and_counts_as_one(
    desk: Desk,
) -> None:
    wrong = await call(desk.port, ["999999"], address="198.51.100.1:5060")
    retired = await call(desk.port, ["5151"], address="198.51.100.2:5060")
    assert heard(retired) == heard(wrong)
    assert heard(wrong).count(GREETING) == 3  # and the caller may try again, as after any
    guard, now = desk.desk.guard, datetime.now(UTC).timestamp()
    assert guard.failures(internet_source("198.51.100.2"), now) == 1
    assert guard.failures(internet_source("198.51.100.1"), now) == 1


async def test_a_source_that_used_its_budget_is_refused_whatever_caller_id_it_sends(
    desk: Desk,
) -> None:
    for n in range(3):  # three wrong PINs, each under a new caller ID
        await call(desk.port, ["11111" + str(n)], caller_id=f"victim{n}", hang_up_after=3)
    refused = await call(desk.port, ["424242"], caller_id="5559999")
    assert heard(refused) == ["im-sorry", "please-try-call-later", "vm-goodbye"]
    assert not any(c.startswith("EXEC MSet") for c in refused)
    # Another address, with the attacker's caller IDs, gets in with the right PIN.
    other = await call(desk.port, ["424242"], address="203.0.113.8:5060", caller_id="victim0")
    assert any("IOBRIDGE_ROOM=ga" in c for c in other)


async def test_a_source_without_dialplan_arguments_is_asked_of_the_channel(desk: Desk) -> None:
    variables = {
        "${CHANNEL(pjsip,remote_addr)}": "192.0.2.44:5060",
        "${CHANNEL(endpoint)}": "anonymous",
    }
    sent = await call(desk.port, ["999999", "", ""], address=None, variables=variables)
    assert sent[:2] == [
        "GET FULL VARIABLE ${CHANNEL(pjsip,remote_addr)}",
        "GET FULL VARIABLE ${CHANNEL(endpoint)}",
    ]
    now = datetime.now(UTC).timestamp()
    assert desk.desk.guard.failures(internet_source("192.0.2.44"), now) == 1


async def test_a_locked_out_source_is_listed_and_an_admin_can_lift_it(desk: Desk) -> None:
    for n in range(3):
        await call(desk.port, [f"99999{n}"], hang_up_after=3)
    [held] = desk.desk.held_back()
    assert (str(held.source), held.refused) == ("address:203.0.113.7", True)
    assert await desk.desk.lift(held.source)
    assert desk.desk.held_back() == []
    assert any("IOBRIDGE_ROOM=ga" in c for c in await call(desk.port, ["424242"]))


async def test_the_guards_delay_is_a_wait_before_the_prompt_and_a_hang_up_in_it_is_no_guess(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    desk.desk.guard.policy = desk.desk.guard.policy.__class__(
        source_threshold=3, alarm_source_threshold=2, first_delay=0.6, max_delay=0.6
    )
    await call(desk.port, ["999999"], hang_up_after=3)  # one wrong PIN, then gone
    loop = asyncio.get_running_loop()
    started = loop.time()
    reader, writer = await asyncio.open_connection("127.0.0.1", desk.port)
    writer.write(
        f"agi_network_script: {AGI_SECRET}/entry\nagi_channel: PJSIP/anonymous-2\n".encode()
        + b"agi_callerid: x\n"
        b"agi_arg_1: 203.0.113.7:5060\nagi_arg_2: anonymous\n\n"
    )
    # The half second of silence before any prompt, which hears no key; then the guard's wait.
    assert await asyncio.wait_for(reader.readline(), 5) == b"WAIT FOR DIGIT 500\n"
    writer.write(b"200 result=0\n")
    await asyncio.sleep(0.2)
    writer.write(b"HANGUP\n")  # Asterisk's word when the channel hangs up under the AGI
    assert await asyncio.wait_for(reader.read(), 5) == b""  # nothing was played
    assert loop.time() - started < 0.6  # the hang-up ended the wait at once
    writer.close()
    source = internet_source("203.0.113.7")
    assert desk.desk.guard.pending(source) == 0
    assert desk.desk.guard.failures(source, datetime.now(UTC).timestamp()) == 1
    assert "agi.dialogue_failed" not in caplog.text

    waited = loop.time()
    sent = await call(desk.port, ["424242"])
    assert loop.time() - waited >= 0.5  # the prompt came after the source's delay
    assert heard(sent)[0] == GREETING


async def test_asterisk_gone_mid_dialogue_is_a_hang_up_not_a_failure(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for after in (1, 2, 4):  # during the prompt, after a wrong PIN, while told so
        await call(desk.port, ["999999"], address=f"192.0.2.{after}:5060", hang_up_after=after)
    await asyncio.sleep(0.2)
    assert "agi.dialogue_failed" not in caplog.text
    assert "Traceback" not in caplog.text
    assert caplog.text.count("caller_hung_up") == 3
    for after in (1, 2, 4):
        assert desk.desk.guard.pending(internet_source(f"192.0.2.{after}")) == 0


async def silent_call(port: int, address: str, channel: str) -> asyncio.StreamWriter:
    """A call that reaches the PIN prompt and keeps it silent (until its writer closes)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"agi_network_script: {AGI_SECRET}/entry\nagi_channel: {channel}\nagi_callerid: x\n"
        f"agi_arg_1: {address}\nagi_arg_2: anonymous\n\n".encode()
    )
    while not (await asyncio.wait_for(reader.readline(), 10)).startswith(b"GET DATA"):
        writer.write(b"200 result=0\n")
    return writer


async def test_a_caller_keeping_prompts_silent_does_not_turn_away_the_others_behind_the_address(
    desk: Desk,
) -> None:
    desk.desk.guard.policy = GuardPolicy(source_threshold=3, alarm_source_threshold=2, hold=0.2)
    silent = [
        await silent_call(desk.port, "203.0.113.9:5060", f"PJSIP/silent-{n}") for n in range(4)
    ]
    try:
        joined = await call(desk.port, ["424242"], address="203.0.113.9:5060", channel="PJSIP/b")
        assert any("IOBRIDGE_ROOM=ga" in c for c in joined)
    finally:
        for writer in silent:
            writer.close()


async def test_a_source_over_its_calls_in_the_dialogue_is_refused_at_once(desk: Desk) -> None:
    desk.desk.dialogues_per_source = 2
    silent = [
        await silent_call(desk.port, "203.0.113.10:5060", f"PJSIP/silent-{n}") for n in range(2)
    ]
    try:
        refused = await call(desk.port, ["424242"], address="203.0.113.10:5060", channel="PJSIP/c")
        assert heard(refused) == ["im-sorry", "please-try-call-later", "vm-goodbye"]
        other = await call(desk.port, ["424242"], address="203.0.113.11:5060", channel="PJSIP/d")
        assert any("IOBRIDGE_ROOM=ga" in c for c in other)  # another address: as ever
    finally:
        for writer in silent:
            writer.close()
    await asyncio.sleep(0.1)
    assert desk.desk.dialogues == set()  # the refused call and the others all counted out


async def test_a_held_call_over_the_held_bound_is_refused_at_once(desk: Desk) -> None:
    desk.desk.max_held = 0
    for n in range(3):  # three wrong PINs; then the source's prompts in progress count
        await call(desk.port, [f"99999{n}"], address="203.0.113.12:5060", hang_up_after=3)
    desk.desk.guard.forget(internet_source("203.0.113.12"))
    await call(desk.port, ["999990"], address="203.0.113.12:5060", hang_up_after=3)
    silent = [
        await silent_call(desk.port, "203.0.113.12:5060", f"PJSIP/silent-{n}") for n in range(2)
    ]
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        refused = await call(desk.port, ["424242"], address="203.0.113.12:5060", channel="PJSIP/e")
        assert heard(refused) == ["im-sorry", "please-try-call-later", "vm-goodbye"]
        assert loop.time() - started < 1.0  # not held first
    finally:
        for writer in silent:
            writer.close()


async def test_a_locked_room_says_so_to_a_clean_source_and_sounds_wrong_to_one_that_failed(
    desk: Desk,
) -> None:
    desk.desk.switchboard.rooms["ga"] = LiveRoom("ga", started_at=0.0, locked=True)
    clean = await call(desk.port, ["424242"], address="203.0.113.13:5060")
    assert heard(clean)[:2] == ["conf-getpin", "conf-locked"]  # the member is told why
    guesser = await call(desk.port, ["999999", "424242"], address="203.0.113.14:5060")
    wrong = await call(desk.port, ["999999", "999998"], address="203.0.113.15:5060")
    # After a failure, the locked room's PIN sounds exactly like another wrong PIN.
    assert heard(guesser)[:4] == heard(wrong)[:4]
    assert heard(guesser)[3] == "conf-invalidpin"
    now = datetime.now(UTC).timestamp()
    assert desk.desk.guard.failures(internet_source("203.0.113.14"), now) == 2  # both count


async def test_a_trunk_caller_counts_against_the_number_the_dialplan_says_the_trunk_asserted(
    desk: Desk,
) -> None:
    trunk = {"address": "198.51.100.50:5060", "endpoint": "carrier", "caller_id": "victim"}
    await call(desk.port, ["999999"], asserted="+15550100", hang_up_after=3, **trunk)
    await call(desk.port, ["999999"], asserted="", hang_up_after=3, **trunk)  # withheld
    now = datetime.now(UTC).timestamp()
    guard = desk.desk.guard
    assert guard.failures(trunk_source("carrier", "+15550100"), now) == 1
    assert guard.shared_failures("carrier", now) == 2  # both in the trunk's shared budget
    assert guard.failures(trunk_source("carrier", "victim"), now) == 0  # not the From


async def test_a_venue_an_admin_allowed_for_a_room_gets_in_past_its_budget_to_that_room_only(
    desk: Desk,
) -> None:
    venue = 'rooms:\n  - name: ga\n    pin: "424242"\n    allow_sources: ["198.51.100.0/24"]\n'
    venue += '  - name: gone\n    pin: "808080"\n'
    async with desk.desk.db.sessions.begin() as session:
        config = parse_rooms_text(venue, "rooms.yaml")
        await sync_rooms(session, config, pin_key=desk.desk.rooms.pin_key)
    await desk.desk.rooms.current(desk.desk.db.sessions)
    for n in range(3):  # a prankster behind the venue's one address uses up its budget
        await call(desk.port, [f"99999{n}"], address="198.51.100.20:5060", hang_up_after=3)
    member = await call(desk.port, ["424242"], address="198.51.100.20:5060")
    assert any("IOBRIDGE_ROOM=ga" in c for c in member)  # slowed, not refused
    other_room = await call(desk.port, ["808080"], address="198.51.100.20:5060")
    assert not any(c.startswith("EXEC MSet") for c in other_room)
    assert heard(other_room)[:2] == ["conf-getpin", "conf-invalidpin"]  # as a wrong PIN
    # Elsewhere, a source past its budget is refused as ever.
    for n in range(3):
        await call(desk.port, [f"99999{n}"], address="203.0.113.30:5060", hang_up_after=3)
    refused = await call(desk.port, ["424242"], address="203.0.113.30:5060")
    assert heard(refused) == ["im-sorry", "please-try-call-later", "vm-goodbye"]


async def test_the_desk_hears_of_each_pin_prompt_and_a_listener_that_fails_drops_no_caller(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    told: list[str] = []
    desk.desk.pin_prompted = lambda source: told.append(str(source))
    await call(desk.port, ["999999", "424242"], address="198.51.100.9:5060")
    assert told == ["address:198.51.100.9"] * 2  # once before each PIN prompt

    def broken(source: object) -> None:
        raise RuntimeError("a practice room's bug")

    desk.desk.pin_prompted = broken
    admitted = await call(desk.port, ["424242"], address="198.51.100.10:5060")
    assert any("IOBRIDGE_ROOM=ga" in c for c in admitted)
    assert "entry.pin_prompted_failed source=address:198.51.100.10" in caplog.text
