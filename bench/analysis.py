"""What the benchmark reads out of Asterisk's own events (as its AMI client received them, in
order, with Asterisk's ``Timestamp``): pure functions, tested without Asterisk."""

from __future__ import annotations

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
