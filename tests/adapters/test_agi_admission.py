"""The dialogue as Asterisk sees it on the FastAGI socket: after the PIN, ONE command gives the
dialplan the room and every ConfBridge option (it used to take eight round trips).

Asterisk's side of the socket is played by the test (it answers every command with 200, and
GET DATA with the typed PIN); the desk is a stand-in that admits, because what is under test
is the wire traffic, not the PIN rules (tests/unit/test_entry.py has those, and the
integration tests run the same dialogue against a real Asterisk)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
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

    def asking_pin(self, source: Source) -> None:
        return None

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


async def entry_on_the_wire(desk: AdmittingDesk, answer: Callable[[str], bytes]) -> list[str]:
    """Every command the entry dialogue sends, Asterisk's side answering each with
    ``answer(command)``."""
    route = entry_route(desk, 3, SOUNDS)
    server = await asyncio.start_server(
        FastAgiServer([route], secret=AGI_SECRET).handle, "127.0.0.1", 0
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
    writer.write(
        b"agi_network: yes\nagi_network_script: " + AGI_SECRET.encode() + b"/entry\n"
        b"agi_channel: PJSIP/anonymous-00000001\n"
        b"agi_callerid: 5550100\nagi_arg_1: 203.0.113.7:5060\nagi_arg_2: anonymous\n\n"
    )
    seen: list[str] = []
    while line := (await asyncio.wait_for(reader.readline(), 5)).decode().strip():
        seen.append(line)
        writer.write(answer(line))
    writer.close()
    server.close()
    await server.wait_closed()
    return seen


async def commands_after_the_pin(admission: Admission | PinOutcome) -> list[str]:
    seen = await entry_on_the_wire(
        AdmittingDesk(admission),
        lambda line: b"200 result=424242\n" if line.startswith("GET DATA") else b"200 result=0\n",
    )
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
        "WAIT FOR DIGIT 500",  # the half second before anything plays
        'STREAM FILE /srv/iobridge/sounds/call-not-started ""',
        f'SAY DATETIME {int(begins.timestamp())} "" "ABd \'digits/at\' IMp" America/New_York',
        'STREAM FILE vm-goodbye ""',
    ]


class PinKeepingDesk(AdmittingDesk):
    """Admits, and keeps each PIN typed; ``wait``: what the guard imposes before a prompt."""

    def __init__(self, admission: Admission, wait: float = 0.0) -> None:
        super().__init__(admission)
        self.wait = wait
        self.pins: list[str] = []

    def gate(
        self,
        source: Source,
        held_for: float = 0.0,
        channel: str = "",
        called_for: str | None = None,
    ) -> Gate:
        return Proceed(self.wait)

    async def try_pin(
        self,
        source: Source,
        digits: str,
        called_for: str | None = None,
        *,
        caller_id: str = "",
        channel: str = "",
    ) -> PinOutcome:
        self.pins.append(digits)
        return self.outcome


async def early_dialogue(desk: PinKeepingDesk, answers: list[bytes]) -> list[str]:
    """The dialogue up to its MSet, Asterisk answering ``answers`` in turn, then 200."""
    seen = await entry_on_the_wire(
        desk, lambda line: answers.pop(0) if answers else b"200 result=0\n"
    )
    return [line for line in seen if not line.startswith("EXEC MSet")]


async def test_a_pin_typed_before_the_prompt_is_kept_and_read_on_in_silence() -> None:
    desk = PinKeepingDesk(Admission(BIG, Role.PARTICIPANT))
    seen = await early_dialogue(desk, [b"200 result=52\n", b"200 result=24242\n"])  # 4, then
    assert seen == ["WAIT FOR DIGIT 500", "GET DATA silence/1 3000 11"]
    assert desk.pins == ["424242"]


async def test_a_stray_key_before_the_prompt_with_nothing_after_it_gets_the_prompt() -> None:
    desk = PinKeepingDesk(Admission(BIG, Role.PARTICIPANT))
    answers = [b"200 result=53\n", b"200 result= (timeout)\n", b"200 result=424242\n"]
    seen = await early_dialogue(desk, answers)
    assert seen == [
        "WAIT FOR DIGIT 500",
        "GET DATA silence/1 3000 11",
        "GET DATA conf-getpin 8000 12",
    ]
    assert desk.pins == ["424242"]


async def test_keys_typed_before_a_wait_the_guard_imposed_count_for_nothing() -> None:
    desk = PinKeepingDesk(Admission(BIG, Role.PARTICIPANT), wait=0.2)
    seen = await early_dialogue(desk, [b"200 result=52\n", b"200 result=424242\n"])
    assert seen == ["WAIT FOR DIGIT 500", "GET DATA conf-getpin 8000 12"]
    assert desk.pins == ["424242"]


async def test_an_admitted_caller_hears_everything_after_in_the_rooms_language() -> None:
    spanish = replace(BIG, language="es")
    (sent,) = await commands_after_the_pin(Admission(spanish, Role.PARTICIPANT))
    assert "CHANNEL(language)=es," in sent


class NameTaker:
    """Where the dialogue hands a recorded name and a key pressed during it."""

    folder = Path("/var/names")
    sounds = Path("/var/sounds")

    def __init__(self) -> None:
        self.names: list[tuple[str, str, Path]] = []
        self.keys: list[tuple[str, str, str, str]] = []

    def name_recorded(self, room: str, channel: str, file: Path) -> None:
        self.names.append((room, channel, file))

    def key_before_join(self, room: str, channel: str, caller_id: str, key: str) -> None:
        self.keys.append((room, channel, caller_id, key))


async def name_dialogue(room: RoomSpec, answers: dict[str, bytes]) -> tuple[list[str], NameTaker]:
    names = NameTaker()
    route = entry_route(AdmittingDesk(Admission(room, Role.PARTICIPANT)), 3, names=names)
    server = await asyncio.start_server(
        FastAgiServer([route], secret=AGI_SECRET).handle, "127.0.0.1", 0
    )
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"agi_network: yes\nagi_network_script: " + AGI_SECRET.encode() + b"/entry\n"
        b"agi_channel: PJSIP/anonymous-00000002\nagi_uniqueid: 1765000000.42\n"
        b"agi_callerid: 5550123\nagi_arg_1: 203.0.113.7:5060\nagi_arg_2: anonymous\n\n"
    )
    seen: list[str] = []
    while line := (await asyncio.wait_for(reader.readline(), 5)).decode().strip():
        seen.append(line)
        command = " ".join(line.split()[:2])
        writer.write(answers.get(command, b"200 result=0\n"))
    writer.close()
    server.close()
    await server.wait_closed()
    return seen[seen.index(next(c for c in seen if c.startswith("EXEC MSet"))) + 1 :], names


async def test_a_room_that_asks_names_records_a_few_seconds_ended_by_hash() -> None:
    room = RoomSpec(name="ga-national", title="GA", pin="424242", ask_name=True)
    sent, names = await name_dialogue(
        room,
        {"GET DATA": b"200 result=424242\n", "RECORD FILE": b"200 result=0 (timeout)\n"},
    )
    assert sent == [
        'STREAM FILE /var/sounds/name-prompt ""',
        "RECORD FILE /var/names/ga-national-1765000000.42 wav #* 6000 BEEP s=4",
    ]
    file = Path("/var/names/ga-national-1765000000.42.wav")
    assert names.names == [("ga-national", "PJSIP/anonymous-00000002", file)]
    assert names.keys == []


async def test_star_nine_during_the_name_is_kept_for_after_the_join() -> None:
    room = RoomSpec(name="ga-national", title="GA", pin="424242", announce_names=True)
    sent, names = await name_dialogue(
        room,
        {
            "GET DATA": b"200 result=424242\n",
            "RECORD FILE": b"200 result=42 (dtmf) endpos=8000\n",  # * ended the recording
            "WAIT FOR": b"200 result=57\n",  # then 9
        },
    )
    assert sent[-1] == "WAIT FOR DIGIT 2000"
    assert names.keys == [("ga-national", "PJSIP/anonymous-00000002", "5550123", "hand")]


async def test_a_room_without_names_records_nothing() -> None:
    sent, names = await name_dialogue(BIG, {"GET DATA": b"200 result=424242\n"})
    assert sent == [] and names.names == []
