"""The words of breakouts: members, groups, the effects, the errors."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

# A room name is a slug (``bridge.domain.rooms.ROOM_NAME``) and may hold ``-`` and even
# ``--``; ``~`` is outside that alphabet, so ``ROOM~group-1`` can never be another room's name
# and reads back without doubt. ConfBridge takes any name up to 80 characters.
GROUP_SEPARATOR = "~"
GROUP_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
MAIN_ROOM = "main"  # ``move CHANNEL main``: back to the main room; never a group's name
MAX_MINUTES = 240
MAX_GROUPS = 100
WARNINGS = {120: "breakout-two-minutes", 60: "breakout-one-minute"}  # seconds left -> prompt


class BreakoutError(ValueError):
    """A breakout command that cannot be: the message says why."""


class BadGroupList(BreakoutError):
    pass


class NoSuchGroup(BreakoutError):
    def __init__(self, group: str, groups: list[str]) -> None:
        super().__init__(f"no group '{group}' (groups: {', '.join(groups)}, or {MAIN_ROOM})")
        self.group = group


class NotInBreakout(BreakoutError):
    def __init__(self, channel: str) -> None:
        super().__init__(f"'{channel}' is not in this room")
        self.channel = channel


class SplitBy(StrEnum):
    RANDOM = "random"
    STACK = "stack"  # the speaker stack's order first, then everyone else as they joined
    LIST = "list"  # a list file: group name -> caller IDs or channels


class Latecomers(StrEnum):
    SMALLEST = "smallest"  # into the group with the fewest members
    MAIN = "main"  # stay in the main room


def group_name(number: int) -> str:
    return f"group-{number}"


def conference_name(room: str, group: str | None) -> str:
    """The ConfBridge a group meets in; the room's own for the main room (None)."""
    return room if group is None else f"{room}{GROUP_SEPARATOR}{group}"


def split_conference(conference: str) -> tuple[str, str | None]:
    """(room, group) of a ConfBridge name; group None for a room's main conference."""
    room, sep, group = conference.partition(GROUP_SEPARATOR)
    return (room, group) if sep and group else (conference, None)


@dataclass(frozen=True)
class Member:
    channel: str
    caller_id: str
    name: str
    moderator: bool = False

    def as_json(self) -> dict[str, str]:
        return {"channel": self.channel, "caller_id": self.caller_id, "name": self.name}


# ---- effects ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Move:
    """Take ``channel`` to ``group``'s conference (None: the main room), without a hang-up."""

    room: str
    channel: str
    group: str | None


@dataclass(frozen=True)
class Warn:
    """Play ``prompt`` to every group (the time is nearly up)."""

    room: str
    prompt: str
    groups: tuple[str, ...]


@dataclass(frozen=True)
class Broadcast:
    """The main room's moderators heard in every group, or no longer."""

    room: str
    on: bool
    groups: tuple[str, ...]


@dataclass(frozen=True)
class StintEnded:
    """Someone's time in a group, for history and the call report."""

    room: str
    group: str
    channel: str
    caller_id: str
    name: str
    started_at: float
    ended_at: float


Effect = Move | Warn | Broadcast | StintEnded


@dataclass(frozen=True)
class BreakoutChanged:
    """A room's breakout changed (started, someone moved, ``*0``, broadcast, ended): for the
    panels, as a poll's ``PollChanged`` is."""

    room: str
