"""The shared number's rules: which PIN lets a caller in, and as what. Pure: the FastAGI
dialogue asks, this answers. How guessing is slowed and stopped is ``bridge.domain.guard``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bridge.domain.events import Role
from bridge.domain.rooms import RoomSpec

# Caller IDs that say nothing about the caller (a trunk call with one of these has no
# source of its own: see bridge.domain.sources).
WITHHELD_CALLER_IDS = frozenset(
    {"", "anonymous", "unknown", "<unknown>", "unavailable", "restricted", "private", "withheld"}
)
# From this many participants on, a participant joins quietly: ConfBridge plays no join
# or leave sound for them (user profile option ``quiet``). Each such sound is a task on the
# room's one playback queue (``Confbridge/<room>``), played to everyone in turn, 0.4 s
# apiece; a storm of joins or a mass leave in a big room queued hundreds of them, and past
# 500 queued tasks PJSIP stopped taking calls. See asterisk-config/confbridge.conf.
QUIET_FROM_PARTICIPANTS = 30


class Refusal(StrEnum):
    """Why a caller is not let in, each with its own prompt (see docs/caller-card.md)."""

    WRONG_PIN = "wrong-pin"
    NO_PIN = "no-pin"
    ROOM_FULL = "room-full"
    ROOM_LOCKED = "room-locked"
    ROOM_RETIRED = "room-retired"  # the caller hears WRONG_PIN (guard.caller_hears)
    LOCKED_OUT = "locked-out"  # the caller's source has used its budget of guesses
    # A right PIN outside the room's scheduled calls (admit_outside_schedule: false): the
    # caller hears when the next call begins; nothing is counted against them.
    NOT_STARTED = "not-started"


@dataclass(frozen=True)
class Admission:
    room: RoomSpec
    role: Role
    quiet: bool = False  # no join/leave sound for this caller (see QUIET_FROM_PARTICIPANTS)
    node: str | None = None  # several nodes: the node the room lives on (the hand-over's)

    @property
    def start_muted(self) -> bool:
        return self.role is Role.PARTICIPANT and self.room.muted_on_entry

    @property
    def takes_name(self) -> bool:
        """The dialogue goes on after the admission, to record the caller's name."""
        return self.room.ask_name or self.room.announce_names

    @property
    def user_profile(self) -> str:
        return "iobridge_moderator" if self.role is Role.MODERATOR else "iobridge_participant"

    @property
    def menu(self) -> str:
        if self.role is Role.MODERATOR:
            return "iobridge_moderator_menu"
        return "iobridge_listener_menu" if self.room.muted_on_entry else "iobridge_participant_menu"


@dataclass(frozen=True)
class PinOutcome:
    """What one typed PIN led to, as the caller is told (a retired room's PIN is a wrong
    PIN here)."""

    decision: Admission | Refusal
    # With NOT_STARTED: when the room's next call begins, in the room's zone (None: the
    # schedule has no call left).
    begins_at: datetime | None = None


@dataclass(frozen=True)
class LiveRoomFacts:
    """What the live roster says about a room at the moment a caller wants in."""

    participants: int = 0
    locked: bool = False


def outside_schedule(room: RoomSpec, now: datetime, early: timedelta) -> bool:
    """Whether the room turns participants away now: it has a schedule, does not admit
    outside it, and no call of it is on (from ``early`` before its start to its end)."""
    if room.admit_outside_schedule or room.schedule is None:
        return False
    return room.schedule.current(now, early) is None


def next_call_begins(room: RoomSpec, now: datetime) -> datetime | None:
    """When the room's next scheduled call starts, in its zone; None: none is left."""
    upcoming = room.schedule.next_start(now) if room.schedule else None
    return upcoming.start if upcoming else None


def admit(
    room: RoomSpec | None,
    role: Role | None,
    retired: bool,
    live: LiveRoomFacts,
    closed: bool = False,
) -> Admission | Refusal:
    """Decide for a PIN that matched ``room`` as ``role`` (``room`` None: matched nothing).
    ``closed``: the room is outside its scheduled calls (``outside_schedule``)."""
    if room is None or role is None:
        return Refusal.WRONG_PIN
    if retired:
        return Refusal.ROOM_RETIRED
    if role is Role.MODERATOR:
        return Admission(room, role)  # moderators get in to a locked, full or closed room
    if closed:
        return Refusal.NOT_STARTED
    if live.locked:
        return Refusal.ROOM_LOCKED
    if live.participants >= room.max_participants:
        return Refusal.ROOM_FULL
    return Admission(room, role, quiet=live.participants >= QUIET_FROM_PARTICIPANTS)
