"""What Asterisk tells us, in the users' words: domain events fed to the roster.

The AMI adapter turns Asterisk's events into these; nothing here knows about AMI.
Every event carries ``at``, the monotonic-free wall time (seconds) it happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    PARTICIPANT = "participant"
    MODERATOR = "moderator"


class LeaveReason(StrEnum):
    """Why a participant left a room, as the roster, history and reports say it."""

    HUNG_UP = "hung up"  # the caller ended the call (or left by a key)
    TIMED_OUT = "timed out"  # the call died: no answer to a session refresh, say
    KICKED = "kicked"  # a moderator removed them, or ended the call for everyone
    MOVED = "moved"  # the bridge took them to another room


@dataclass(frozen=True)
class CallArrived:
    """A caller reached the shared number (a new channel in the entry context)."""

    channel: str
    caller_id: str
    at: float


@dataclass(frozen=True)
class CallHandedOver:
    """A caller on the shared number was handed over to their room's node (several nodes):
    their call here only relays now; their join on that node is theirs."""

    channel: str
    at: float


@dataclass(frozen=True)
class CallHungUp:
    channel: str
    at: float
    reason: LeaveReason | None = None  # from Asterisk's hangup cause, when it gave one


@dataclass(frozen=True)
class HangupRequested:
    """Asterisk is about to hang a channel up, and says why: a caller in a room leaves it
    next, and their leave carries this reason."""

    channel: str
    reason: LeaveReason
    at: float


@dataclass(frozen=True)
class RemovalOrdered:
    """The bridge is about to take a participant (``channel``, or everyone: None) out of a
    room: their next leave is for ``reason``. ``reason`` None: the order failed, forget it."""

    room: str
    channel: str | None
    reason: LeaveReason | None
    at: float


@dataclass(frozen=True)
class RoomStarted:
    room: str
    at: float


@dataclass(frozen=True)
class RoomEnded:
    room: str
    at: float


@dataclass(frozen=True)
class ParticipantJoined:
    room: str
    channel: str
    caller_id: str
    role: Role
    muted: bool
    at: float
    caller_name: str = ""
    group: str | None = None  # the breakout group whose conference they joined


@dataclass(frozen=True)
class ParticipantLeft:
    room: str
    channel: str
    at: float
    # What Asterisk's leave event says; the roster replaces it with what it learnt before
    # (``Switchboard.explain``): a hangup request's cause, or the bridge's own kick.
    reason: LeaveReason = LeaveReason.HUNG_UP
    group: str | None = None


@dataclass(frozen=True)
class ParticipantMoved:
    """A participant the bridge moved between the room's conference and a breakout group's:
    still in the room. ``settled`` False: they left the conference they were in and are on
    their way (``group`` is where they were); True: they joined ``group``'s (None: the main
    room's). ``Switchboard.explain`` makes it from the leave and join Asterisk reports."""

    room: str
    channel: str
    group: str | None
    at: float
    settled: bool
    muted: bool = False


@dataclass(frozen=True)
class MainConferenceEmptied:
    """The room's own conference ended while its people are in breakout groups: the room
    goes on (``explain`` makes it from the ``RoomEnded``)."""

    room: str
    at: float


@dataclass(frozen=True)
class MuteChanged:
    room: str
    channel: str
    muted: bool
    at: float


@dataclass(frozen=True)
class TalkingChanged:
    room: str
    channel: str
    talking: bool
    at: float


@dataclass(frozen=True)
class RecordingChanged:
    room: str
    recording: bool
    at: float


@dataclass(frozen=True)
class LockChanged:
    room: str
    locked: bool
    at: float


@dataclass(frozen=True)
class SeenParticipant:
    """One line of Asterisk's ConfbridgeList, as read during a resync."""

    channel: str
    caller_id: str
    role: Role
    muted: bool
    talking: bool
    caller_name: str = ""
    group: str | None = None  # in a breakout group's conference
    # What history already holds for this participant (a restarted service finds them
    # in the room): their talk time and turns go on from there rather than from zero.
    earlier_talk_time: float = 0.0
    earlier_turns: int = 0


@dataclass(frozen=True)
class SeenRoom:
    """One room of ConfbridgeListRooms with its ConfbridgeList."""

    room: str
    locked: bool
    participants: tuple[SeenParticipant, ...] = ()
    recording: bool = False  # the bridge's recorder is in it
    links: tuple[str, ...] = ()  # a big room's link channels in it (bridge.domain.cascade)


@dataclass(frozen=True)
class PbxSnapshot:
    """Asterisk's whole truth, read in one go: its rooms with their lists, and every
    channel it still has."""

    rooms: tuple[SeenRoom, ...]
    channels: tuple[str, ...]


@dataclass(frozen=True)
class Resynced:
    """Asterisk's whole truth after a (re)connect: every live room and who is in it."""

    rooms: tuple[SeenRoom, ...]
    at: float
    # Every channel Asterisk still has (CoreShowChannels); None: not asked, so the calls
    # on the shared number are kept as they are. An empty tuple means Asterisk has none.
    channels: tuple[str, ...] | None = None


@dataclass(frozen=True)
class PbxLost:
    """The AMI connection dropped: what we know may be stale until the next resync."""

    at: float


DomainEvent = (
    CallArrived
    | CallHandedOver
    | CallHungUp
    | HangupRequested
    | RemovalOrdered
    | RoomStarted
    | RoomEnded
    | ParticipantJoined
    | ParticipantLeft
    | ParticipantMoved
    | MainConferenceEmptied
    | MuteChanged
    | TalkingChanged
    | RecordingChanged
    | LockChanged
    | Resynced
    | PbxLost
)
