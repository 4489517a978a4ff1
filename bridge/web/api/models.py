"""Every request and answer of the JSON API (``/api/v1``) as a pydantic model: the handlers
parse and answer with these, and the OpenAPI document is generated from them.

Times of the live state are seconds since the epoch (as the panel's live feed sends
them); times of the history are ISO 8601 in UTC (as the post-call report has them).
Reports and the list of calls are ``bridge.reports``'s own models.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from bridge.domain.accounts import Via
from bridge.domain.events import Role
from bridge.domain.rooms import QueuePolicy
from bridge.domain.speakers import Lane
from bridge.reports import CallListItem
from bridge.web.api.room_features import BreakoutState, CallOut, PracticeState
from bridge.web.render import PbxState

# Ids are database integers: PostgreSQL's are 32-bit.
MAX_ID = 2_147_483_647
RoomName = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$"),
    Field(description="a room's name, as in the rooms file"),
]
RecordingName = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,39}-[0-9]{8}-[0-9]{6}\.wav$"),
    Field(description="a recording's file name: ROOM-YYYYmmdd-HHMMSS.wav"),
]


class Inputs(BaseModel):
    """Path parameters and queries. An unknown query parameter is a 400: a script's typo
    (``?limt=5``) is said, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


# ---- errors ----------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    code: str = Field(description="stable, for scripts: no_such_room, not_allowed, ...")
    message: str = Field(description="for people: what went wrong and what to do")


class ErrorAnswer(BaseModel):
    """Every failure, whatever the route (an unknown one too)."""

    error: ErrorDetail


# ---- who is asking ------------------------------------------------------------------------


class Me(BaseModel):
    username: str = Field(description='a moderator, or "admin" for the local CLI')
    via: Via
    all_rooms: bool
    rooms: list[str] = Field(description="the active rooms this token may moderate")


# ---- rooms -------------------------------------------------------------------------------


class RoomPath(Inputs):
    room: RoomName


class RoomSummary(BaseModel):
    name: str
    title: str
    live: bool = Field(description="someone is in the room now")
    participants: int
    hands_raised: int
    speaker: str | None = Field(description="caller ID (or channel) of who has the floor")
    locked: bool
    recording: bool
    queue: QueuePolicy
    max_participants: int
    on_demand: bool = Field(False, description="opened by a host, not from the rooms file")
    practice: bool = Field(False, description="a practice room (simulated callers allowed)")


class OpenRoomBody(Inputs):
    """A room opened on demand: its title, how long, and whose settings it copies."""

    title: str = Field(min_length=1, max_length=200)
    copy_settings_from: RoomName | None = Field(None, description="a room whose settings it takes")
    hours: float = Field(4.0, gt=0, le=72, description="it closes after this, once empty")


class OpenedRoom(BaseModel):
    """The room just opened, with its PINs: shown here once, kept nowhere in clear."""

    name: str
    title: str
    pin: str
    moderator_pin: str
    closes_at: datetime = Field(description="when its time is up (it closes once empty)")


class RoomList(BaseModel):
    pbx: PbxState
    rooms: list[RoomSummary] = Field(description="the rooms this token may moderate, by name")


class Participant(BaseModel):
    channel: str
    caller_id: str
    name: str = Field("", description="the label moderators gave the caller ('' if none)")
    caller_name: str
    role: Role
    muted: bool
    talking: bool
    joined_at: float
    talk_time: float = Field(description="seconds Asterisk heard them talk, so far")
    turns: int
    keys_paused: bool = Field(False, description="a moderator paused this caller's keys")
    dialed_out: bool = Field(False, description="called into the room by a moderator")

    group: str | None = Field(None, description="the breakout group they are in; null: main")
    name_recorded: bool = Field(
        False, description="the caller said their name at entry (ask_name): the panel plays it"
    )


class Speaker(BaseModel):
    channel: str
    caller_id: str
    name: str = Field("", description="the caller's label ('' if none)")
    lane: Lane | None = Field(description="null: called on directly by a moderator")
    started_at: float
    seconds_left: float | None = Field(description="null: the room has no time limit")


