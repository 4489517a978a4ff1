"""Dial-out end to end: the session's real Asterisk calls out through a trunk to a simulated
carrier (SIPp as a UAS on a loopback address of this worker's own, tests/integration/sipp/
carrier.xml) whose numbers answer and press 1, are busy, never answer, or answer and press
nothing. What `iobridge dialout ROOM show --json` prints is checked against what the carrier
logged, call by call."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import string
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bridge.actions import ACTIONS, perform
from bridge.asterisk.trunk_config import RELOAD, write_trunks
from bridge.cli import main
from bridge.domain.accounts import Principal
from bridge.domain.rooms import RoomSpec
from bridge.domain.trunks import Outbound, TrunkKind, TrunkSpec
from bridge.errors import DialOutRefused
from bridge.roomsfile import load_rooms_file
from bridge.runtime import Runtime
from bridge.service import BridgeService
from bridge.settings import Settings
from bridge.sipp_streams import dtmf_pcap
from bridge.store.pin_key import install_pin_key
from bridge.store.rooms import sync_rooms
from bridge.store.trunks import sync_trunks
from tests.conftest import E2E_ROOMS
from tests.support import AmiWatcher, eventually, free_udp_and_tcp_port

ROOM = RoomSpec(name="e2e-dialout", title="Dial-out", pin="70707070")
SCENARIO = Path(__file__).parent / "sipp" / "carrier.xml"
# The carrier's address: one per xdist worker (each worker has its own Asterisk).
WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:] or 0)
CARRIER_ADDRESS = f"127.0.0.{70 + WORKER}"
JOINS, BUSY, NEVER, SILENT = "+15558881001", "+15558882001", "+15558883001", "+15558884001"


@dataclasses.dataclass
class Carrier:
    trunk: TrunkSpec
    log: Path

    def lines(self) -> list[str]:
        text = self.log.read_text() if self.log.exists() else ""
        return [line.strip() for line in text.splitlines() if line.startswith("CARRIER")]

    def outcomes(self) -> dict[str, str]:
        return {
            parts[2]: parts[3]
            for parts in (line.split() for line in self.lines())
            if parts[1] == "end"
        }

    def most_at_once(self) -> int:
        up = most = 0
        for line in self.lines():
            up += {"start": 1, "end": -1}.get(line.split()[1], 0)
            most = max(most, up)
        return most


async def _reload(runtime: Runtime) -> None:
    assert runtime.asterisk is not None
    code, output = await runtime.asterisk.cli(RELOAD)
    assert code == 0, output
    await asyncio.sleep(1.0)  # PJSIP applies the reload on its own threads


@pytest.fixture
async def carrier(
    runtime: Runtime, runtime_settings: Settings, service: BridgeService, tmp_path: Path
) -> AsyncIterator[Carrier]:
    port = free_udp_and_tcp_port()
    trunk = TrunkSpec(
        name="e2e-dialer",
        kind=TrunkKind.IP,
        host=CARRIER_ADDRESS,
        port=port,
        match=(f"{CARRIER_ADDRESS}/32",),
        outbound=Outbound(("+1555888",), max_concurrent=3, calls_per_second=20.0,
                          caller_id="+15558880000"),
    )  # fmt: skip
    pcap, _ = await asyncio.to_thread(dtmf_pcap, "1", tmp_path / "pcap")
    scenario = tmp_path / "carrier.xml"
    scenario.write_text(string.Template(SCENARIO.read_text()).safe_substitute(dtmf_pcap=str(pcap)))
    log = tmp_path / "carrier-log.txt"
    sipp = await asyncio.create_subprocess_exec(
        "sipp", "-sf", str(scenario), "-i", CARRIER_ADDRESS, "-p", str(port),
        "-mi", CARRIER_ADDRESS, "-mp", str(free_udp_and_tcp_port()), "-nostdin",
        "-trace_logs", "-log_file", str(log), "-trace_err",
        "-error_file", str(tmp_path / "carrier-errors.txt"),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path,
    )  # fmt: skip
    config = load_rooms_file(E2E_ROOMS)
    config = dataclasses.replace(config, rooms=(*config.rooms, ROOM), trunks=(trunk,))
    async with service.db.sessions.begin() as session:
        await sync_rooms(session, config, pin_key=install_pin_key(runtime_settings))
    write_trunks(runtime_settings, config.trunks)
    await _reload(runtime)
    quick = runtime_settings.model_copy(
        update={"dialout_ring_seconds": 2.5, "dialout_key_seconds": 4.0}
    )
    dialout = service.dialout
    settings_before, dialout.settings = dialout.settings, quick
    try:
        yield Carrier(trunk, log)
    finally:
        dialout.settings = settings_before
        await dialout.cancel(ROOM.name, None)
        if sipp.returncode is None:
            sipp.terminate()
        await sipp.wait()
        async with service.db.sessions.begin() as session:
            await sync_trunks(session, ())
        write_trunks(runtime_settings, ())
        await _reload(runtime)


async def start(service: BridgeService, numbers: list[str], **options: Any) -> Any:
    action = ACTIONS["dialout-start"]
    arguments = action.arguments.model_validate({"numbers": numbers, **options})
    return await perform(service, Principal.admin(), ROOM.name, action, arguments)


async def show(settings: Settings) -> dict[str, Any]:
    env = {
        "IOBRIDGE_STATE_DIR": str(settings.state_dir),
        "IOBRIDGE_HTTP_PORT": str(settings.http_port),
    }
    result = await asyncio.to_thread(
        CliRunner().invoke, main, ["dialout", ROOM.name, "show", "--json"], env=env
    )
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


async def test_the_trunk_never_has_more_calls_up_than_its_cap(
    service: BridgeService, carrier: Carrier
) -> None:
    numbers = [f"+1555888300{n}" for n in range(10)]
    started = time.monotonic()
    await start(service, numbers, confirm=True, retries=0)

    def these() -> list[Any]:
        return [c for c in service.dialout.calls_of(ROOM.name) if c.number in numbers]

    most = 0
    while time.monotonic() - started < 60:
        most = max(most, service.dialout.book.up_on(carrier.trunk.name))
        if all(c.state in FINAL for c in these()):
            break
        await asyncio.sleep(0.05)
    assert {str(c.state) for c in these()} == {"no-answer"}
    assert most == 3
    assert carrier.most_at_once() <= 3
    assert len(carrier.outcomes()) == 10
