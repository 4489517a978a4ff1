"""The steps on one room of P participants (400 in the full run): steady state with a rolling
10% talking, moderator actions, the service killed and resynced, then everyone hanging up at
once (mass leave) while a new caller dials in."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.analysis import events_per_second, first_event, join_latencies, stamp
from bench.panel import PanelTarget, WebsocketPanels
from bench.rig import Progress, QueueWatch, Rig, Sampler
from bench.sipp_load import SippLoad, Talk
from bench.stats import Summary
from bench.storm import Room, drain, fill


async def steady_state(rig: Rig, seconds: float, progress: Progress) -> dict[str, Any]:
    assert rig.ami is not None
    progress(f"steady state: measuring {seconds:.0f} s")
    start, mark = time.time(), rig.ami.mark()
    with Sampler(rig.pids) as sampler:
        await asyncio.sleep(seconds)
    end = time.time()
    events = rig.ami.events[mark:]
    talking = [e for e in events if e.get("Event") == "ConfbridgeTalking"]
    return {
        "seconds": seconds,
        "processes": sampler.figures(),
        "ami_events_per_s": events_per_second(events, start, end),
        "talk_spurts": sum(1 for e in talking if e.get("TalkingStatus") == "on"),
    }


async def moderator_actions(
    rig: Rig, room: Room, actions: int, panel: PanelTarget | None, clients: int, progress: Progress
) -> dict[str, Any]:
    assert rig.ami is not None
    channels = [p["channel"] for p in await rig.participants(room.name)]
    panels = None
    if panel is not None:
        panels = WebsocketPanels(panel, clients)
        await panels.connect()
    http, echo, to_panels, lost = [], [], [], 0
    muted: dict[str, bool] = {}
    try:
        for k in range(actions):
            channel = channels[k % len(channels)]
            mute = not muted.get(channel, False)
            mark, sent = rig.ami.mark(), time.time()
            status = await rig.act(room.name, "mute" if mute else "unmute", channel=channel)
            http.append(1000 * (time.time() - sent))
            name = "ConfbridgeMute" if mute else "ConfbridgeUnmute"

            def echoed(event: dict[str, Any], name: str = name, channel: str = channel) -> bool:
                return event.get("Event") == name and event.get("Channel") == channel

            try:
                seen = await rig.ami.wait_for(echoed, since=mark, timeout=5)
                echo.append(1000 * (stamp(seen) - sent))
            except TimeoutError:
                lost += 1
            if panels is not None:
                heard = await panels.echoes(channel, mute, sent)
                to_panels += [1000 * h for h in heard if h is not None]
                lost += sum(1 for h in heard if h is None)
            muted[channel] = mute if status == 200 else muted.get(channel, False)
            if k % 100 == 99:
                progress(f"moderator actions: {k + 1}/{actions}")
    finally:
        if panels is not None:
            await panels.close()
    result: dict[str, Any] = {
        "actions": actions,
        "participants": len(channels),
        "http_ms": Summary.of(http).as_dict(),
        "action_to_ami_echo_ms": Summary.of(echo).as_dict(),
        "lost": lost,
        "pending_panel": panels is None,
    }
    if panels is not None:
        result["action_to_every_panel_ms"] = Summary.of(to_panels).as_dict()
        result["panels"] = clients
    return result


async def resync(rig: Rig, room: Room, progress: Progress) -> dict[str, Any]:
    """Kill the service with the room full; time from its new AMI login (Asterisk's own
    SuccessfulAuth event) until its roster lists exactly the channels Asterisk lists."""
    assert rig.ami is not None
    progress("resync: killing the service (SIGKILL), starting it again")
    truth = (await rig.asterisk_rooms()).get(room.name, set())
    await rig.kill_service()
    mark = rig.ami.mark()
    spawned = await rig.start_service()  # returns once the service says "connected"
    seen: set[str] = set()
    while time.time() - spawned < 60:
        people = await rig.participants(room.name)
        if (seen := {p["channel"] for p in people}) == truth:
            break
        await asyncio.sleep(0.01)
    matched = time.time()
    login = first_event(
        rig.ami.events[mark:], "SuccessfulAuth", AccountID=rig.settings.ami_username
    )
    return {
        "participants": len(truth),
        "matched": seen == truth,
        "login_to_match_s": round(matched - stamp(login), 3) if login else None,
        "spawn_to_match_s": round(matched - spawned, 3),
    }


async def mass_leave(
    rig: Rig, room: Room, load: SippLoad, ids: frozenset[str], progress: Progress
) -> dict[str, Any]:
    assert rig.ami is not None
    progress(f"mass leave: {len(ids)} hang up at once, then a new caller dials in")
    with QueueWatch(rig) as queues, Sampler(rig.pids) as sampler:
        mark = rig.ami.mark()
        t0 = await load.hangup_all()
        probe, probe_ids, _ = await fill(rig, room, 1, 1.0, progress, label="mass leave probe:")
        events = rig.ami.events[mark:]
        probe_id = next(iter(probe_ids))
        new = first_event(events, "Newchannel", CallerIDNum=probe_id)
        join = join_latencies(events, probe_ids, occupied={room.name: len(ids)})
        await load.wait(timeout=120)
        drained, ghosts = await drain(rig, ids, timeout=120)
    roster = await rig.participants(room.name)
    await probe.hangup_all()
    await probe.wait(timeout=30)
    door = None
    invite = probe.invites_sent().get(1)
    if new is not None and invite is not None and probe_id in join.joined:
        # Asterisk took the INVITE this long after SIPp sent it (a dropped INVITE waits for
        # SIPp's retransmission), and the join took this long after the caller's '#': the
        # caller's own typing is not counted.
        late = join.millis[0] / 1000 if join.millis else 0.0
        door = round(stamp(new) - invite + late, 3)
    return {
        "leavers": len(ids),
        "probe_invite_after_hangups_s": round(invite - t0, 3) if invite else None,
        "new_caller_in_s": door,
        "new_caller_joined": probe_id in join.joined,
        "drain_s": round(drained, 2),
        "ghosts": ghosts,
        "roster_left_after": sum(1 for p in roster if p.get("caller_id") in ids),
        "deepest_queues": queues.top(),
        "processes": sampler.figures(),
    }


async def population(
    rig: Rig,
    room: Room,
    size: int,
    rate: float,
    steady_s: float,
    actions: int,
    panel: PanelTarget | None,
    panels: int,
    progress: Progress,
) -> dict[str, Any]:
    # Callers talk 10% of the time: 1/10 of a period that the arrivals span.
    period = max(size / rate, 10.0)
    talk = Talk(period / 10, period)
    stay = size / rate + steady_s + actions * 0.05 + 120
    load, ids, _ = await fill(
        rig, room, size, rate, progress, talk=talk, stay=stay, label=f"population {size}:"
    )
    out: dict[str, Any] = {"size": size, "talk": {"seconds": talk.seconds, "period": period}}
    out["steady"] = await steady_state(rig, steady_s, progress)
    out["actions"] = await moderator_actions(rig, room, actions, panel, panels, progress)
    out["resync"] = await resync(rig, room, progress)
    out["mass_leave"] = await mass_leave(rig, room, load, ids, progress)
    return out
