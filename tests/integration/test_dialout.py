"""Dial-out end to end: the session's real Asterisk calls out through a trunk to a simulated
carrier (SIPp as a UAS on a loopback address of this worker's own, tests/integration/sipp/
carrier.xml) whose numbers answer and press 1, are busy, never answer, or answer and press
nothing. What `iobridge dialout ROOM show --json` prints is checked against what the carrier
logged, call by call."""

from __future__ import annotations

import asyncio
import json
import time
import wave
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bridge.actions import ACTIONS, perform
from bridge.asterisk.dialout import OFFERED_TITLE
from bridge.cli import main
from bridge.domain.accounts import Principal
from bridge.errors import DialOutRefused
from bridge.service import BridgeService
from bridge.settings import Settings
from bridge.store.dialouts import channels_called_in
from bridge.store.reports import list_calls, load_call
from tests.integration.carrier import (
    BRIEF,
    BUSY,
    JOINS,
    NEVER,
    ROOM,
    SILENT,
    Carrier,
    carrier as carrier,  # the fixture
)
from tests.support import AmiWatcher, eventually


async def start(service: BridgeService, numbers: list[str], **options: Any) -> Any:
    action = ACTIONS["dialout-start"]
    arguments = action.arguments.model_validate({"numbers": numbers, **options})
    return await perform(service, Principal.admin(), ROOM.name, action, arguments)


async def iobridge(settings: Settings, *args: str) -> Any:
    env = {
        "IOBRIDGE_STATE_DIR": str(settings.state_dir),
        "IOBRIDGE_HTTP_PORT": str(settings.http_port),
    }
    return await asyncio.to_thread(CliRunner().invoke, main, list(args), env=env)


async def show(settings: Settings) -> dict[str, Any]:
    result = await iobridge(settings, "dialout", ROOM.name, "show", "--json")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip(), (result.output, result.exception, result.stdout_bytes)
    return dict(json.loads(result.stdout.splitlines()[-1]))


FINAL = {"joined", "declined", "busy", "no-answer", "failed", "cancelled"}


async def test_a_number_outside_the_allowed_prefixes_refuses_the_list_before_any_is_dialled(
    service: BridgeService, carrier: Carrier, ami: AmiWatcher
) -> None:
    mark = ami.mark()
    with pytest.raises(DialOutRefused, match=r"\+442071234567: outside the allowed prefixes"):
        await start(service, [JOINS, "+442071234567"], retries=0)
    await asyncio.sleep(1.0)
    assert service.dialout.calls_of(ROOM.name) == []
    assert carrier.lines() == []
    assert not ami.saw(lambda e: str(e.get("Uniqueid", "")).startswith("dial-"), since=mark)


async def test_the_command_refuses_bad_input_in_one_line_and_dials_nothing(
    service: BridgeService, runtime_settings: Settings, carrier: Carrier
) -> None:
    cases = {
        ("+15558881001", "--trunk", "e2e-dialr"): "--trunk e2e-dialr: no such trunk "
        "(did you mean e2e-dialer?); trunks: e2e-dialer",
        (
            "+15558881001",
            "5558881002",
        ): "line 2: '5558881002': a number needs its country code, like +15557770000",
        ("+33612345678",): "+33612345678: outside the allowed prefixes (+1555888)",
    }
    for numbers, message in cases.items():
        result = await iobridge(runtime_settings, "dialout", ROOM.name, "start", *numbers)
        assert result.exit_code == 1, result.output
        assert result.output.strip().splitlines() == [f"iobridge: {message}"]
    assert service.dialout.calls_of(ROOM.name) == [] and carrier.lines() == []


async def test_confirm_joins_only_the_callee_who_pressed_1_and_show_says_what_the_carrier_saw(
    service: BridgeService, runtime_settings: Settings, carrier: Carrier
) -> None:
    await start(service, [f"{JOINS}, Ana", BUSY, NEVER, SILENT], confirm=True, retries=0)

    async def settled() -> bool:
        calls = (await show(runtime_settings))["calls"]
        return len(calls) == 4 and all(c["state"] in FINAL for c in calls)

    try:
        await eventually(settled, timeout=40, every=0.5)
    except TimeoutError:
        pytest.fail(f"calls {service.dialout.calls_of(ROOM.name)}; carrier {carrier.lines()}")
    shown = await show(runtime_settings)
    states = {c["number"]: c["state"] for c in shown["calls"]}
    assert shown["room"] == ROOM.name
    assert states == {JOINS: "joined", BUSY: "busy", NEVER: "no-answer", SILENT: "no-answer"}
    assert next(c for c in shown["calls"] if c["number"] == JOINS)["name"] == "Ana"
    assert all(c["attempts"] == 1 for c in shown["calls"])
    seen = carrier.outcomes()
    assert seen[BUSY] == "busy" and seen[NEVER] == "no-answer" and seen[SILENT] == "answered"
    assert any(line.startswith(f"CARRIER pressed {JOINS}") for line in carrier.lines())
    room = service.switchboard.room(ROOM.name)
    assert room is not None
    dialled = service.dialout.dialled_in(ROOM.name)
    assert len(dialled) == 1 and next(iter(dialled)) in room.participants
    assert all(p.channel in dialled for p in room.participants.values())
    await service.history.flushed()
    await eventually(lambda: _written(service, next(iter(dialled))), timeout=10)
    async with service.db.sessions() as session:
        (newest,) = await list_calls(session, room=ROOM.name, limit=1)
        history = await load_call(session, newest.call.id)
    assert history is not None
    assert [leg.dialed_out for leg in history.legs] == [True]  # the report marks them


