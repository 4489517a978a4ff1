"""What the stack asks the service to do: act on Asterisk, answer a caller, write history,
save and publish the stack."""

from __future__ import annotations

from dataclasses import dataclass, field

from bridge.domain.speakers.model import Heard, Lane, TurnEnd


@dataclass(frozen=True)
class Unmute:
    room: str
    channel: str
    turn: float = field(default=0.0, compare=False)  # the start of the turn it opens


@dataclass(frozen=True)
class Mute:
    room: str
    channel: str


@dataclass(frozen=True)
class Warn:
    """The speaker's time is nearly up; only they hear it."""

    room: str
    channel: str
    seconds_left: int


@dataclass(frozen=True)
class YouAreNext:
    """The new head of the stack, when the speaker before them is called on; only they hear it."""

    room: str
    channel: str


@dataclass(frozen=True)
class Tell:
    """The answer to a key, heard by that caller alone."""

    room: str
    channel: str
    heard: Heard
    place: int | None = None


@dataclass(frozen=True)
class TurnStarted:
    room: str
    channel: str
    caller_id: str
    lane: Lane | None  # None: called on by a moderator without being queued
    at: float


@dataclass(frozen=True)
class TurnEnded:
    room: str
    channel: str
    caller_id: str
    lane: Lane | None
    started_at: float
    ended_at: float
    why: TurnEnd


@dataclass(frozen=True)
class StackChanged:
    """Something changed: save ``to_state()`` and publish ``show()``."""

    room: str


Effect = Unmute | Mute | Warn | YouAreNext | Tell | TurnStarted | TurnEnded | StackChanged
