"""A simulated carrier for dial-out: SIPp as a UAS on a loopback address of this xdist
worker's own (each worker has its own Asterisk), behind the trunk ``e2e-dialer`` (prefix
+1555888, at most 3 calls at once), answering as tests/integration/sipp/carrier.xml says by
each number's digits. The ``carrier`` fixture also adds the room ``e2e-dialout`` and makes
the service ring for 5 s and wait 6 s for a key, so that tests stay short. (At 2.5 s, in a
run with both cores busy, the starved carrier's answer came after Asterisk had given up:
Asterisk hung up the answered call at once, and the attempt counted as failed.)"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import string
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bridge.asterisk.trunk_config import RELOAD, write_trunks
from bridge.domain.rooms import RoomSpec
from bridge.domain.trunks import Outbound, TrunkKind, TrunkSpec
from bridge.errors import BridgeError
from bridge.roomsfile import load_rooms_file
from bridge.runtime import Runtime
from bridge.service import BridgeService
from bridge.settings import Settings
from bridge.sipp_streams import dtmf_pcap
from bridge.store.pin_key import install_pin_key
from bridge.store.rooms import sync_rooms
from bridge.store.trunks import sync_trunks
from tests.conftest import E2E_ROOMS
from tests.support import eventually, free_udp_and_tcp_port

ROOM = RoomSpec(name="e2e-dialout", title="Dial-out", pin="70707070")
SCENARIO = Path(__file__).parent / "sipp" / "carrier.xml"
WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:] or 0)
CARRIER_ADDRESS = f"127.0.0.{70 + WORKER}"  # fresh_loopback() never gets here
# What each number does, by its digits (carrier.xml): joins (answers, presses 1), busy
# (486), never answers, answers and presses nothing, answers and hangs up after 2.5 s, rings
# 0.6 s and is busy.
JOINS, BUSY, NEVER, SILENT = "+15558881001", "+15558882001", "+15558883001", "+15558884001"
HANGS_UP, BRIEF = "+15558885001", "+15558886001"


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
        update={"dialout_ring_seconds": 5.0, "dialout_key_seconds": 6.0}
    )
    dialout = service.dialout
    settings_before, dialout.settings = dialout.settings, quick
    try:
        yield Carrier(trunk, log)
    finally:
        dialout.settings = settings_before
        for room in {c.room for c in dialout.book.calls.values()}:
            await dialout.cancel(room, None)
        for alert in {c.alert for c in dialout.book.calls.values() if c.alert}:
            await dialout.cancel_alert(alert)  # a room's cancel leaves an alert's calls be
        # Callees who joined leave as a moderator would make them: the next file's rooms sync
        # may drop this room, and other tests count who is in theirs.
        for call in [c for c in dialout.book.calls.values() if c.up and c.channel]:
            with contextlib.suppress(BridgeError):
                await service.moderation.kick(call.room, call.channel)
        await eventually(lambda: not any(c.up for c in dialout.book.calls.values()), timeout=15)
        if sipp.returncode is None:
            sipp.terminate()
        await sipp.wait()
        async with service.db.sessions.begin() as session:
            await sync_trunks(session, ())
        write_trunks(runtime_settings, ())
        await _reload(runtime)