async def _written(service: BridgeService, channel: str) -> bool:
    async with service.db.sessions() as session:
        return bool(await channels_called_in(session, ROOM.name, [channel]))


async def test_the_trunk_never_has_more_calls_up_than_its_cap_under_50_numbers(
    service: BridgeService, carrier: Carrier
) -> None:
    # Each rings 0.6 s and is busy: 50 short calls through a trunk of 3 at once.
    numbers = [f"{BRIEF[:-3]}{n:03d}" for n in range(100, 150)]
    started = time.monotonic()
    await start(service, numbers, confirm=True, retries=0)

    def these() -> list[Any]:
        return [c for c in service.dialout.calls_of(ROOM.name) if c.number in numbers]

    most = 0
    while time.monotonic() - started < 90:
        most = max(most, service.dialout.book.up_on(carrier.trunk.name))
        if all(c.state in FINAL for c in these()):
            break
        await asyncio.sleep(0.02)
    assert {str(c.state) for c in these()} == {"busy"}
    assert all(c.attempts == 1 for c in these())
    assert most == carrier.trunk.outbound.max_concurrent == 3
    assert carrier.most_at_once() <= 3  # the carrier's own count, from its log
    seen = carrier.outcomes()
    assert sorted(n for n in seen if n in numbers) == sorted(numbers)  # all 50 attempted
    assert {seen[n] for n in numbers} == {"busy"}


def ends_of(carrier: Carrier, number: str) -> list[str]:
    """What the carrier saw of each call to ``number``, in order."""
    return [line.split()[3] for line in carrier.lines() if line.split()[1:3] == ["end", number]]


async def test_a_busy_number_is_tried_again_after_retry_after_and_not_after_the_default_yet(
    service: BridgeService, runtime_settings: Settings, carrier: Carrier
) -> None:
    busy_too = BUSY[:-3] + "002"
    asked = await iobridge(
        runtime_settings, "dialout", ROOM.name, "start", BUSY, "--retries", "1",
        "--retry-after", "1",
    )  # fmt: skip
    assert asked.exit_code == 0, asked.output
    await start(service, [busy_too], retries=1)  # the bridge's own delay: 60 s here
    try:
        await eventually(lambda: ends_of(carrier, BUSY) == ["busy", "busy"], timeout=20)
    except TimeoutError:
        pytest.fail(f"{service.dialout.calls_of(ROOM.name)}; {carrier.lines()}")
    calls = {c["number"]: c for c in (await show(runtime_settings))["calls"]}
    assert (calls[BUSY]["state"], calls[BUSY]["attempts"]) == ("busy", 2)
    assert (calls[busy_too]["state"], calls[busy_too]["attempts"]) == ("busy", 1)
    assert ends_of(carrier, busy_too) == ["busy"]
    refused = await iobridge(
        runtime_settings, "dialout", ROOM.name, "start", BUSY, "--retry-after", "0"
    )
    assert refused.exit_code != 0 and "--retry-after" in refused.output
    with pytest.raises(ValueError, match="retry_after"):
        await start(service, [BUSY], retry_after=0.5)


async def test_the_callee_is_offered_the_rooms_title_spoken_and_joins_with_1(
    service: BridgeService, runtime_settings: Settings, carrier: Carrier
) -> None:
    await start(service, [JOINS], confirm=True, retries=0)
    await eventually(lambda: len(service.dialout.dialled_in(ROOM.name)) == 1, timeout=30)
    (channel,) = service.dialout.dialled_in(ROOM.name)
    bridge = service.pbx_directory.bridge_for(ROOM.name)
    asked = {"Action": "Getvar", "Channel": channel}
    offered = await bridge.ami.send({**asked, "Variable": OFFERED_TITLE})
    language = await bridge.ami.send({**asked, "Variable": "CHANNEL(language)"})
    # Asterisk's own word: the prompt the dialogue played between "you are being called
    # into" and "press 1 to join", made from the room's title when its calls were queued.
    prompt = Path(str(offered[0].get("Value", "")))
    assert prompt == runtime_settings.recordings_dir / "titles" / ROOM.name
    assert language[0].get("Value") == ROOM.language
    with wave.open(str(prompt.with_suffix(".wav")), "rb") as sound:
        assert (sound.getframerate(), sound.getnchannels(), sound.getsampwidth()) == (8000, 1, 2)
        assert sound.getnframes() > 4000  # half a second of speech, at least
    made_from = prompt.with_suffix(".stamp").read_text().strip()
    assert made_from == f"speech {ROOM.language} {ROOM.title}"
