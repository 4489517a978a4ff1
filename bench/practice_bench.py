"""A practice room of 60 simulated callers (step ``practice`` of ``python -m bench.run``):
what it costs the machine. The bar (issue 22): less than one core.

The room ``bench-practice`` (``practice: true`` in bench/rooms.yaml) gets the shipped
``general-assembly`` scenario through the API (``practice``, a host's token), sped up so
that its parts act within the sample: 60 SIPp callers, each from its own loopback address,
dialling the shared number, typing the PIN, raising hands, talking (real RTP speech).
Once every caller is on the line, the CPU of everything the practice runs is sampled for
``SAMPLE`` seconds: the service, Asterisk, and every SIPp process (the service's children),
summed per sample as cores. Then ``practice-stop``, and the time until no SIPp is left.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from bench.api_bench import make_token
from bench.rig import Progress, Rig

ROOM = "bench-practice"
CALLERS = 60
SPEED = 4.0  # general-assembly's 20 minutes in 5: hands and talk within the sample
SAMPLE = 30.0  # seconds of sampling once everyone is in
EVERY = 1.0


def _tree(pid: int) -> list[Any]:
    import psutil  # the `bench` extra

    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _cpu_seconds(procs: list[Any]) -> float:
    total = 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except Exception:  # gone between the listing and the reading
            continue
    return total


async def practice_step(rig: Rig, say: Progress) -> dict[str, Any]:
    token = await make_token(rig)
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{rig.web_url}/api/v1/rooms/{ROOM}"
    pids = rig.pids
    async with aiohttp.ClientSession(headers=headers) as http:

        async def post(action: str, body: dict[str, Any]) -> dict[str, Any]:
            async with http.post(f"{url}/actions/{action}", json=body) as answer:
                if answer.status != 200:
                    raise RuntimeError(f"{action}: {answer.status} {await answer.text()}")
                return dict(await answer.json())

        async def state() -> dict[str, Any]:
            async with http.get(url) as answer:
                return dict(await answer.json())

        say(f"practice: {CALLERS} simulated callers, general-assembly at speed {SPEED:g}")
        started = time.monotonic()
        await post("practice", {"scenario": "general-assembly", "callers": CALLERS, "speed": SPEED})
        while time.monotonic() - started < 120:
            room = await state()
            if room["practice"]["on_the_line"] >= CALLERS and len(room["participants"]) >= CALLERS:
                break
            await asyncio.sleep(1.0)
        else:
            raise RuntimeError(f"practice: not all {CALLERS} in after 120 s: {room['practice']}")
        all_in = time.monotonic() - started
        say(f"  all {CALLERS} in the room after {all_in:.1f} s; sampling {SAMPLE:g} s")
        samples: list[float] = []
        procs = [p for pid in pids.values() for p in _tree(pid)]
        before, then = _cpu_seconds(procs), time.monotonic()
        while time.monotonic() - started - all_in < SAMPLE:
            await asyncio.sleep(EVERY)
            procs = [p for pid in pids.values() for p in _tree(pid)]
            used, now = _cpu_seconds(procs), time.monotonic()
            samples.append((used - before) / (now - then))
            before, then = used, now
        room = await state()
        talking = sum(p["talking"] or p["talk_time"] > 0 for p in room["participants"])
        hands = len(room["stack"]["queue"])
        sipps = sum(1 for p in procs if p.name() == "sipp")
        stop_at = time.monotonic()
        await post("practice-stop", {})
        for _ in range(150):  # 30 s at most
            if not any(p.name() == "sipp" for pid in pids.values() for p in _tree(pid)):
                break
            await asyncio.sleep(0.2)
        stopped = time.monotonic() - stop_at
    samples.sort()
    result = {
        "callers": CALLERS,
        "speed": SPEED,
        "all_in_s": round(all_in, 1),
        "sipp_processes": sipps,
        "cores_mean": round(sum(samples) / len(samples), 3),
        "cores_p90": round(samples[int(0.9 * (len(samples) - 1))], 3),
        "cores_max": round(samples[-1], 3),
        "talking_or_talked": talking,
        "hands_waiting": hands,
        "stop_s": round(stopped, 1),
    }
    say(
        f"  {result['cores_mean']:.2f} cores mean, {result['cores_p90']:.2f} p90 "
        f"({sipps} SIPp, service and Asterisk); stopped in {stopped:.1f} s"
    )
    return result
