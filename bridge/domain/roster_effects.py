"""What the roster's reducer asks of history: calls and legs opened, closed, updated."""

from __future__ import annotations

from dataclasses import dataclass

from bridge.domain.events import LeaveReason, Role


@dataclass(frozen=True)
class CallOpened:
    """A room went live: history opens (or, after a restart, continues) its call row."""

    room: str
    at: float


@dataclass(frozen=True)
class CallClosed:
    room: str
    at: float


@dataclass(frozen=True)
class LegOpened:
    room: str
    channel: str
    caller_id: str
    role: Role
    at: float
    caller_name: str = ""


@dataclass(frozen=True)
class LegClosed:
    room: str
    channel: str
    at: float
    talk_time: float
    turns: int
    reason: LeaveReason | None = None  # None: not known (a leave the roster never saw)


@dataclass(frozen=True)
class LegUpdated:
    """Talk time or turns moved on (written when a spurt ends, not on every event)."""

    room: str
    channel: str
    talk_time: float
    turns: int


@dataclass(frozen=True)
class LegReasonCorrected:
    """Why a leg ended, learnt after its leave: Asterisk's hangup cause can reach AMI after
    ConfbridgeLeave when it is busy (the two come from different event topics)."""

    room: str
    channel: str
    reason: LeaveReason


@dataclass(frozen=True)
class HistoryReconciled:
    """After a resync: every call or leg still open in history but not live is closed at ``at``."""

    live_rooms: frozenset[str]
    live_channels: frozenset[tuple[str, str]]  # (room, channel)
    at: float


Effect = (
    CallOpened
    | CallClosed
    | LegOpened
    | LegClosed
    | LegUpdated
    | LegReasonCorrected
    | HistoryReconciled
)
