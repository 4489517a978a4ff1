"""Rooms and moderators as the rest of the bridge sees them.

Plain frozen values, no I/O. The rooms file parser (``bridge.roomsfile``) builds them and is
the one that enforces their invariants (slug names, unique PINs, moderators on known rooms).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

ROOM_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")  # a slug: also the ConfBridge conference
DEFAULT_MAX_PARTICIPANTS = 500
MIN_PARTICIPANTS = 2
MAX_PARTICIPANTS = 10_000
ALL_ROOMS = "*"  # in a moderator's room list: every room, including ones added later


class QueuePolicy(StrEnum):
    """How a room's speaker stack orders raised hands."""

    FIFO = "fifo"  # first hand raised speaks first
    PROGRESSIVE = "progressive"  # those who have not spoken yet go before those who have


@dataclass(frozen=True)
class RoomSpec:
    name: str
    title: str
    # PINs are access codes: keep them out of reprs, which end up in logs and tracebacks.
    pin: str = field(repr=False)
    moderator_pin: str | None = field(default=None, repr=False)
    max_participants: int = DEFAULT_MAX_PARTICIPANTS
    muted_on_entry: bool = False  # applies to participants; moderators always join unmuted
    queue: QueuePolicy = QueuePolicy.FIFO
    speaking_time_limit: int = 0  # seconds; 0 means no limit
    record: bool = False
    announce_names: bool = False


@dataclass(frozen=True)
class ModeratorSpec:
    username: str
    # Not the password, but an offline-crackable hash all the same: not for logs either.
    password_hash: str = field(repr=False)
    rooms: tuple[str, ...] = ()  # room names, or (ALL_ROOMS,)

    def may_moderate(self, room_name: str) -> bool:
        return ALL_ROOMS in self.rooms or room_name in self.rooms


@dataclass(frozen=True)
class RoomsConfig:
    rooms: tuple[RoomSpec, ...]
    moderators: tuple[ModeratorSpec, ...] = ()

    def summary(self) -> str:
        return f"{_count(len(self.rooms), 'room')}, {_count(len(self.moderators), 'moderator')}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
