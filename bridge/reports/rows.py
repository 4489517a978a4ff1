"""What a post-call report is built from: the history rows of one call, as plain values.

The store reads them (``bridge.store.reports``); the builder (``bridge.reports.build``)
turns them into a report without touching a database, so it is tested from rows alone.
A new section of the report is one more tuple here and one more reader in the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class CallRow:
    id: int
    room: str
    started_at: datetime
    ended_at: datetime | None
    redacted: bool = False  # the retention purge replaced its caller IDs by pseudonyms
    purged_at: datetime | None = None  # a host purged its history ("purge this call")
    recordings_purged_at: datetime | None = None  # its recordings were deleted
    practice: bool = False  # a practice room's call: simulated callers, a debrief


@dataclass(frozen=True)
class CallListRow:
    """One line of the list of calls."""

    call: CallRow
    legs: int
    talk_time: float


@dataclass(frozen=True)
class LegRow:
    """One participant's stay: from ``legs``."""

    channel: str
    caller_id: str
    caller_name: str
    role: str
    joined_at: datetime
    left_at: datetime | None
    talk_time: float  # seconds Asterisk's talk detector heard them
    turns: int
    leave_reason: str | None = None  # LeaveReason's value; None: not known
    dialed_out: bool = False  # a moderator called them in (dial-out)
    label: str = ""  # the name and place moderators gave them ("" if none)


@dataclass(frozen=True)
class TurnRow:
    """One turn on the floor: from ``turns`` (written by the speaker stack)."""

    channel: str
    caller_id: str
    lane: str  # process | direct | stack | called
    started_at: datetime
    ended_at: datetime
    talk_time: float
    ended_by: str


@dataclass(frozen=True)
class StackEventRow:
    at: datetime
    kind: str
    channel: str
    caller_id: str
    lane: str
    detail: str


@dataclass(frozen=True)
class AuditRow:
    """One moderator action (the panel's audit trail): who did what to whom, and how it
    went. The store fills these from the audit table once it exists."""

    at: datetime
    moderator: str
    action: str
    target: str  # a channel or caller ID; "" for the whole room
    result: str  # "ok", or the error the moderator saw


@dataclass(frozen=True)
class RecordingStartRow:
    file_name: str
    started_at: datetime
    started_by: str  # "admin", a moderator's name, or "room setting"


@dataclass(frozen=True)
class RecordingFile:
    """A file in the recordings folder (name, size, duration read from the disk)."""

    name: str
    size: int
    duration: float


@dataclass(frozen=True)
class PollRow:
    """One closed poll: from ``polls``. Its counts in key order, a block (key 9) among them
    when the poll allowed one; who blocked is never kept."""

    question: str
    opened_at: datetime
    closed_at: datetime
    counts: tuple[tuple[str, str, int], ...]  # (key, label, count)
    voters: int
    present: int


@dataclass(frozen=True)
class StintRow:
    """One person's time in one breakout group: from ``breakout_stints``."""

    group: str
    channel: str
    caller_id: str
    name: str
    started_at: datetime
    ended_at: datetime


@dataclass(frozen=True)
class CallHistory:
    call: CallRow
    legs: tuple[LegRow, ...] = ()
    turns: tuple[TurnRow, ...] = ()
    stack_events: tuple[StackEventRow, ...] = ()
    audit: tuple[AuditRow, ...] = ()
    recording_starts: tuple[RecordingStartRow, ...] = field(default=())
    polls: tuple[PollRow, ...] = ()
    stints: tuple[StintRow, ...] = ()  # breakout groups
