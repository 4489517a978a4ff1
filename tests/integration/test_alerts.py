"""An alert end to end: the session's real Asterisk rings three numbers of the simulated
carrier (tests/integration/carrier.py) with a one-second message and the offer of a room.
One presses 1 and joins the room, one hangs up after the message, one is busy; what
`iobridge alert show ID --json` prints is checked against what the carrier saw. An
Originate that Asterisk answers too late (it was stopped) still rings and joins; one that
Asterisk never read (it died) fails once its ring time is over; a call ringing when its
Asterisk died fails once the link is back."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import wave
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bridge.asterisk.dialout import OFFERED_TITLE
from bridge.cli import main
from bridge.domain.dialout import CallState
from bridge.roomsfile import load_rooms_file
from bridge.runtime import Runtime
from bridge.service import BridgeService, dialout as dialout_module
from bridge.settings import Settings
from bridge.store.pin_key import install_pin_key
from bridge.store.rooms import sync_rooms
from tests.conftest import E2E_ROOMS
from tests.integration.carrier import (
    BUSY,
    HANGS_UP,
    JOINS,
    NEVER,
    ROOM,
    Carrier,
    carrier as carrier,  # the fixture
)
from tests.support import eventually
from tests.unit.test_alerts import wav

EXPECTED = {JOINS: "joined", HANGS_UP: "heard", BUSY: "busy"}


@pytest.fixture
def message(tmp_path: Path) -> Path:
    """An alert's one-second message, as a moderator uploads it."""
    file = tmp_path / "message.wav"
    file.write_bytes(wav(seconds=1.0))
    return file


async def iobridge(settings: Settings, *args: str) -> dict[str, Any]:
    env = {
        "IOBRIDGE_STATE_DIR": str(settings.state_dir),
        "IOBRIDGE_HTTP_PORT": str(settings.http_port),
    }
    result = await asyncio.to_thread(CliRunner().invoke, main, list(args), env=env)
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout.splitlines()[-1]))


async def test_an_alert_joins_who_pressed_1_and_show_says_what_the_carrier_saw(
    service: BridgeService, runtime_settings: Settings, carrier: Carrier, message: Path
) -> None:
    sent = await iobridge(
        runtime_settings, "alert", f"{JOINS}, Ana", HANGS_UP, BUSY, "--message", str(message),
        "--room", ROOM.name, "--json",
    )  # fmt: skip
    assert sent["asked_by"] == "admin" and sent["room"] == ROOM.name
    assert (runtime_settings.recordings_dir / "alerts" / f"{sent['id']}.wav").exists()

    async def results() -> dict[str, str]:
        shown = await iobridge(runtime_settings, "alert", "show", sent["id"], "--json")
        return {n["number"]: n["result"] for n in shown["numbers"]}

    async def settled() -> bool:
        over = not any(c.up and c.state != "joined" for c in service.dialout.book.calls.values())
        return over and await results() == EXPECTED

    try:
        await eventually(settled, timeout=30, every=0.5)
    except TimeoutError:
        pytest.fail(f"{await results()}; calls {service.dialout.book.calls}; {carrier.lines()}")
    shown = await iobridge(runtime_settings, "alert", "show", sent["id"], "--json")
    assert shown["numbers"][0]["name"] == "Ana" and shown["seconds"] == 1.0
    seen = carrier.outcomes()
    assert seen[BUSY] == "busy" and seen[HANGS_UP] == "hung-up"
    assert any(line.startswith(f"CARRIER pressed {JOINS}") for line in carrier.lines())
    room = service.switchboard.room(ROOM.name)
    assert room is not None
    [joined] = service.dialout.dialled_in(ROOM.name)
    assert joined in room.participants
    # The room's own calls out never list an alert's numbers.
    assert not [c for c in service.dialout.calls_of(ROOM.name) if c.alert == sent["id"]]
    listed = await iobridge(runtime_settings, "alerts", "list", "--json")
    assert listed["alerts"][0]["id"] == sent["id"]
    # The busy number waits a minute for its one retry (the default): one line says so.
    summary = "2 of 3 numbers reached in 3 calls, 1 retry pending"
    assert (listed["alerts"][0]["summary"], listed["alerts"][0]["retries_pending"]) == (summary, 1)
    env = {"IOBRIDGE_STATE_DIR": str(runtime_settings.state_dir),
           "IOBRIDGE_HTTP_PORT": str(runtime_settings.http_port)}  # fmt: skip
    text = await asyncio.to_thread(CliRunner().invoke, main, ["alerts", "list"], env=env)
    assert text.exit_code == 0 and f"({summary})" in text.stdout.splitlines()[0], text.output


