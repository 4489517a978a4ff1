"""What the benchmark reads out of Asterisk's own events (as its AMI client received them, in
order, with Asterisk's ``Timestamp``): pure functions, tested without Asterisk."""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Event = Mapping[str, Any]


def stamp(event: Event) -> float:
    return float(event["Timestamp"])


@dataclass
class JoinLatencies:
    """Last ``#`` (DTMF end, from the caller) to ConfbridgeJoin, per caller of the step."""

    millis: list[float] = field(default_factory=list)
    joined: set[str] = field(default_factory=set)  # caller IDs seen joining
    first_in_room: int = 0  # joins into an empty room: left out (a prompt plays first)
    without_key: int = 0  # joins with no '#' seen on their channel: left out


def join_latencies(
    events: Iterable[Event], callers: Collection[str], occupied: Mapping[str, int] | None = None
) -> JoinLatencies:
    """``occupied``: how many were in each room before the first of ``events``."""
    out = JoinLatencies()
    count = dict(occupied or {})
    last_hash: dict[str, float] = {}
    for event in events:
        name = event.get("Event")
        if name == "DTMFEnd" and event.get("Digit") == "#" and event.get("Direction") == "Received":
            last_hash[event["Channel"]] = stamp(event)
        elif name == "ConfbridgeJoin":
            room = event.get("Conference", "")
            empty = count.get(room, 0) == 0
            count[room] = count.get(room, 0) + 1
            caller = event.get("CallerIDNum", "")
            if caller not in callers:
                continue
            out.joined.add(caller)
            if empty:
                out.first_in_room += 1
            elif event.get("Channel") in last_hash:
                out.millis.append(1000 * (stamp(event) - last_hash[event["Channel"]]))
            else:
                out.without_key += 1
        elif name == "ConfbridgeLeave":
            room = event.get("Conference", "")
            count[room] = max(0, count.get(room, 0) - 1)
        elif name == "ConfbridgeEnd":
            count[event.get("Conference", "")] = 0
    return out


def first_event(events: Iterable[Event], name: str, **fields: str) -> Event | None:
    for event in events:
        if event.get("Event") == name and all(event.get(k) == v for k, v in fields.items()):
            return event
    return None


def events_per_second(events: Iterable[Event], start: float, end: float) -> dict[str, float]:
    """Events (all, and by name for the busiest) whose Timestamp falls in [start, end)."""
    names: dict[str, int] = {}
    for event in events:
        if "Timestamp" in event and start <= stamp(event) < end:
            names[str(event.get("Event"))] = names.get(str(event.get("Event")), 0) + 1
    seconds = max(end - start, 1e-9)
    busiest = sorted(names.items(), key=lambda kv: -kv[1])[:5]
    return {"all": sum(names.values()) / seconds, **{k: v / seconds for k, v in busiest}}


# Where an io-bridge join's time goes, segment by segment, by Asterisk's clock: the events
# that close each segment, in order. The service's own share is "decision" (from Asterisk
# handing over the digits to the next command it gets) and part of "handover" (the service
# closing the dialogue; Asterisk then leaves AGI and runs the dialplan to ConfBridge).
SEGMENTS = ("digits", "decision", "room_set", "handover", "join")


def _segment_end(event: Event) -> str | None:
    name, command = event.get("Event"), str(event.get("Command", ""))
    if name == "AGIExecEnd" and command.startswith("GET DATA"):
        return "digits"  # Asterisk answers GET DATA with the PIN
    if name == "AGIExecStart" and command.startswith("EXEC MSet"):
        return "decision"  # the service's next command: the room's settings
    if name == "AGIExecEnd" and command.startswith("EXEC MSet"):
        return "room_set"
    if name == "Newexten" and event.get("Application") == "ConfBridge":
        return "handover"
    if name == "ConfbridgeJoin":
        return "join"
    return None


def entry_segments(events: Iterable[Event], callers: Collection[str]) -> dict[str, list[float]]:
    """Milliseconds of each of ``SEGMENTS`` for the io-bridge joins of ``callers`` whose
    every segment was seen (the last '#' opens the first)."""
    out: dict[str, list[float]] = {name: [] for name in SEGMENTS}
    marks: dict[str, list[float]] = {}  # channel -> the stamps so far, from its last '#'
    for event in events:
        channel = str(event.get("Channel", ""))
        if event.get("Event") == "DTMFEnd" and event.get("Digit") == "#":
            if event.get("Direction") == "Received":
                marks[channel] = [stamp(event)]
            continue
        segment = _segment_end(event)
        seen = marks.get(channel)
        if segment is None or seen is None or len(seen) > len(SEGMENTS):
            continue
        if SEGMENTS[len(seen) - 1] != segment:
            marks.pop(channel)  # out of order (a wrong PIN, a retry): not a clean join
            continue
        seen.append(stamp(event))
        if segment == "join" and event.get("CallerIDNum") in callers:
            for name, (start, end) in zip(SEGMENTS, itertools.pairwise(seen), strict=True):
                out[name].append(1000 * (end - start))
    return out