class StackEntry(BaseModel):
    place: int
    channel: str
    caller_id: str
    name: str = Field("", description="the caller's label ('' if none)")
    lane: Lane
    reason: str = Field(description="why here: 'has not spoken yet', '2 turns' ...")
    priority: bool
    raised_at: float = Field(description="when they asked for this lane (seconds since the epoch)")


class StackState(BaseModel):
    """The speaker stack, as ``iobridge stack ROOM show --json`` prints it."""

    room: str
    policy: QueuePolicy
    speaking_time_limit: int = Field(0, description="seconds a turn may last now; 0: no limit")
    auto_advance: bool = Field(False, description="the next is called on when a turn ends")
    speaker: Speaker | None
    queue: list[StackEntry] = Field(description="in the order they will speak")


class PollOption(BaseModel):
    key: str = Field(description="the key callers press: 1 to 8, 9 for a block")
    label: str
    count: int


class Blocker(BaseModel):
    channel: str
    caller_id: str
    name: str


class PollState(BaseModel):
    """A room's poll, as ``iobridge poll ROOM show --json`` prints it."""

    room: str
    question: str
    open: bool
    options: list[PollOption] = Field(description="in key order; a block is key 9")
    voters: int = Field(description="callers who answered (each once: their latest key)")
    present: int = Field(description="participants in the room now")
    blocks: list[Blocker] = Field(description="who blocks (moderators only see this)")


class RoomLinkState(BaseModel):
    """A big room's link from its home node to another node (docs/admin.md, "Big rooms")."""

    node: str = Field(description="the other node")
    state: Literal["up", "down"] = Field(
        description="down: being dialled again; that node's callers hear only each other"
    )


class RoomState(BaseModel):
    """One room now: who is in it, the stack, and who has the floor."""

    room: str
    title: str
    live: bool = Field(description="false: a known room with nobody in it")
    nodes: list[str] = Field(
        default_factory=list,
        description="several nodes: the nodes the room is on, its home node first; "
        "empty with one Asterisk or while the room is placed nowhere",
    )
    links: list[RoomLinkState] = Field(
        default_factory=list,
        description="a big room spread over several nodes: the link from its home node to "
        "each other node it is on; empty otherwise",
    )
    pbx: PbxState
    locked: bool
    recording: bool
    started_at: float | None = Field(description="when the call began; null when not live")
    participants: list[Participant] = Field(description="in the order they joined")
    stack: StackState
    poll: PollState | None = Field(
        None, description="the open poll, or the last closed one; null: none in this call"
    )
    practice_room: bool = Field(False, description="simulated callers may be started here")
    practice: PracticeState | None = Field(
        None, description="the room's practice, running or its last; null: none"
    )
    calls_out: list[CallOut] = Field(
        default_factory=list, description="the numbers called into the room, in order asked"
    )
    breakout: BreakoutState | None = Field(None, description="null: no breakout runs")
    first_time_share: float | None = Field(
        None,
        description="the first-time speakers' share of the talk so far (0 to 1: the talk in "
        "each person's first turn on the floor, over all the talk); null: no turn yet",
    )


# ---- actions -----------------------------------------------------------------------------


class ActionDone(BaseModel):
    room: str
    action: str
    file: str | None = Field(None, description="record: the recording's file name")
    speaker: str | None = Field(None, description="next, call: the channel now speaking")
    poll: PollState | None = Field(None, description="poll-open, poll-close: the tally")
    cue: str | None = Field(None, description="play: the cue now playing")
    holder: str | None = Field(None, description="hand-over: the host who now holds the room")
    label: str | None = Field(None, description="label: the caller's label as kept")
    practice: PracticeState | None = Field(None, description="practice, practice-stop: its state")
    calls: list[CallOut] | None = Field(
        None, description="dialout-start: the calls queued; dialout-cancel: those cancelled"
    )
    breakout: BreakoutState | None = Field(None, description="breakout-*: the groups now")


