"""Join storm: N callers arriving at a steady rate into one room, through the bridge (the
shared number, FastAGI) or through the bare dialplan, in the same Asterisk."""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass
from typing import Any

from bench.analysis import entry_segments, join_latencies
from bench.bare_dialplan import BARE_EXTENSION
from bench.rig import Progress, QueueWatch, Rig, Sampler
from bench.sipp_load import LoadPlan, SippLoad, Talk
from bench.stats import Summary

PATHS = ("iobridge", "bare")
_runs = itertools.count(1)


@dataclass(frozen=True)
class Room:
    name: str
    pin: str


def caller_ids(prefix: str, n: int) -> tuple[str, ...]:
    run = next(_runs)
    return tuple(f"{prefix}{run}x{i:05d}" for i in range(n))


def joined(rig: Rig, ids: frozenset[str], since: int) -> int:
    assert rig.ami is not None
    return sum(
        1
        for e in rig.ami.events[since:]
        if e.get("Event") == "ConfbridgeJoin" and e.get("CallerIDNum") in ids
    )


async def fill(
    rig: Rig,
    room: Room,
    n: int,
    rate: float,
    progress: Progress,
    *,
    path: str = "iobridge",
    talk: Talk | None = None,
    stay: float = 110.0,
    label: str = "",
) -> tuple[SippLoad, frozenset[str], int]:
    """Start N callers and wait until they joined (or the storm's time is up)."""
    assert rig.ami is not None
    s = rig.settings
    ids = caller_ids("b" if path == "bare" else "i", n)
    extension = BARE_EXTENSION if path == "bare" else s.entry_extension
    plan = LoadPlan(ids, f"{room.pin}#", rate, extension, stay=stay, talk=talk)
    load = SippLoad(plan, rig.options.workdir / "sipp", ("127.0.0.1", s.sip_port))
    mark = rig.ami.mark()
    wanted = frozenset(ids)
    await load.start()
    deadline = time.monotonic() + n / rate + plan.key_delay + 25
    last = -1
    while (count := joined(rig, wanted, mark)) < n and time.monotonic() < deadline:
        if count != last:
            progress(f"{label} {count}/{n} in the room")
            last = count
        if load.proc is not None and load.proc.returncode is not None:
            break
        await asyncio.sleep(0.5)
    return load, wanted, mark


async def drain(rig: Rig, ids: frozenset[str], timeout: float) -> tuple[float, int]:
    """Seconds until Asterisk holds no channel of these callers; how many it still holds."""
    started = time.monotonic()
    left: list[Any] = []
    while time.monotonic() - started < timeout:
        left = [c for c in await rig.channels() if c.get("CallerIDNum") in ids]
        if not left:
            break
        await asyncio.sleep(0.5)
    return time.monotonic() - started, len(left)


async def join_storm(
    rig: Rig, room: Room, path: str, n: int, rate: float, progress: Progress
) -> dict[str, Any]:
    label = f"storm {path} N={n}:"
    assert rig.ami is not None
    # The first caller into an empty room hears "you are the only person" (3.2 s) before
    # joining, and callers typing their PIN meanwhile wait for it: a room holder goes first.
    holder, held, _ = await fill(rig, room, 1, 1.0, progress, path=path, label=f"{label} holder")
    if not joined(rig, held, 0):
        progress(f"{label} the room holder did not get in; measuring anyway")
    with Sampler(rig.pids) as sampler, QueueWatch(rig) as queues:
        started = time.monotonic()
        load, ids, mark = await fill(rig, room, n, rate, progress, path=path, label=label)
        filled = time.monotonic() - started
        await asyncio.sleep(1.0)  # the last joins' events
    found = join_latencies(rig.ami.events[mark:], ids)
    segments = entry_segments(rig.ami.events[mark:], ids) if path == "iobridge" else {}
    progress(f"{label} hanging up ({len(found.joined)}/{n} joined)")
    await load.hangup_all(rate=100)
    result = await load.wait(timeout=n / 100 + 60)
    await holder.hangup_all()
    await holder.wait(timeout=30)
    drained, ghosts = await drain(rig, ids | held, timeout=90)
    return {
        "path": path,
        "n": n,
        "rate": rate,
        "joined": len(found.joined),
        "failed": n - len(found.joined),
        "latency_ms": Summary.of(found.millis).as_dict(),
        "samples_ms": [round(m, 2) for m in found.millis],
        "segments_ms": {name: Summary.of(ms).as_dict() for name, ms in segments.items()},
        "left_out": {"first_in_room": found.first_in_room, "without_key": found.without_key},
        "answered_by_asterisk": result.answered,
        "unanswered": result.unanswered,
        "fill_s": round(filled, 2),
        "teardown_drain_s": round(drained, 2),
        "ghosts_after_teardown": ghosts,
        "processes": sampler.figures(),
        "deepest_queues": queues.top(),
        "sipp_errors": result.errors[-500:],
    }
