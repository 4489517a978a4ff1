"""``announce_names`` in a big room (step ``names`` of ``python -m bench.run``, issue 21):
what announcing every caller's name costs a join storm of N (400) callers.

Two storms of N SIPp callers at ``rate`` a second through the shared number, each into a
room of its own (bench/rooms.yaml) that asks every caller's name at entry: first
``bench-names-asked`` (``ask_name``: the name is kept for moderators, never played: *off*),
then ``bench-names-announced`` (``announce_names``: the whole room hears "NAME has joined",
one name at a time: *on*). Both pay the same recording at entry (the prompt, the tone, at
most 6 s of name: the SIPp callers say nothing), so the difference between them is the
announcing alone. A room holder joins first (no "only person" prompt).

For each: join latency (the caller's ``#`` to ConfbridgeJoin, by Asterisk's clock: the
name's recording is in it, in both), the CPU of Asterisk and the service (% of one core,
mean and peak) while the callers arrive and for ``AFTER`` seconds once they are in (when
the announcer is still working through the names), and how many names the room heard
(the announcer's Local channels joining the conference) by then: the backlog is what is
left. Then the ratios on/off.

Run it last: the leaves of the announced room queue as many "has left" as there were
joins, which the service plays on until it stops with the rig.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.analysis import join_latencies
from bench.rig import Progress, Rig, Sampler
from bench.stats import Summary, fmt
from bench.storm import Room, drain, fill, joined

ASKED = Room("bench-names-asked", "86420")
ANNOUNCED = Room("bench-names-announced", "75319")
AFTER = 30.0  # seconds sampled once every caller is in


def names_heard(rig: Rig, room: Room, since: int) -> int:
    """Announcements that reached the room: the announcer's Local channel joining it."""
    assert rig.ami is not None
    return sum(
        1
        for e in rig.ami.events[since:]
        if e.get("Event") == "ConfbridgeJoin"
        and e.get("Conference") == room.name
        and e.get("Channel", "").startswith("Local/")
    )


def names_said(rig: Rig, room: Room, since: int) -> tuple[int, int]:
    """Callers' joins and leaves the room was told of: (by name, in counts), from the
    announcer's dialplan (``[iobridge-announce-play]``: name-joined, name-left, and the
    numbers name-count says)."""
    assert rig.ami is not None
    by_name = counted = 0
    for e in rig.ami.events[since:]:
        if e.get("Event") != "Newexten" or not str(e.get("Channel", "")).startswith(
            f"Local/{room.name}@"
        ):
            continue
        if e.get("Exten") in ("name-joined", "name-left") and e.get("Priority") == "1":
            by_name += 1
        elif e.get("Exten") == "name-count" and e.get("Application") == "SayNumber":
            counted += int(str(e.get("AppData", "0")) or 0)
    return by_name, counted


async def named_storm(
    rig: Rig, room: Room, n: int, rate: float, progress: Progress
) -> dict[str, Any]:
    assert rig.ami is not None
    label = f"names {room.name} N={n}:"
    holder, held, _ = await fill(rig, room, 1, 1.0, progress, label=f"{label} holder")
    wrong_before = await rig.wrong_pins()
    start_mark = rig.ami.mark()
    with Sampler(rig.pids) as arriving:
        started = time.monotonic()
        load, ids, mark = await fill(rig, room, n, rate, progress, label=label)
        filled = time.monotonic() - started
    heard_at_fill = names_heard(rig, room, start_mark)
    with Sampler(rig.pids) as settled:
        await asyncio.sleep(AFTER)
    heard = names_heard(rig, room, start_mark)
    by_name, counted = names_said(rig, room, start_mark)
    wrong_after = await rig.wrong_pins()
    found = join_latencies(rig.ami.events[mark:], ids)
    progress(f"{label} {len(found.joined)}/{n} joined, {heard} names heard; hanging up")
    await load.hangup_all(rate=100)
    await load.wait(timeout=n / 100 + 60)
    await holder.hangup_all()
    await holder.wait(timeout=30)
    await drain(rig, ids | held, timeout=90)
    return {
        "room": room.name,
        "n": n,
        "joined": len(found.joined),
        "latency_ms": Summary.of(found.millis).as_dict(),
        "fill_s": round(filled, 2),
        # Keys SIPp sent before the PIN prompt listened (a busy box), not the names.
        "wrong_pins": wrong_after - wrong_before if min(wrong_before, wrong_after) >= 0 else None,
        "names_heard_by_fill": heard_at_fill,
        "names_heard": heard,  # announcements: a name, or a count of names
        "names_by_name": by_name,
        "names_counted": counted,
        # The room holder's name too; a room that only asks has nothing waiting.
        "names_waiting": max(0, len(found.joined) + joined(rig, held, 0) - by_name - counted)
        if room == ANNOUNCED
        else 0,
        "arriving": arriving.figures(),
        "after": settled.figures(),
    }


async def names_step(rig: Rig, n: int, rate: float, progress: Progress) -> dict[str, Any]:
    off = await named_storm(rig, ASKED, n, rate, progress)
    on = await named_storm(rig, ANNOUNCED, n, rate, progress)
    return {"n": n, "rate": rate, "after_s": AFTER, "off": off, "on": on}


def _ratio(on: float | None, off: float | None) -> str:
    return f"x{on / off:.2f}" if on is not None and off else "-"


def names_rows(step: dict[str, Any]) -> list[str]:
    """The two storms side by side, and on/off."""
    off, on = step["off"], step["on"]
    rows = [
        f"announce_names: {step['n']} callers at {step['rate']:g}/s into a room that asks "
        f"names (off: ask_name) or announces them (on); CPU % of one core, mean/peak",
    ]
    for what, run in (("off", off), ("on", on)):
        lat = run["latency_ms"]
        cpu = [
            f"{phase} {proc} {fmt(run[phase][proc]['cpu_mean_pct'])}/"
            f"{fmt(run[phase][proc]['cpu_peak_pct'])}"
            for phase in ("arriving", "after")
            for proc in sorted(run[phase])
        ]
        rows.append(
            f"  {what:<3} {run['joined']}/{run['n']} joined; join p50 {fmt(lat['p50'])} "
            f"p99 {fmt(lat['p99'])} ms; names heard {run['names_heard_by_fill']} by the "
            f"last join, {run['names_heard']} {step['after_s']:g} s later, telling of "
            f"{run.get('names_by_name', '-')} by name and {run.get('names_counted', '-')} in "
            f"counts ({run['names_waiting']} waiting); wrong PINs {run.get('wrong_pins', '-')}; "
            + "; ".join(cpu)
        )
    ratios = [
        f"join p50 {_ratio(on['latency_ms']['p50'], off['latency_ms']['p50'])}",
        f"p99 {_ratio(on['latency_ms']['p99'], off['latency_ms']['p99'])}",
    ]
    for phase in ("arriving", "after"):
        for proc in sorted(on[phase]):
            mean_on, mean_off = on[phase][proc]["cpu_mean_pct"], off[phase][proc]["cpu_mean_pct"]
            ratios.append(f"{phase} {proc} CPU {_ratio(mean_on, mean_off)}")
    rows.append("  on/off: " + ", ".join(ratios))
    return rows
