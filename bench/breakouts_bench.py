"""Breakouts of a big room: P callers (300) split into G groups (30) through the API, as a
script or the panel does it, and brought back. Timed from the POST to Asterisk's own
ConfbridgeJoin of each caller in their group's conference (``ROOM~group-N``), then from the
end's POST to each one's join back in the main room; any caller's Hangup meanwhile is a
dropped call. The issue's bar: every caller moved within 10 s, all back within 10 s, none
dropped."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from bench.analysis import stamp
from bench.api_bench import make_token
from bench.rig import Progress, Rig
from bench.stats import Summary
from bench.storm import Room, drain, fill

WAIT = 60.0  # seconds a phase may take before the bench stops waiting and counts


async def breakouts_step(
    rig: Rig, room: Room, size: int, groups: int, rate: float, progress: Progress
) -> dict[str, Any]:
    """Fill a room of ``size``, split it into ``groups``, bring everyone back, empty it."""
    token = await make_token(rig)
    stay = size / rate + 2 * WAIT + 90
    load, ids, mark = await fill(
        rig, room, size, rate, progress, stay=stay, label=f"breakouts {size}:"
    )
    try:
        assert rig.ami is not None
        channels = {
            str(e["Channel"])
            for e in rig.ami.events[mark:]
            if e.get("Event") == "ConfbridgeJoin" and e.get("CallerIDNum") in ids
        }
        headers = {"Authorization": f"Bearer {token}"}
        url = f"{rig.web_url}/api/v1/rooms/{room.name}/actions/breakout-"
        async with aiohttp.ClientSession(headers=headers) as http:
            progress(f"breakouts: {len(channels)} callers into {groups} groups")
            start = rig.ami.mark()
            moved = await phase(
                rig, http, url + "start", {"groups": groups, "minutes": 30}, channels,
                lambda conference: conference.startswith(f"{room.name}~"), progress,
            )  # fmt: skip
            progress("breakouts: everyone back to the main room")
            back = await phase(
                rig, http, url + "end", {}, channels,
                lambda conference: conference == room.name, progress,
            )  # fmt: skip
            dropped = sum(
                1
                for e in rig.ami.events[start:]
                if e.get("Event") == "Hangup" and e.get("Channel") in channels
            )
        return {
            "size": len(channels),
            "groups": groups,
            "moved_s": moved,
            "back_s": back,
            "dropped": dropped,
        }
    finally:
        await load.hangup_all(rate=100)
        await load.wait(timeout=size / 100 + 60)
        await drain(rig, ids, timeout=90)


async def phase(
    rig: Rig,
    http: aiohttp.ClientSession,
    url: str,
    body: dict[str, Any],
    channels: set[str],
    into: Any,
    progress: Progress,
) -> dict[str, Any]:
    """POST, then wait until every channel joined a conference ``into`` accepts; seconds
    from just before the POST to each join (Asterisk's clock), and how many never did."""
    assert rig.ami is not None
    mark, sent_at = rig.ami.mark(), time.time()
    async with http.post(url, json=body) as response:
        answer = await response.text()
        if response.status != 200:
            raise RuntimeError(f"{url}: {response.status} {answer[:300]}")
    answered = time.time() - sent_at
    seen: dict[str, float] = {}
    where: dict[str, str] = {}  # channel -> the conference it joined
    deadline = time.monotonic() + WAIT
    while len(seen) < len(channels) and time.monotonic() < deadline:
        for e in rig.ami.events[mark:]:
            channel = str(e.get("Channel", ""))
            if (
                e.get("Event") == "ConfbridgeJoin"
                and channel in channels
                and channel not in seen
                and into(str(e.get("Conference", "")))
            ):
                seen[channel] = stamp(e) - sent_at
                where[channel] = str(e["Conference"])
        await asyncio.sleep(0.25)
    # When each left the conference it was in: a slow move is slow before that (the
    # Redirect not yet sent, or its channel not yet out of the bridge) or after it (the
    # group's dialplan, its prompt, ConfBridge's own before the join).
    left: dict[str, float] = {}
    for e in rig.ami.events[mark:]:
        channel = str(e.get("Channel", ""))
        if e.get("Event") == "ConfbridgeLeave" and channel in channels and channel not in left:
            left[channel] = stamp(e) - sent_at
    last = max(seen.values(), default=0.0)
    progress(f"  {len(seen)}/{len(channels)} joined; the last after {last:.1f} s")
    slowest = sorted(seen, key=seen.__getitem__, reverse=True)[:3]
    return {
        "answered_s": round(answered, 2),
        "joined": Summary.of(list(seen.values())).as_dict(),
        "left": Summary.of(list(left.values())).as_dict(),
        "last_s": round(max(seen.values(), default=float("nan")), 2),
        "missing": len(channels) - len(seen),
        "slowest": [
            {
                "channel": c,
                "conference": where[c],
                "left_s": round(left.get(c, float("nan")), 2),
                "joined_s": round(seen[c], 2),
            }
            for c in slowest
        ],
    }
