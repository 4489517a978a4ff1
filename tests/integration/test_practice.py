"""A practice room end to end: `iobridge practice` fills a real room with 30 simulated SIP
callers (SIPp, each from its own loopback address, typing the room's PIN); they show up on
the roster, raise hands into the real stack, talk (Asterisk's talk detector hears them),
drop and call back on time; `iobridge practice ROOM stop` leaves no caller and no SIPp
process behind."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bridge.cli import main
from bridge.domain.practice import JOIN_SETTLE
from bridge.service import BridgeService
from bridge.settings import Settings

ROOM = "e2e-practice"
CALLERS = 30
SCENARIO = """\
name: e2e
callers: 30
minutes: 2
join_over: 10
parts:
  - name: talkers
    callers: 2
    talks: true
  - name: hands
    callers: 8
    presses: [{at: 5, keys: "*9"}]
  - name: drop and call back
    callers: 3
    leaves_at: 30
    calls_back_after: 4
"""

pytestmark = pytest.mark.long


async def cli(settings: Settings, *args: str, code: int = 0) -> Any:
    env = {
        "IOBRIDGE_STATE_DIR": str(settings.state_dir),
        "IOBRIDGE_HTTP_PORT": str(settings.http_port),
    }
    result = await asyncio.to_thread(CliRunner().invoke, main, list(args), env=env)
    assert result.exit_code == code, result.output
    return result.output


def simulated(service: BridgeService) -> list[Any]:
    live = service.switchboard.room(ROOM)
    people = live.participants.values() if live else ()
    return [p for p in people if p.caller_id.startswith("practice")]


def sipp_processes(folder: Path) -> list[int]:
    """SIPp processes whose working folder is inside ``folder`` (the practice's own)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if cwd.startswith(str(folder)):
            found.append(int(pid))
    return found


@pytest.fixture
async def practice_stopped(service: BridgeService) -> AsyncIterator[None]:
    """The room's practice is stopped after the test, whatever became of it: a practice
    left running by a failed test would hold its callers into the next test's."""
    yield
    run = service.practice.status(ROOM)
    if run is not None and run.running:
        await service.practice.stop(ROOM)


@pytest.mark.usefixtures("practice_stopped")
async def test_thirty_simulated_callers_join_raise_hands_talk_drop_back_and_stop_clean(
    service: BridgeService,
    runtime_settings: Settings,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="bridge.service.practice")
    scenario = tmp_path / "e2e.yaml"
    scenario.write_text(SCENARIO)
    started = time.monotonic()
    out = await cli(runtime_settings, "practice", ROOM, "--scenario", str(scenario), "--json")
    practice = json.loads(out)
    assert practice["running"] and practice["callers"] == CALLERS
    assert practice["parts"] == {"talkers": 2, "hands": 8, "drop and call back": 3, "listeners": 17}

    # Everyone in: within the arrival window and the PIN dialogue (10 + 30 s) on a quiet box,
    # printed, timed by no test.
    await service.roster.wait_until(lambda: len(simulated(service)) == CALLERS, timeout=60)
    print(f"all {CALLERS} in {time.monotonic() - started:.1f} s after the practice was asked for")
    ids_before = {p.caller_id: p.channel for p in simulated(service)}
    # Hands raised (the scenario's "*9") reach the real stack; talkers are heard.
    await service.roster.wait_until(
        lambda: len((service.speakers.snapshot(ROOM) or {"queue": []})["queue"]) == 8,
        timeout=JOIN_SETTLE + 15,
    )
    await service.roster.wait_until(
        lambda: sum(p.talking or p.talk_time > 0 for p in simulated(service)) >= 2, timeout=20
    )
    # The three who drop at 30 s leave and are back on the line 4 s later.
    await service.roster.wait_until(lambda: len(simulated(service)) <= CALLERS - 3, timeout=40)
    await service.roster.wait_until(lambda: len(simulated(service)) == CALLERS, timeout=40)
    back = {p.caller_id: p.channel for p in simulated(service)}
    assert sum(back[c] != ids_before[c] for c in back) == 3  # new calls, same callers
    # Every call typed its PIN when the prompt played to it, none on a timer (a timer's keys
    # can reach Asterisk before the dialogue listens, and are lost).
    asked = [r for r in caplog.records if r.getMessage().startswith("practice.asked")]
    assert len(asked) == CALLERS + 3

    status = json.loads(await cli(runtime_settings, "practice", ROOM, "status", "--json"))
    assert status["placed"] == CALLERS + 3 and status["failed"] == 0

    await cli(runtime_settings, "practice", ROOM, "stop")
    await service.roster.wait_until(lambda: not simulated(service), timeout=20)
    assert sipp_processes(runtime_settings.state_dir / "practice") == []
    stopped = json.loads(await cli(runtime_settings, "practice", ROOM, "status", "--json"))
    assert not stopped["running"] and stopped["on_the_line"] == 0


async def test_only_a_practice_room_takes_simulated_callers(
    service: BridgeService, runtime_settings: Settings
) -> None:
    out = await cli(runtime_settings, "practice", "e2e-poll", code=1)
    assert "not a practice room" in out


async def test_a_bad_scenario_file_is_refused_with_its_line_and_nothing_starts(
    service: BridgeService, runtime_settings: Settings, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(SCENARIO.replace('keys: "*9"', 'keys: "*X"'))
    out = await cli(runtime_settings, "practice", ROOM, "--scenario", str(bad), code=1)
    assert f"{bad}:11: parts[1].presses[0].keys: keys are 0-9" in out
    assert service.practice.status(ROOM) is None or not service.practice.status(ROOM).running
