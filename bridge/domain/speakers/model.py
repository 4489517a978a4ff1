"""What the stack is made of: lanes, keys, what a caller hears, the room's rules, the people
in the room, and the records the stack keeps (entries, what each person said, the turn)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from bridge.domain.entry import WITHHELD_CALLER_IDS
from bridge.domain.events import Role

DEFAULT_REJOIN_GRACE = 120.0  # seconds
WARNING_LEAD = 15.0  # seconds before the speaking time limit


class Lane(StrEnum):
    """Served in this order."""

    PROCESS = "process"  # point of process: how the call is run
    DIRECT = "direct"  # direct response to the current speaker
    STACK = "stack"  # raised hands


LANE_RANK = {Lane.PROCESS: 0.0, Lane.DIRECT: 1.0, Lane.STACK: 2.0}


class Key(StrEnum):
    HAND = "hand"  # *9
    DIRECT = "direct"  # *8
    PROCESS = "process"  # *7
    PLACE = "place"  # *1


KEY_LANE = {Key.HAND: Lane.STACK, Key.DIRECT: Lane.DIRECT, Key.PROCESS: Lane.PROCESS}


class Heard(StrEnum):
    """What a caller hears after a key; those with a place carry it."""

    HAND_RAISED = "hand_raised"
    DIRECT_RESPONSE = "direct_response"
    POINT_OF_PROCESS = "point_of_process"
    HAND_LOWERED = "hand_lowered"
    TURN_DONE = "turn_done"
    PLACE = "place"
    NOT_QUEUED = "not_queued"
    HAVE_FLOOR = "have_floor"
    KEY_NOT_AVAILABLE = "key_not_available"


QUEUED_IN = {
    Lane.STACK: Heard.HAND_RAISED,
    Lane.DIRECT: Heard.DIRECT_RESPONSE,
    Lane.PROCESS: Heard.POINT_OF_PROCESS,
}


class TurnEnd(StrEnum):
    DONE = "done"  # the speaker pressed *9
    MODERATOR = "moderator"
    LEFT = "left"
    TIME_LIMIT = "time_limit"
    REPLACED = "replaced"  # someone else was given the floor
    MUTED = "muted"  # Asterisk muted the speaker (a moderator, mute all, their own *6)


@dataclass(frozen=True)
class StackRules:
    """The room settings the stack follows."""

    speaking_time_limit: float = 0.0  # seconds; 0: no limit
    auto_advance: bool = False
    rejoin_grace: float = DEFAULT_REJOIN_GRACE  # seconds; 0: a caller who leaves is gone
    keypad: bool = True  # False: callers' keys answer KEY_NOT_AVAILABLE


@dataclass(frozen=True)
class Member:
    """Someone in the room, as the roster knows them."""

    channel: str
    caller_id: str
    role: Role = Role.PARTICIPANT


ONE_CHANNEL_ONLY = "channel:"  # a person known by one channel only (caller ID withheld)


def person_of(channel: str, caller_id: str) -> str:
    """Who a caller is across channels: their caller ID, or, when withheld, this channel."""
    if caller_id.strip().lower() in WITHHELD_CALLER_IDS:
        return f"{ONE_CHANNEL_ONLY}{channel}"
    return caller_id.strip()


def recognisable(person: str) -> bool:
    """Whether this person can be told again when they call back (their caller ID shows)."""
    return not person.startswith(ONE_CHANNEL_ONLY)


# ---- what the stack keeps ------------------------------------------------------------------

SortKey = tuple[float, ...]


@dataclass
class Entry:
    """One place asked for: in the queue, or kept for someone away within their grace."""

    channel: str
    caller_id: str
    person: str
    lane: Lane
    raised_at: float  # when they asked for this lane
    seq: int  # ties on raised_at go to the earlier request
    priority: bool = False
    placed: SortKey | None = None  # a moderator's move: this standing instead of the policy's
    away_since: float | None = None  # left the room; kept for the rejoin grace


@dataclass
class Record:
    """What one person has said in this call so far."""

    floor_turns: int = 0  # given here
    legs: dict[str, tuple[int, float]] = field(default_factory=dict)  # channel: roster facts

    @property
    def turns(self) -> int:
        return max(self.floor_turns, sum(turns for turns, _ in self.legs.values()))

    @property
    def talk_time(self) -> float:
        return sum(talk for _, talk in self.legs.values())

    @property
    def has_spoken(self) -> bool:
        return self.turns > 0 or self.talk_time > 0


@dataclass
class Turn:
    """The turn under way."""

    channel: str
    caller_id: str
    lane: Lane | None
    started_at: float
    warned: bool = False
    # When the turn's Unmute went out (its room's line carries out every Mute ordered before
    # it first); None: not yet. A mute Asterisk stamped before it is one of those, seen late.
    unmuted_at: float | None = None
