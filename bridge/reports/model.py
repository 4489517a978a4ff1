"""A post-call report, as the API answers it (JSON), the CSV and the page show it.

Pydantic models, so the versioned API can name them in its OpenAPI document as they are.
Times are UTC; durations are seconds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from bridge.domain.events import LeaveReason

# How caller IDs appear: in full (a host of the room), masked (a room's assistant:
# "+1 555 *** **23"; someone without rights: their last two characters), or as pseudonyms
# (the retention purge went past).
CallerIds = Literal["full", "masked", "pseudonyms"]
# How the first-time speakers' share was found: from the speaker stack's turns; from the
# roster alone (every speaker spoke in a single turn, so all of it was a first time); or
# not at all (some spoke in several turns and no turns were stored to tell them apart).
FirstTimeBasis = Literal["turns", "roster", "unknown"]


class CallInfo(BaseModel):
    id: int
    room: str
    started_at: datetime
    ended_at: datetime | None = Field(description="null while the call goes on")
    duration: float
    redacted: bool = Field(description="caller IDs were replaced by pseudonyms (retention)")
    purged_at: datetime | None = Field(
        None, description="when a host purged this call: its history is gone, this row stays"
    )
    recordings_purged_at: datetime | None = Field(
        None, description="when its recordings were deleted (purged, or past their retention)"
    )


class Presence(BaseModel):
    """One stay in the call: a caller who joined twice has two."""

    who: str = Field(description="caller ID as the reader may see it")
    name: str = Field(description="the caller's name, where one was given")
    role: str
    channel: str
    joined_at: datetime
    left_at: datetime | None
    stayed: float
    talk_time: float
    turns: int
    leave_reason: LeaveReason | None = Field(
        None,
        description="why they left: hung up, timed out, kicked, moved; null: still "
        "there, or not known",
    )
    dialed_out: bool = Field(False, description="a moderator called them in (dial-out)")


class SpeakerShare(BaseModel):
    """One person's part of the talk (all their stays together)."""

    who: str
    name: str
    role: str
    talk_time: float
    share: float = Field(ge=0, le=1, description="of all talk time in the call")
    turns: int
    first_time_talk: float | None = Field(description="talk in their first turn; null: unknown")


class TalkShares(BaseModel):
    """Who held the floor how long, and how much of it went to first-time speakers."""

    total_talk: float
    speakers: list[SpeakerShare] = Field(description="most talk first")
    first_time_talk: float | None
    first_time_share: float | None = Field(ge=0, le=1)
    first_time_basis: FirstTimeBasis


class TurnLine(BaseModel):
    who: str
    name: str
    lane: str
    started_at: datetime
    length: float
    talk_time: float
    ended_by: str
    first_time: bool = Field(description="the speaker had not spoken before in this call")


class StackEventLine(BaseModel):
    at: datetime
    kind: str
    who: str
    lane: str
    detail: str


class ModeratorAction(BaseModel):
    at: datetime
    moderator: str
    action: str
    target: str
    result: str


class RecordingLine(BaseModel):
    file: str
    started_at: datetime
    started_by: str = Field(description='"admin", a moderator, "room setting" or "unknown"')
    duration: float
    size: int
    on_disk: bool


class PollOption(BaseModel):
    key: str = Field(description="the keypad digit that chose it")
    label: str
    count: int


class PollLine(BaseModel):
    """A temperature check closed during the call."""

    question: str = Field(description='"" when the moderator asked it aloud only')
    opened_at: datetime
    closed_at: datetime
    options: list[PollOption] = Field(description="keys 1 to 8, in order (a block is not one)")
    voters: int = Field(description="callers whose answer counted when it closed")
    present: int = Field(description="callers in the room when it closed")
    blocks: int | None = Field(
        description="how many blocked (key 9); null: the poll allowed no block. Who blocked "
        "is never kept"
    )


PROCESS_ANSWER_SECONDS = 30.0  # a point of process is meant to jump the stack


class HandWait(BaseModel):
    who: str
    lane: str = Field(description="stack, direct or process")
    raised_at: datetime
    waited: float | None = Field(description="seconds until called on; null: never called on")


class Debrief(BaseModel):
    hands: list[HandWait] = Field(description="every hand raised, in the order raised")
    called: int = Field(description="hands called on")
    never_called: int = Field(description="hands lowered or still up when the call ended")
    median_wait: float | None = Field(description="seconds, over the hands called on")
    longest_wait: float | None
    first_time_share: float | None = Field(description="of all talk, to first-time speakers")
    overruns: int = Field(description="turns ended by the speaking time limit")
    points_of_process: int
    points_of_process_answered: int = Field(
        description=f"called on within {PROCESS_ANSWER_SECONDS:g} s of being raised"
    )


class BreakoutStint(BaseModel):
    """Someone's time in a breakout group (a caller moved between groups has several)."""

    group: str = Field(description="group-1, group-2, ...")
    who: str = Field(description="caller ID as the reader may see it")
    name: str = Field(description="the label moderators gave, where one was given")
    channel: str
    started_at: datetime
    ended_at: datetime
    seconds: float


class Report(BaseModel):
    call: CallInfo
    caller_ids: CallerIds
    presence: list[Presence]
    talk: TalkShares
    turns: list[TurnLine]
    stack_events: list[StackEventLine]
    moderator_actions: list[ModeratorAction]
    recordings: list[RecordingLine]
    polls: list[PollLine] = Field(default_factory=list, description="oldest first")
    practice: bool = Field(False, description="a practice room's call (simulated callers)")
    debrief: Debrief | None = Field(
        None, description="practice calls: how the stack was run (bridge.reports.debrief)"
    )
    breakouts: list[BreakoutStint] = Field(
        default_factory=list, description="who was in which breakout group, by group then time"
    )


class CallListItem(BaseModel):
    id: int
    room: str
    started_at: datetime
    ended_at: datetime | None
    duration: float
    legs: int
    talk_time: float
    redacted: bool