async def test_a_cancelled_alert_hangs_up_the_ringing_and_calls_no_more(
    service: BridgeService, runtime_settings: Settings, carrier: Carrier, message: Path
) -> None:
    never = [NEVER[:-3] + f"{n:03d}" for n in range(2, 5)]  # the carrier never answers these
    sent = await iobridge(runtime_settings, "alert", *never, "--message", str(message), "--json")

    async def ringing() -> bool:
        shown = await iobridge(runtime_settings, "alert", "show", sent["id"], "--json")
        return any(n["result"] == "ringing" for n in shown["numbers"])

    await eventually(ringing, timeout=15, every=0.3)
    cancelled = await iobridge(runtime_settings, "alert", "cancel", sent["id"], "--json")
    assert {n["result"] for n in cancelled["numbers"]} == {"cancelled"}
    await eventually(lambda: not [c for c in service.dialout.book.calls.values() if c.up])
    assert all(not c.up for c in service.dialout.book.calls_of_alert(sent["id"]))


async def test_an_originate_answered_too_late_still_rings_and_its_callee_joins(
    runtime: Runtime,
    service: BridgeService,
    runtime_settings: Settings,
    carrier: Carrier,
    message: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Asterisk stalls just as the dialler sends its Originate (SIGSTOP: a real stall, as
    on an overloaded box), so the answer comes after the service stopped waiting, or the
    link is dropped as hung. Asterisk rings the number all the same once it runs again:
    the call must stay ringing and its callee join, not be marked failed at once (and the
    phone that did ring rung again at the retry)."""
    pid = runtime.asterisk.pid if runtime.asterisk else None
    assert pid is not None
    # A stall longer than an action's wait, shorter than the link's ping timeout (5 s): the
    # link stays, so Asterisk reads the Originate when it runs again (were the link dropped,
    # the action unread would be lost with it, and the call rightly failed: the test below).
    monkeypatch.setattr(service.ami, "action_timeout", 2.0)
    os.kill(pid, signal.SIGSTOP)
    try:
        sent = await iobridge(
            runtime_settings, "alert", JOINS, "--message", str(message), "--room", ROOM.name,
            "--retries", "0", "--json",
        )  # fmt: skip
        calls = lambda: service.dialout.book.calls_of_alert(sent["id"])  # noqa: E731
        await eventually(lambda: [c.state for c in calls()] == [CallState.RINGING], timeout=5)
        await asyncio.sleep(service.ami.action_timeout + 0.5)
    finally:
        os.kill(pid, signal.SIGCONT)
    try:
        await eventually(lambda: [c.state for c in calls()] == [CallState.JOINED], timeout=30)
    except TimeoutError:
        pytest.fail(f"{calls()}; {carrier.lines()}")
    shown = await iobridge(runtime_settings, "alert", "show", sent["id"], "--json")
    assert [(n["result"], n["attempts"]) for n in shown["numbers"]] == [("joined", 1)]
    assert [line for line in carrier.lines() if line.startswith(f"CARRIER pressed {JOINS}")]
    assert "dialout.originate_unconfirmed" in caplog.text  # the late answer happened


async def test_an_originate_lost_with_its_asterisk_is_failed_once_its_ring_time_is_over(
    runtime: Runtime,
    service: BridgeService,
    runtime_settings: Settings,
    carrier: Carrier,
    message: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The other end of an unanswered Originate: Asterisk dies with the action unread, so
    nothing ever rings. The call is not left ringing for ever: once its ring time (2 s
    here) and the grace after it are over, it is failed, and its retry may come."""
    ring = 2.0
    short = runtime_settings.model_copy(update={"dialout_ring_seconds": ring})
    monkeypatch.setattr(service.dialout, "settings", short)
    pbx = runtime.asterisk
    assert pbx is not None and pbx.pid is not None
    os.kill(pbx.pid, signal.SIGSTOP)
    try:
        sent = await iobridge(
            runtime_settings, "alert", JOINS, "--message", str(message), "--retries", "0",
            "--json",
        )  # fmt: skip
        calls = lambda: service.dialout.book.calls_of_alert(sent["id"])  # noqa: E731
        await eventually(lambda: [c.state for c in calls()] == [CallState.RINGING], timeout=5)
    finally:
        await pbx.kill()  # a stopped process dies of SIGKILL all the same
    killed = asyncio.get_running_loop().time()
    await link_back(service)
    await asyncio.sleep(1.0)
    if asyncio.get_running_loop().time() - killed < ring + dialout_module.UNCONFIRMED_GRACE_SECONDS:
        assert [c.state for c in calls()] == [CallState.RINGING]  # it may ring, for all we know
    await eventually(lambda: [c.state for c in calls()] == [CallState.FAILED],
                     timeout=ring + dialout_module.UNCONFIRMED_GRACE_SECONDS + 5)  # fmt: skip
    shown = await iobridge(runtime_settings, "alert", "show", sent["id"], "--json")
    assert [(n["result"], n["attempts"]) for n in shown["numbers"]] == [("failed", 1)]
    assert not [line for line in carrier.lines() if f" {JOINS} " in f" {line} "]  # never rang


async def test_a_ringing_call_whose_asterisk_died_is_over_once_the_link_is_back(
    runtime: Runtime,
    service: BridgeService,
    runtime_settings: Settings,
    carrier: Carrier,
    message: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Asterisk dies while a number rings: the callee's Hangup and the OriginateResponse
    never come. Once the link is back, the resync finds the callee's channel gone, and the
    call is failed (and may be retried), not left ringing for good, holding its trunk's
    slot and keeping the number from being called again."""
    sent = await iobridge(
        runtime_settings, "alert", NEVER, "--message", str(message), "--retries", "0", "--json"
    )
    calls = lambda: service.dialout.book.calls_of_alert(sent["id"])  # noqa: E731
    await eventually(lambda: [c.state for c in calls()] == [CallState.RINGING], timeout=15)
    await asyncio.sleep(1.0)  # the callee's channel is up and seen (its Newchannel)
    pbx = runtime.asterisk
    assert pbx is not None
    await pbx.kill()
    await link_back(service)
    await eventually(lambda: [c.state for c in calls()] == [CallState.FAILED], timeout=15)
    assert not [c for c in calls() if c.up]
    shown = await iobridge(runtime_settings, "alert", "show", sent["id"], "--json")
    assert [(n["result"], n["attempts"]) for n in shown["numbers"]] == [("failed", 1)]
    assert "dialout.lost" in caplog.text


async def link_back(service: BridgeService) -> None:
    """Once the service has seen its Asterisk go (killed: the link's loss may take a ping's
    timeout to be seen, under load) and come back, resynced."""
    with contextlib.suppress(TimeoutError):  # seen gone already, and back: nothing to wait
        await service.roster.wait_until(lambda: not service.switchboard.pbx_connected, 20)
    await service.roster.wait_until(lambda: service.switchboard.pbx_connected, timeout=45)


def ends_of(carrier: Carrier, number: str) -> list[str]:
    """What the carrier saw of each call to ``number``, in order."""
    return [line.split()[3] for line in carrier.lines() if line.split()[1:3] == ["end", number]]


async def test_a_busy_number_is_tried_again_after_retry_after_and_cancel_stops_the_next_try(
    service: BridgeService, runtime_settings: Settings, carrier: Carrier, message: Path
) -> None:
    busy_too = BUSY[:-3] + "002"
    retried = await iobridge(
        runtime_settings, "alert", BUSY, "--message", str(message), "--retries", "1",
        "--retry-after", "1", "--json",
    )  # fmt: skip
    waiting = await iobridge(
        runtime_settings, "alert", busy_too, "--message", str(message), "--retry-after", "600",
        "--json",
    )  # fmt: skip

    async def numbers(alert: dict[str, Any]) -> list[dict[str, Any]]:
        shown = await iobridge(runtime_settings, "alert", "show", alert["id"], "--json")
        return list(shown["numbers"])

    async def tried_twice() -> bool:
        (number,) = await numbers(retried)
        return number["attempts"] == 2 and len(ends_of(carrier, BUSY)) == 2

    try:
        await eventually(tried_twice, timeout=20, every=0.3)
        await eventually(lambda: ends_of(carrier, busy_too) == ["busy"], timeout=10, every=0.2)
    except TimeoutError:
        pytest.fail(f"{service.dialout.book.calls}; {carrier.lines()}")
    (number,) = await numbers(retried)
    assert number["result"] == "busy"  # its one retry spent: not called a third time
    assert ends_of(carrier, BUSY) == ["busy", "busy"]
    # The other waits ten minutes for its retry: a cancel means it is never called again.
    (pending,) = await numbers(waiting)
    assert (pending["result"], pending["attempts"]) == ("busy", 1)
    cancelled = await iobridge(runtime_settings, "alert", "cancel", waiting["id"], "--json")
    assert [(n["result"], n["attempts"]) for n in cancelled["numbers"]] == [("cancelled", 1)]
    await asyncio.sleep(1.5)
    assert ends_of(carrier, busy_too) == ["busy"] and len(ends_of(carrier, BUSY)) == 2


SPANISH = dataclasses.replace(ROOM, name="e2e-alerta", title="Asamblea", pin="70707171",
                              language="es")  # fmt: skip


async def test_the_alert_s_offer_names_the_room_by_its_title_in_the_room_s_language(
    service: BridgeService, runtime_settings: Settings, carrier: Carrier, message: Path
) -> None:
    config = load_rooms_file(E2E_ROOMS)
    config = dataclasses.replace(
        config, rooms=(*config.rooms, ROOM, SPANISH), trunks=(carrier.trunk,)
    )
    async with service.db.sessions.begin() as session:
        await sync_rooms(session, config, pin_key=install_pin_key(runtime_settings))
    sent = await iobridge(
        runtime_settings, "alert", JOINS, "--message", str(message), "--room", SPANISH.name,
        "--retries", "0", "--json",
    )  # fmt: skip
    try:
        await eventually(lambda: len(service.dialout.dialled_in(SPANISH.name)) == 1, timeout=30)
    except TimeoutError:
        pytest.fail(f"{service.dialout.book.calls_of_alert(sent['id'])}; {carrier.lines()}")
    (channel,) = service.dialout.dialled_in(SPANISH.name)
    bridge = service.pbx_directory.bridge_for(SPANISH.name)
    asked = {"Action": "Getvar", "Channel": channel}
    offered = await bridge.ami.send({**asked, "Variable": OFFERED_TITLE})
    language = await bridge.ami.send({**asked, "Variable": "CHANNEL(language)"})
    # Asterisk's own word: the prompt the dialogue played between "oprima 1 para unirse a"
    # and "ahora, u oprima 2 ...", spoken in Spanish from the room's title.
    prompt = Path(str(offered[0].get("Value", "")))
    assert prompt == runtime_settings.recordings_dir / "titles" / SPANISH.name
    assert language[0].get("Value") == "es"
    with wave.open(str(prompt.with_suffix(".wav")), "rb") as sound:
        assert (sound.getframerate(), sound.getnchannels()) == (8000, 1)
    made_from = prompt.with_suffix(".stamp").read_text().strip()
    assert made_from == f"speech es {SPANISH.title}"
