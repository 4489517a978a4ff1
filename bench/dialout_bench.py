"""Dial-out against a simulated carrier: SIPp as a UAS on 127.0.0.69 (the tests' scenario,
tests/integration/sipp/carrier.xml) behind the trunk ``bench-carrier`` (prefix +1555888,
``calls_per_second: 5``, ``max_concurrent: 60``), in a rooms file of the step's own (its
room ``bench-dialout``, hosted by the bench's first moderator) applied with ``iobridge
rooms sync`` as an admin does. It runs last: the sync retires the other steps' rooms.

Two measurements, through the API with a host's token:

- **pace**: 200 busy numbers (the carrier answers 486 at once, so no call holds a slot long)
  started by one ``dialout-start``; each start is the callee channel's ``Newchannel`` by
  Asterisk's clock. Reported: the overall rate and the most starts in any one second.
- **ringing**: 50 numbers that ring and are never answered; once all 50 ring, the service's
  CPU (% of one core) is sampled for ``RING_SAMPLE`` seconds; then they are cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import string
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from bench.analysis import stamp
from bench.api_bench import MODERATOR, make_token
from bench.rig import PROJECT_ROOT, Progress, Rig, Sampler
from bench.storm import Room
from bridge.sipp_streams import dtmf_pcap
from tests.support import free_udp_and_tcp_port

CARRIER = "127.0.0.69"
SCENARIO = PROJECT_ROOT / "tests" / "integration" / "sipp" / "carrier.xml"
CPS = 5.0
RING_SAMPLE = 10.0
ROOM = Room("bench-dialout", "24682468")
# A rooms file with trunks needs PINs of 8 digits or more (docs/admin.md, "Guessing a PIN"):
# the step syncs a file of its own, its room and the bench's first moderator, its host.
ROOMS = """
rooms:
  - name: {room}
    title: Benchmark dial-out
    pin: "{pin}"
    max_participants: 100
moderators:
  - username: {moderator}
    password_hash: "{password_hash}"
    rooms: ["{room}"]
trunks:
  - name: bench-carrier
    kind: ip
    host: {host}
    port: {port}
    match: ["{host}/32"]
    outbound:
      allowed_prefixes: ["+1555888"]
      max_concurrent: 60
      calls_per_second: {cps}
