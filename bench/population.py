"""The steps on one room of P participants (400 in the full run): steady state with a rolling
10% talking, moderator actions timed to every open panel, the service killed and resynced,
then everyone hanging up at once (mass leave) while a new caller dials in."""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from bench.analysis import events_per_second, first_event, join_latencies, stamp
from bench.panel import (
    Panels,
    Shows,
    shows_muted,
    shows_no_speaker,
    shows_queued,
    shows_speaker,
)
from bench.rig import Progress, QueueWatch, Rig, Sampler
from bench.sipp_load import SippLoad, Talk
from bench.stats import Summary
from bench.storm import Room, drain, fill
from bridge.roomsfile import load_rooms_file


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


# One action in CALL_EVERY calls on the next speaker; the others mute or unmute someone.
CALL_EVERY = 5
KINDS = ("mute/unmute", "call on next", "add to stack", "end turn")


@dataclass
class Tally:
    """The figures of one kind of action, in ms from just before its POST."""

    posts: list[float] = field(default_factory=list)  # until the POST's response
    each_panel: list[float] = field(default_factory=list)  # until one panel showed it
    all_panels: list[float] = field(default_factory=list)  # until the last one did
    asterisk: list[float] = field(default_factory=list)  # until Asterisk's own AMI event
    failed: int = 0  # POSTs answered other than 200 (nothing is waited for then)
    refusals: list[str] = field(default_factory=list)  # the first few of those answers
    lost_in_panels: int = 0  # a panel that did not show it within 5 s
    lost_in_asterisk: int = 0  # no AMI event from Asterisk within 5 s

    def figures(self) -> dict[str, Any]:
        return {
            "actions": len(self.posts),
            "failed": self.failed,
            "refusals": self.refusals,
            "post_answered_ms": Summary.of(self.posts).as_dict(),
            "echo_each_panel_ms": Summary.of(self.each_panel).as_dict(),
            "echo_all_panels_ms": Summary.of(self.all_panels).as_dict(),
            "asterisk_echo_ms": Summary.of(self.asterisk).as_dict(),
            "lost_in_panels": self.lost_in_panels,
            "lost_in_asterisk": self.lost_in_asterisk,
        }


class Moderating:
    """Actions sent through open panels, each counted in the tally of its kind.

    Each POST goes 50-150 ms after the previous step's last echo: a moderator's next click
    does not come on the heels of what they just saw, and the panel feed's coalescing
    (``bridge.web.panel.live.INTERVAL``) is met at a random phase, not always at its worst.
    """

    def __init__(self, rig: Rig, panels: Panels) -> None:
        self.rig, self.panels = rig, panels
        self.tallies = {kind: Tally() for kind in KINDS}
        self._pace = random.Random(13)

    async def timed(
        self,
        kind: str,
        action: str,
        arguments: dict[str, str],
        shows: Shows,
        asterisk: tuple[str, str] | None = None,
    ) -> bool:
        """Run one action; with ``asterisk`` (an AMI event name and a channel), also time
        Asterisk's own event of it. Whether the service took the action."""
        ami, tally = self.rig.ami, self.tallies[kind]
        assert ami is not None
        await asyncio.sleep(self._pace.uniform(0.05, 0.15))
        mark = ami.mark()
        echo = await self.panels.act(action, arguments, shows)
        tally.posts.append(1000 * echo.answered)
        if not echo.ok:
            tally.failed += 1
            if len(tally.refusals) < 3:
                tally.refusals.append(f"{action}: {echo.status} {echo.answer[:200]}")
            return False
        tally.each_panel += [1000 * seconds for seconds in echo.seen]
        tally.lost_in_panels += echo.lost
        if echo.everywhere is not None:
            tally.all_panels.append(1000 * echo.everywhere)
        if asterisk is not None:
            name, channel = asterisk

            def done(event: dict[str, Any]) -> bool:
                return event.get("Event") == name and event.get("Channel") == channel

            try:
                seen = await ami.wait_for(done, since=mark, timeout=5)
                tally.asterisk.append(1000 * (stamp(seen) - echo.sent_at))
            except TimeoutError:
                tally.lost_in_asterisk += 1
        return True

    async def mute_or_unmute(self, channel: str) -> None:
        """The opposite of what the panels show for ``channel``."""
        mute = not self.panels.first.muted.get(channel, False)
        action, event = ("mute", "ConfbridgeMute") if mute else ("unmute", "ConfbridgeUnmute")
        await self.timed(
            "mute/unmute", action, {"channel": channel}, shows_muted(channel, mute),
            (event, channel),
        )  # fmt: skip

    async def call_on_next(self, channel: str) -> None:
        """Put ``channel`` on the stack, give the floor to the head of the stack with
        ``next`` (the timed action: until every panel shows the head speaking; that is
        ``channel`` unless the room's policy or an earlier entry put another first), then
        end the turn. Asterisk's unmute is timed when the speaker was muted (an unmuted
        one gets no ConfbridgeUnmute)."""
        if not await self.timed("add to stack", "add", {"channel": channel}, shows_queued(channel)):
            return
        first = self.panels.first
        head = first.queued[0] if first.queued else channel
        unmuted = ("ConfbridgeUnmute", head) if first.muted.get(head) else None
        if await self.timed("call on next", "next", {}, shows_speaker(head), unmuted):
            muted = ("ConfbridgeMute", head)
            await self.timed("end turn", "end-turn", {}, shows_no_speaker(), muted)


