"""A stack saved as JSON-ready plain data and read back exactly, so a service restart (and
the resync after it) keeps every place, priority, move, record and the turn under way.

The saved stack holds the records of the people in play (here, or queued); what those who
left said is in the call's history, and comes back from there (``records_from_history``):
a call of hours, saved every second, no longer writes every caller it ever had."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bridge.domain.events import Role
from bridge.domain.rooms import QueuePolicy
from bridge.domain.speakers.errors import BadState
from bridge.domain.speakers.model import (
    Entry,
    Lane,
    Member,
    Record,
    StackRules,
    Turn,
    person_of,
)

STATE_VERSION = 1


@dataclass
class Saved:
    """Everything one stack holds."""

    room: str
    policy: QueuePolicy
    rules: StackRules
    seq: int
    moves: int
    members: dict[str, Member]
    people: dict[str, str]  # channel: person
    records: dict[str, Record]  # person: what they said
    entries: list[Entry]  # the queue and those away within their grace
    speaker: Turn | None
    told_next: str | None = None  # the person told "you are next" at the last call


def dump(saved: Saved) -> dict[str, Any]:
    rules, turn = saved.rules, saved.speaker
    return {
        "version": STATE_VERSION,
        "room": saved.room,
        "policy": str(saved.policy),
        "rules": {
            "speaking_time_limit": rules.speaking_time_limit,
            "auto_advance": rules.auto_advance,
            "rejoin_grace": rules.rejoin_grace,
            "keypad": rules.keypad,
        },
        "seq": saved.seq,
        "moves": saved.moves,
        "members": [[m.channel, m.caller_id, str(m.role)] for m in saved.members.values()],
        "people": dict(saved.people),
        "records": {
            person: {
                "floor_turns": r.floor_turns,
                "legs": {ch: [turns, talk] for ch, (turns, talk) in r.legs.items()},
            }
            for person, r in saved.records.items()
        },
        "entries": [
            {
                "channel": e.channel,
                "caller_id": e.caller_id,
                "person": e.person,
                "lane": str(e.lane),
                "raised_at": e.raised_at,
                "seq": e.seq,
                "priority": e.priority,
                "placed": None if e.placed is None else list(e.placed),
                "away_since": e.away_since,
            }
            for e in saved.entries
        ],
        "speaker": None
        if turn is None
        else {
            "channel": turn.channel,
            "caller_id": turn.caller_id,
            "lane": None if turn.lane is None else str(turn.lane),
            "started_at": turn.started_at,
            "warned": turn.warned,
        },
        "told_next": saved.told_next,
    }


def in_play(
    records: Mapping[str, Record], people: Iterable[str], entries: Iterable[Entry]
) -> dict[str, Record]:
    """The records of the ``people`` here and of those queued (or away within the grace)."""
    wanted = {*people, *(entry.person for entry in entries)}
    return {person: records[person] for person in wanted if person in records}


def records_from_history(
    legs: Iterable[tuple[str, str, int, float]], turns: Iterable[tuple[str, str]]
) -> dict[str, Record]:
    """What each person said in the call, from its history: ``legs`` (channel, caller ID,
    the roster's turns and talk time) and the floor's ``turns`` (channel, caller ID)."""
    records: dict[str, Record] = {}
    for channel, caller_id, spoke, talk in legs:
        records.setdefault(person_of(channel, caller_id), Record()).legs[channel] = (spoke, talk)
    for channel, caller_id in turns:
        records.setdefault(person_of(channel, caller_id), Record()).floor_turns += 1
    return records


def load(state: dict[str, Any]) -> Saved:
    """What ``dump`` wrote; ``BadState`` when it cannot be read back."""
    try:
        return _read(state)
    except (KeyError, TypeError, ValueError) as err:
        raise BadState(f"saved speaker stack is unreadable: {err!r}") from err


def _read(state: dict[str, Any]) -> Saved:
    if state["version"] != STATE_VERSION:
        raise ValueError(f"version {state['version']}, expected {STATE_VERSION}")
    rules = state["rules"]
    records = {}
    for person, record in state["records"].items():
        legs = {ch: (int(turns), float(talk)) for ch, (turns, talk) in record["legs"].items()}
        records[person] = Record(int(record["floor_turns"]), legs)
    turn = state["speaker"]
    return Saved(
        room=str(state["room"]),
        policy=QueuePolicy(state["policy"]),
        rules=StackRules(
            float(rules["speaking_time_limit"]),
            bool(rules["auto_advance"]),
            float(rules["rejoin_grace"]),
            bool(rules["keypad"]),
        ),
        seq=int(state["seq"]),
        moves=int(state["moves"]),
        members={ch: Member(ch, cid, Role(role)) for ch, cid, role in state["members"]},
        people={str(ch): str(person) for ch, person in state["people"].items()},
        records=records,
        entries=[_entry(e) for e in state["entries"]],
        speaker=None
        if turn is None
        else Turn(
            turn["channel"],
            turn["caller_id"],
            None if turn["lane"] is None else Lane(turn["lane"]),
            float(turn["started_at"]),
            bool(turn["warned"]),
            float(turn["started_at"]),  # under way before a restart: unmuted long since
        ),
        # Absent from stacks saved before "you are next" existed: nobody was told.
        told_next=None if state.get("told_next") is None else str(state["told_next"]),
    )


def _entry(e: dict[str, Any]) -> Entry:
    return Entry(
        channel=e["channel"],
        caller_id=e["caller_id"],
        person=e["person"],
        lane=Lane(e["lane"]),
        raised_at=float(e["raised_at"]),
        seq=int(e["seq"]),
        priority=bool(e["priority"]),
        placed=None if e["placed"] is None else tuple(float(k) for k in e["placed"]),
        away_since=None if e["away_since"] is None else float(e["away_since"]),
    )