"""


@contextlib.asynccontextmanager
async def carrier(rig: Rig, port: int) -> AsyncIterator[None]:
    work = rig.options.workdir / "carrier"
    work.mkdir(exist_ok=True)
    pcap, _ = await asyncio.to_thread(dtmf_pcap, "1", work / "pcap")
    scenario = work / "carrier.xml"
    text = string.Template(SCENARIO.read_text()).safe_substitute(dtmf_pcap=str(pcap))
    scenario.write_text(text)
    sipp = await asyncio.create_subprocess_exec(
        "sipp", "-sf", str(scenario), "-i", CARRIER, "-p", str(port), "-mi", CARRIER,
        "-mp", str(free_udp_and_tcp_port()), "-nostdin", "-max_socket", "5000",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, cwd=work,
    )  # fmt: skip
    try:
        yield
    finally:
        if sipp.returncode is None:
            sipp.terminate()
        await sipp.wait()


async def sync_with_trunk(rig: Rig, port: int) -> None:
    """The bench's rooms file plus the carrier's trunk, applied by ``iobridge rooms sync``."""
    rooms = rig.options.workdir / "rooms-with-trunk.yaml"
    bench = yaml.safe_load(rig.options.rooms_file.read_text())
    first = next(m for m in bench["moderators"] if m["username"] == MODERATOR)
    rooms.write_text(
        ROOMS.format(
            room=ROOM.name, pin=ROOM.pin, moderator=MODERATOR,
            password_hash=first["password_hash"], host=CARRIER, port=port, cps=CPS,
        )
    )  # fmt: skip
    s = rig.settings
    env = {
        **os.environ,
        "IOBRIDGE_STATE_DIR": str(s.state_dir),
        "IOBRIDGE_SIP_PORT": str(s.sip_port),
        "IOBRIDGE_AMI_PORT": str(s.ami_port),
        "IOBRIDGE_AGI_PORT": str(s.agi_port),
        "IOBRIDGE_HTTP_PORT": str(s.http_port),
    }
    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "iobridge"), "rooms", "sync", str(rooms),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await proc.communicate()
    if proc.returncode != 0 or b"reloaded PJSIP" not in out:
        raise RuntimeError(f"rooms sync with the trunk failed: {out.decode()[-400:]}")
    await asyncio.sleep(1.0)  # PJSIP applies the reload on its own threads


async def dialout_step(rig: Rig, numbers: int, ringing: int, say: Progress) -> dict[str, Any]:
    room = ROOM
    port = free_udp_and_tcp_port()
    token = await make_token(rig)
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{rig.web_url}/api/v1/rooms/{room.name}/actions"
    assert rig.ami is not None
    async with carrier(rig, port), aiohttp.ClientSession(headers=headers) as http:
        # The carrier first: the reload qualifies its contact at once, and an unanswered
        # qualify marks it unreachable (nothing is dialled through it for a minute).
        await sync_with_trunk(rig, port)

        async def post(action: str, body: dict[str, Any]) -> None:
            async with http.post(f"{url}/{action}", json=body) as answer:
                if answer.status != 200:
                    raise RuntimeError(f"{action}: {answer.status} {await answer.text()}")

        async def calls() -> list[dict[str, Any]]:
            async with http.get(f"{rig.web_url}/api/v1/rooms/{room.name}") as answer:
                return list((await answer.json())["calls_out"])

        # ---- pace: 200 busy numbers ----
        busy = [f"+15558882{n:03d}" for n in range(numbers)]
        say(f"dialout: {numbers} numbers at calls_per_second {CPS:g}")
        mark = rig.ami.mark()
        with Sampler(rig.pids) as dialling:
            await post("dialout-start", {"numbers": busy, "confirm": True, "retries": 0})
            deadline = time.monotonic() + numbers / CPS + 60
            while time.monotonic() < deadline:
                done = [c for c in await calls() if c["number"] in set(busy)]
                if len(done) == numbers and all(
                    c["state"] not in ("queued", "ringing") for c in done
                ):
                    break
                await asyncio.sleep(0.5)
        starts = sorted(
            stamp(e) for e in rig.ami.events[mark:]
            if e.get("Event") == "Newchannel" and str(e.get("Uniqueid", "")).startswith("dial-")
        )  # fmt: skip
        if len(starts) < 2:
            raise RuntimeError(f"only {len(starts)} calls started")
        span = starts[-1] - starts[0]
        most_in_a_second = max(
            sum(1 for t in starts[i:] if t - first < 1.0) for i, first in enumerate(starts)
        )
        states: dict[str, int] = {}
        for call in await calls():
            if call["number"] in set(busy):
                states[call["state"]] = states.get(call["state"], 0) + 1
        pace = {
            "started": len(starts),
            "seconds": round(span, 2),
            "rate_per_s": round((len(starts) - 1) / span, 2) if span else None,
            "most_in_one_second": most_in_a_second,
            "shortest_gap_ms": round(min(b - a for a, b in itertools.pairwise(starts)) * 1000, 1),
            "states": states,
            "service_while_dialling": dialling.figures().get("service", {}),
        }
        busy_cpu = pace["service_while_dialling"].get("cpu_mean_pct") or 0.0
        say(
            f"  {pace['started']} started in {pace['seconds']} s: {pace['rate_per_s']}/s, "
            f"at most {most_in_a_second} in any second, shortest gap "
            f"{pace['shortest_gap_ms']} ms; {states}; service CPU mean {busy_cpu:.1f}%"
        )

        # ---- 50 ringing ----
        never = [f"+15558883{n:03d}" for n in range(ringing)]
        say(f"dialout: {ringing} numbers ringing, the service's CPU")
        await post("dialout-start", {"numbers": never, "confirm": True, "retries": 0})
        deadline = time.monotonic() + ringing / CPS + 20
        while time.monotonic() < deadline:
            up = [c for c in await calls() if c["number"] in set(never) and c["state"] == "ringing"]
            if len(up) == ringing:
                break
            await asyncio.sleep(0.2)
        else:
            raise RuntimeError(f"only {len(up)} of {ringing} numbers rang at once")
        with Sampler(rig.pids) as sampler:
            await asyncio.sleep(RING_SAMPLE)
        await post("dialout-cancel", {"number": None})
        cpu = sampler.figures().get("service", {})
        say(f"  service CPU while {ringing} ring: mean {cpu.get('cpu_mean_pct') or 0:.1f}% "
            f"peak {cpu.get('cpu_peak_pct') or 0:.1f}% of a core")  # fmt: skip
        return {"pace": pace, "ringing": {"calls": ringing, "seconds": RING_SAMPLE, **cpu}}