# ---- calls, reports, the audit trail -----------------------------------------------------


class CallPath(Inputs):
    call_id: Annotated[int, Field(ge=1, le=MAX_ID, description="a call's number")]


class CallsQuery(Inputs):
    room: RoomName | None = None
    limit: Annotated[int, Field(ge=1, le=500, description="how many, newest first")] = 50


class CallList(BaseModel):
    calls: list[CallListItem] = Field(description="of the rooms this token may moderate")


class ReportQuery(Inputs):
    format: Literal["json", "csv", "svg"] = Field(
        "json", description="json (the Report), csv, or the talk-time chart as svg"
    )


class AuditQuery(Inputs):
    limit: Annotated[int, Field(ge=1, le=500, description="how many, newest first")] = 50


class AuditEntry(BaseModel):
    at: datetime
    call_id: int | None = Field(description="the call open in the room at the time")
    room: str
    actor: str = Field(description='a moderator, or "admin" (the local CLI)')
    action: str
    target_channel: str
    target_caller_id: str
    arguments: str = Field(description="the arguments other than the target, as JSON")
    result: str = Field(description='"ok", or the failure\'s code')
    message: str


class AuditList(BaseModel):
    actions: list[AuditEntry]


# ---- recordings --------------------------------------------------------------------------


class RecordingPath(Inputs):
    file: RecordingName


class RecordingsQuery(Inputs):
    room: RoomName | None = None


class Recording(BaseModel):
    file: str
    room: str
    started_at: datetime | None
    started_by: str | None = Field(description="admin, a moderator, room setting; or unknown")
    duration: float
    size: int


class RecordingList(BaseModel):
    recordings: list[Recording] = Field(description="of the rooms this token may moderate")


class HeldBackEntry(BaseModel):
    source: str = Field(description="an address (address:203.0.113.7) or a trunk's caller")
    failures: int = Field(description="wrong PINs counted against it")
    until: str = Field(description="when the hold ends (ISO 8601, UTC)")
    refused: bool = Field(description="refused outright (else: slowed)")


class HeldBackList(BaseModel):
    held_back: list[HeldBackEntry]


class SourceBody(Inputs):
    source: str = Field(max_length=200, description="an address, or a source as listed")


class LiftedHold(BaseModel):
    source: str
    cleared: bool


# ---- the push feed -----------------------------------------------------------------------


class EventsQuery(Inputs):
    room: RoomName | None = Field(None, description="only this room's events")
    kinds: Annotated[
        str | None,
        StringConstraints(pattern=r"^[a-z]+\.[a-z]+(,[a-z]+\.[a-z]+)*$"),
        Field(description="only these kinds, comma-separated: participant.joined,hand.raised"),
    ] = None


class CallPurged(BaseModel):
    """What ``POST /api/v1/calls/{call_id}/purge`` deleted."""

    call_id: int
    room: str
    purged_at: datetime
    stays: int = Field(description="participants' stays (legs) deleted")
    turns: int
    stack_events: int
    audit_rows: int = Field(description="the call's audit rows deleted (the purge's own stays)")
    recordings: list[str] = Field(description="recording files deleted")


# ---- nodes (several Asterisk nodes) ------------------------------------------------------


NodeName = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$"), Field(description="a node")
]


class NodePath(Inputs):
    node: NodeName


class NodeEntry(BaseModel):
    name: str
    sip: str = Field(description="its SIP address, HOST:PORT")
    ami: str = Field(description="its AMI address, HOST:PORT")
    state: Literal["up", "down", "draining"] = Field(
        description="up: takes new rooms; down: no AMI link; draining: its rooms finish, "
        "no new one goes there"
    )
    calls: int = Field(description="people in the rooms placed on it")
    rooms: list[str] = Field(description="the rooms placed on it")


class NodeList(BaseModel):
    nodes: list[NodeEntry] = Field(description="empty: one Asterisk, no nodes file")


class NodeDrained(BaseModel):
    node: str
    rooms: list[str] = Field(description="its live rooms, which finish there")