async def moderator_actions(
    rig: Rig, room: Room, actions: int, panel_count: int, progress: Progress
) -> dict[str, Any]:
    """``panel_count`` moderators log in to the service's panel and open the room's page;
    ``actions`` actions go through the panel's action route, sent by each moderator in
    turn and timed until every panel shows them. Most mute or unmute a participant; one in
    ``CALL_EVERY`` calls on the next speaker (``Moderating.call_on_next``)."""
    moderators = [
        m.username for m in load_rooms_file(rig.options.rooms_file).moderators
        if m.may_moderate(room.name)
    ][:panel_count]  # fmt: skip
    if len(moderators) < panel_count:
        raise ValueError(
            f"{rig.options.rooms_file} has {len(moderators)} moderators of {room.name}, "
            f"not the {panel_count} panels asked for"
        )
    progress(f"moderator actions: {panel_count} moderators log in and open the room's page")
    async with Panels(rig.web_url, room.name, moderators) as panels:
        moderating = Moderating(rig, panels)
        channels = sorted(panels.first.muted)
        for k in range(actions):
            if k % CALL_EVERY == CALL_EVERY - 1:
                await moderating.call_on_next(channels[(k * 53) % len(channels)])
            else:
                await moderating.mute_or_unmute(channels[(k * 37) % len(channels)])
            if k % 100 == 99:
                progress(f"moderator actions: {k + 1}/{actions}")
        sizes = panels.message_sizes()
        dropped = panels.dropped()
    return {
        "actions": actions,
        "participants": len(channels),
        "panels": panel_count,
        "kinds": {kind: tally.figures() for kind, tally in moderating.tallies.items()},
        "panels_dropped": dropped,
        "panel_messages": {
            "per_panel": len(sizes) / panel_count,
            "median_bytes": statistics.median(sizes),
            "largest_bytes": max(sizes),
        },
    }


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
        ended = await load.wait(timeout=120)
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
        # A ghost whose caller's BYE Asterisk answered is Asterisk's; one whose BYE went
        # unanswered (SIPp gave up retransmitting it) was lost on the way in.
        "byes_sent": ended.ended_by_caller,
        "byes_answered": ended.byes_answered,
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
    panels: int,
    progress: Progress,
) -> dict[str, Any]:
    # Callers talk 10% of the time: 1/10 of a period that the arrivals span.
    period = max(size / rate, 10.0)
    talk = Talk(period / 10, period)
    # Callers stay through every step (the mass leave hangs them up): an action takes up to
    # half a second (a call on next is three, each waited for in every panel).
    stay = size / rate + steady_s + actions * 0.5 + 120
    load, ids, _ = await fill(
        rig, room, size, rate, progress, talk=talk, stay=stay, label=f"population {size}:"
    )
    out: dict[str, Any] = {"size": size, "talk": {"seconds": talk.seconds, "period": period}}
    out["steady"] = await steady_state(rig, steady_s, progress)
    out["actions"] = await moderator_actions(rig, room, actions, panels, progress)
    out["resync"] = await resync(rig, room, progress)
    out["mass_leave"] = await mass_leave(rig, room, load, ids, progress)
    return out
