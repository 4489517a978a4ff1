"""The shared number's choice of language before the PIN (``IOBRIDGE_ENTRY_LANGUAGES``),
against a scripted Asterisk on the FastAGI socket."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bridge.asterisk.fastagi import FastAgiServer
from bridge.asterisk.pin_dialogue import LanguageChoice, entry_route
from bridge.domain.entry import Admission
from bridge.domain.events import Role
from bridge.domain.rooms import RoomSpec
from tests.adapters.test_agi_admission import AdmittingDesk
from tests.adapters.test_agi_server import AGI_SECRET

ROOM = RoomSpec(name="ga-national", title="GA", pin="424242")
SOUNDS = Path("/sounds")


async def dialogue(choice: LanguageChoice, press: dict[str, str]) -> list[str]:
    """Every command the dialogue sends until the PIN prompt; ``press``: the key the
    caller presses during a command that starts with that text."""
    route = entry_route(AdmittingDesk(Admission(ROOM, Role.PARTICIPANT)), 3, choice=choice)
    server = await asyncio.start_server(
        FastAgiServer([route], secret=AGI_SECRET).handle, "127.0.0.1", 0
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
        if line.startswith("GET DATA"):
            break
        key = next((k for start, k in press.items() if line.startswith(start)), None)
        writer.write(f"200 result={ord(key) if key else 0}\n".encode())
    writer.close()
    server.close()
    await server.wait_closed()
    return seen


async def test_key_3_picks_the_third_language_and_the_pin_prompt_follows_in_it() -> None:
    choice = LanguageChoice(("en", "es", "fr"), SOUNDS)
    seen = await dialogue(choice, {"STREAM FILE /sounds/fr/language-choice": "3"})
    assert seen == [
        "WAIT FOR DIGIT 500",  # the silence before the offers
        'STREAM FILE /sounds/en/language-choice "123"',
        'STREAM FILE en/digits/1 "123"',
        'STREAM FILE /sounds/es/language-choice "123"',
        'STREAM FILE es/digits/2 "123"',
        'STREAM FILE /sounds/fr/language-choice "123"',
        'EXEC MSet "CHANNEL(language)=fr"',
        "GET DATA conf-getpin 8000 12",
    ]


async def test_no_key_keeps_the_first_language() -> None:
    seen = await dialogue(LanguageChoice(("es", "en"), SOUNDS), {})
    assert seen[-3:] == ["WAIT FOR DIGIT 3000", 'EXEC MSet "CHANNEL(language)=es"', seen[-1]]
    assert seen[-1].startswith("GET DATA conf-getpin")


async def test_a_key_pressed_after_the_offers_counts_and_one_language_asks_nothing() -> None:
    seen = await dialogue(LanguageChoice(("en", "fr"), SOUNDS), {"WAIT FOR DIGIT": "2"})
    assert 'EXEC MSet "CHANNEL(language)=fr"' in seen
    assert await dialogue(LanguageChoice(("fr",), SOUNDS), {}) == [
        "WAIT FOR DIGIT 500",
        'EXEC MSet "CHANNEL(language)=fr"',
        "GET DATA conf-getpin 8000 12",
    ]
    assert await dialogue(LanguageChoice((), SOUNDS), {}) == [
        "WAIT FOR DIGIT 500",
        "GET DATA conf-getpin 8000 12",
    ]


async def test_a_key_typed_before_the_offers_chooses_nothing_and_starts_no_pin() -> None:
    seen = await dialogue(LanguageChoice(("en", "fr"), SOUNDS), {"WAIT FOR DIGIT 500": "2"})
    assert 'EXEC MSet "CHANNEL(language)=en"' in seen
    assert seen[-1] == "GET DATA conf-getpin 8000 12"
