"""The shared number's rules: which PIN lets a caller in, as what, and when a caller is
locked out for guessing. Pure: the FastAGI dialogue asks, this answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bridge.domain.events import Role
from bridge.domain.rooms import RoomSpec

# Caller IDs that say nothing about the caller: they all share one, stricter, bucket.
WITHHELD_CALLER_IDS = frozenset(
    {"", "anonymous", "unknown", "<unknown>", "unavailable", "restricted", "private", "withheld"}
)
ANONYMOUS_BUCKET = "anonymous"
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
    ROOM_RETIRED = "room-retired"
    LOCKED_OUT = "locked-out"


@dataclass(frozen=True)
class Admission:
    room: RoomSpec
    role: Role
    quiet: bool = False  # no join/leave sound for this caller (see QUIET_FROM_PARTICIPANTS)

    @property
    def start_muted(self) -> bool:
        return self.role is Role.PARTICIPANT and self.room.muted_on_entry

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
    """What one typed PIN led to."""

    decision: Admission | Refusal
    locked_out_now: bool = False  # this wrong PIN was the one that locked the caller out


@dataclass(frozen=True)
class LiveRoomFacts:
    """What the live roster says about a room at the moment a caller wants in."""

    participants: int = 0
    locked: bool = False


def admit(
    room: RoomSpec | None, role: Role | None, retired: bool, live: LiveRoomFacts
) -> Admission | Refusal:
    """Decide for a PIN that matched ``room`` as ``role`` (``room`` None: matched nothing)."""
    if room is None or role is None:
        return Refusal.WRONG_PIN
    if retired:
        return Refusal.ROOM_RETIRED
    if role is Role.MODERATOR:
        return Admission(room, role)  # moderators get in to a locked or full room
    if live.locked:
        return Refusal.ROOM_LOCKED
    if live.participants >= room.max_participants:
        return Refusal.ROOM_FULL
    return Admission(room, role, quiet=live.participants >= QUIET_FROM_PARTICIPANTS)


def lockout_bucket(caller_id: str) -> str:
    """The caller ID that wrong PINs count against."""
    cleaned = caller_id.strip().lower()
    return ANONYMOUS_BUCKET if cleaned in WITHHELD_CALLER_IDS else caller_id.strip()


@dataclass(frozen=True)
class LockoutPolicy:
    threshold: int = 5  # wrong PINs within the window that lock the caller out
    window: timedelta = timedelta(minutes=10)
    duration: timedelta = timedelta(minutes=15)
    anonymous_threshold: int = 3

    def threshold_for(self, bucket: str) -> int:
        return self.anonymous_threshold if bucket == ANONYMOUS_BUCKET else self.threshold

    def window_start(self, now: datetime) -> datetime:
        return now - self.window

    def should_lock(self, bucket: str, failures_in_window: int) -> bool:
        """After this many wrong PINs in the window, no more tries are allowed."""
        return failures_in_window >= self.threshold_for(bucket)

    def locked_until(self, now: datetime) -> datetime:
        return now + self.duration
