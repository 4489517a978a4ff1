"""The dialogue as Asterisk sees it on the FastAGI socket: after the PIN, ONE command gives the
dialplan the room and every ConfBridge option (it used to take eight round trips).

Asterisk's side of the socket is played by the test (it answers every command with 200, and
GET DATA with the typed PIN); the desk is a stand-in that admits, because what is under test
is the wire traffic, not the PIN rules (tests/unit/test_entry.py has those, and the
integration tests run the same dialogue against a real Asterisk)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bridge.asterisk.fastagi import FastAgiServer
from bridge.asterisk.pin_dialogue import entry_route
from bridge.domain.entry import Admission, PinOutcome, Refusal
from bridge.domain.events import Role
from bridge.domain.guard import Gate, Proceed, Source
from bridge.domain.rooms import RoomSpec
from bridge.domain.trunks import TrunkNumber
from tests.adapters.test_agi_server import AGI_SECRET

BIG = RoomSpec(name="ga-national", title="GA", pin="424242", max_participants=900)
SOUNDS = Path("/srv/iobridge/sounds")


class AdmittingDesk:
    def __init__(self, admission: Admission | PinOutcome) -> None:
        self.outcome = admission if isinstance(admission, PinOutcome) else PinOutcome(admission)

    def call_entered(self, channel: str, source: Source) -> bool:
        return True

    def dialogue_ended(self, channel: str) -> None:
        return None

    def gate(
        self,
        source: Source,
        held_for: float = 0.0,
        channel: str = "",
        called_for: str | None = None,
    ) -> Gate:
        return Proceed(0.0)

    async def try_pin(
        self,
        source: Source,
        digits: str,
        called_for: str | None = None,
        *,
        caller_id: str = "",
        channel: str = "",
    ) -> PinOutcome:
        return self.outcome

    def no_pin(self, source: Source, called_for: str | None = None) -> None:
        return None

    def abandon(self, source: Source, called_for: str | None = None) -> None:
        return None

    async def number_dialled(self, source: Source, dialled: str | None) -> TrunkNumber | None:
        return None

    async def enter_room(self, room: str) -> PinOutcome:
        return PinOutcome(Refusal.ROOM_LOCKED)


async def commands_after_the_pin(admission: Admission | PinOutcome) -> list[str]:
    route = entry_route(AdmittingDesk(admission), 3, SOUNDS)
    server = await asyncio.start_server(
        FastAgiServer([route], secret=AGI_SECRET).handle,
        "127.0.0.1",
        0,
    )
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"agi_network: yes\nagi_network_script: " + AGI_SECRET.encode() + b"/entry\n"
        b"agi_channel: PJSIP/anonymous-00000001\n"
        b"agi_callerid: 5550100\nagi_arg_1: 203.0.113.7:5060\nagi_arg_2: anonymous\n\n"
    )
    seen: list[str] = []
    while line := (await asyncio.wait_for(reader.readline(), 5)).decode().strip():
        seen.append(line)
        writer.write(b"200 result=424242\n" if line.startswith("GET DATA") else b"200 result=0\n")
    writer.close()
    server.close()
    await server.wait_closed()
    return seen[seen.index(next(c for c in seen if c.startswith("GET DATA"))) + 1 :]


async def test_an_admitted_caller_costs_one_command_after_the_pin() -> None:
    sent = await commands_after_the_pin(Admission(BIG, Role.PARTICIPANT))
    assert sent == [
        'EXEC MSet "CONFBRIDGE(bridge,template)=iobridge_room,'
        "CONFBRIDGE(bridge,max_members)=900,CONFBRIDGE(user,template)=iobridge_participant,"
        "CONFBRIDGE(user,startmuted)=no,CHANNEL(language)=en,IOBRIDGE_ROLE=participant,"
        'IOBRIDGE_MENU=iobridge_participant_menu,IOBRIDGE_ROOM=ga-national"'
    ]


async def test_a_quiet_admission_asks_confbridge_for_no_join_or_leave_sound() -> None:
    (sent,) = await commands_after_the_pin(Admission(BIG, Role.PARTICIPANT, quiet=True))
    assert "CONFBRIDGE(user,quiet)=yes" in sent


async def test_outside_its_schedule_a_room_says_when_its_next_call_begins_in_its_zone() -> None:
    begins = datetime(2026, 12, 10, 20, 0, tzinfo=ZoneInfo("America/New_York"))
    sent = await commands_after_the_pin(PinOutcome(Refusal.NOT_STARTED, begins))
    assert sent == [
        'STREAM FILE /srv/iobridge/sounds/call-not-started ""',
        f'SAY DATETIME {int(begins.timestamp())} "" "ABd \'digits/at\' IMp" America/New_York',
        'STREAM FILE vm-goodbye ""',
    ]


async def test_a_room_whose_schedule_has_ended_says_no_call_is_scheduled() -> None:
    sent = await commands_after_the_pin(PinOutcome(Refusal.NOT_STARTED, None))
    assert sent == [
        'STREAM FILE /srv/iobridge/sounds/call-not-scheduled ""',
        'STREAM FILE vm-goodbye ""',
    ]


class PublicNumberDesk(AdmittingDesk):
    """A trunk's number straight into a room (no PIN) while the room is between calls."""

    async def number_dialled(self, source: Source, dialled: str | None) -> TrunkNumber | None:
        return TrunkNumber("+15557770001", "ga-national", pin_required=False)

    async def enter_room(self, room: str) -> PinOutcome:
        return self.outcome


async def test_a_public_number_into_a_room_between_calls_says_when_the_next_begins() -> None:
    begins = datetime(2026, 12, 10, 20, 0, tzinfo=ZoneInfo("America/New_York"))
    desk = PublicNumberDesk(PinOutcome(Refusal.NOT_STARTED, begins))
    server = await asyncio.start_server(
        FastAgiServer([entry_route(desk, 3, SOUNDS)], secret=AGI_SECRET).handle, "127.0.0.1", 0
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
    writer.write(
        b"agi_network: yes\nagi_network_script: " + AGI_SECRET.encode() + b"/entry\n"
        b"agi_channel: PJSIP/carrier-00000001\nagi_callerid: +15550100\n"
        b"agi_arg_1: 203.0.113.10:5060\nagi_arg_2: carrier\nagi_arg_3: +15550100\n"
        b"agi_arg_4: +15557770001\n\n"
    )
    seen: list[str] = []
    while line := (await asyncio.wait_for(reader.readline(), 5)).decode().strip():
        seen.append(line)
        writer.write(b"200 result=0\n")
    writer.close()
    server.close()
    await server.wait_closed()
    assert seen == [
        'STREAM FILE /srv/iobridge/sounds/call-not-started ""',
        f'SAY DATETIME {int(begins.timestamp())} "" "ABd \'digits/at\' IMp" America/New_York',
        'STREAM FILE vm-goodbye ""',
    ]


async def test_an_admitted_caller_hears_everything_after_in_the_rooms_language() -> None:
    spanish = replace(BIG, language="es")
    (sent,) = await commands_after_the_pin(Admission(spanish, Role.PARTICIPANT))
    assert "CHANNEL(language)=es," in sent
