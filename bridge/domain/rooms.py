"""Rooms and moderators as the rest of the bridge sees them.

Plain frozen values, no I/O. The rooms file parser (``bridge.roomsfile``) builds them and is
the one that enforces their invariants (slug names, unique PINs, moderators on known rooms).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any

from bridge.domain.breakouts.model import Latecomers
from bridge.domain.cues import Cue
from bridge.domain.known_callers import KnownCaller
from bridge.domain.languages import DEFAULT_LANGUAGE
from bridge.domain.schedule import Schedule
from bridge.domain.trunks import TrunkSpec

ROOM_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")  # a slug: also the ConfBridge conference
TITLE_LIMIT = 200  # characters (the database's column)
DEFAULT_MAX_PARTICIPANTS = 500
MIN_PARTICIPANTS = 2
MAX_PARTICIPANTS = 10_000
DEFAULT_REJOIN_GRACE = 120  # seconds
MAX_REJOIN_GRACE = 3600
ALL_ROOMS = "*"  # in a moderator's room list: every room, including ones added later


class Right(StrEnum):
    """A moderator's role in a room, and what an action asks of whoever runs it. A room's
    hosts hold every right; its assistants only ``ASSISTANT``'s: the stack, muting,
    labels and polls, not ending, locking, kicking, barring or recording."""

    ASSISTANT = "assistant"
    HOST = "host"


@dataclass(frozen=True)
class RoomGrant:
    """One entry of a moderator's ``rooms:``: a room (or ``"*"``) and the role in it."""

    room: str
    role: Right = Right.HOST


class QueuePolicy(StrEnum):
    """How a room's speaker stack orders raised hands."""

    FIFO = "fifo"  # first hand raised speaks first
    PROGRESSIVE = "progressive"  # those who have not spoken yet go before those who have


SECRET = {"secret": True}  # field metadata: never shown in reports, reprs or logs


DEFAULT_PROCESS_KEY_INTERVAL = 60  # seconds
MAX_PROCESS_KEY_INTERVAL = 3600


@dataclass(frozen=True)
class RoomSpec:
    """A room's settings: the one definition the rooms file, the database and the sync
    read their fields from (see ``ROOM_SETTINGS``)."""

    name: str
    title: str
    # PINs are access codes: keep them out of reprs, which end up in logs and tracebacks.
    # A room read from the database has none ("" and None): only their keyed hashes are
    # stored (bridge.domain.pins); the rooms file is where the digits are.
    pin: str = field(repr=False, metadata=SECRET)
    moderator_pin: str | None = field(default=None, repr=False, metadata=SECRET)
    max_participants: int = DEFAULT_MAX_PARTICIPANTS
    muted_on_entry: bool = False  # applies to participants; moderators always join unmuted
    queue: QueuePolicy = QueuePolicy.FIFO
    speaking_time_limit: int = 0  # seconds; 0 means no limit
    record: bool = False
    announce_names: bool = False  # callers record their name; the room hears it on join
    # Callers record their name and place at entry, for the room's moderators alone.
    ask_name: bool = False
    show_numbers_to_assistants: bool = False  # assistants see "+1 555 *** **23" unless true
    auto_advance: bool = False  # a turn that ends by itself calls the next speaker
    rejoin_grace: int = DEFAULT_REJOIN_GRACE  # seconds a caller who dropped keeps their place
    # Seconds between two points of process (*7) raised by one caller; 0: no limit.
    process_key_interval: int = DEFAULT_PROCESS_KEY_INTERVAL
    # Networks a venue calls from (its Wi-Fi's public address): callers from there are slowed
    # after wrong PINs but never refused or held, and while their address is over its budget
    # only this room's PINs open anything (bridge.domain.guard, docs/admin.md).
    allow_sources: tuple[str, ...] = ()
    # When the room's calls are (bridge.domain.schedule); None: any time.
    schedule: Schedule | None = None
    public: bool = False  # listed on the directory (/calls, /calls.ics), without login
    show_pin: bool = False  # the directory shows the participant PIN (from the rooms file)
    # False: outside its scheduled calls the room tells callers when the next begins.
    admit_outside_schedule: bool = True
    # What callers hear, Asterisk's prompts and io-bridge's (bridge.domain.languages).
    language: str = DEFAULT_LANGUAGE
    # A room for rehearsing: a host may fill it with simulated callers (bridge.domain.practice);
    # its calls stay out of the real calls' list and the metrics.
    practice: bool = False
    # Who enters the PIN while a breakout runs: into the smallest group, or the main room.
    breakout_latecomers: Latecomers = Latecomers.SMALLEST

    def __post_init__(self) -> None:
        # The database and the file hand the policy over as text.
        object.__setattr__(self, "queue", QueuePolicy(self.queue))
        object.__setattr__(self, "breakout_latecomers", Latecomers(self.breakout_latecomers))

    def settings(self) -> dict[str, Any]:
        """Every setting but the name, as plain values (enums as their text)."""
        values = asdict(self)
        del values["name"]
        values["queue"] = str(self.queue.value)
        values["schedule"] = self.schedule  # a value of its own (asdict made it a dict)
        values["breakout_latecomers"] = str(self.breakout_latecomers.value)
        return values


# Every setting of a room, in the order a change report lists them; and the secret ones.
ROOM_SETTINGS: tuple[str, ...] = tuple(f.name for f in fields(RoomSpec) if f.name != "name")
SECRET_SETTINGS = frozenset(f.name for f in fields(RoomSpec) if f.metadata.get("secret"))


@dataclass(frozen=True)
class ModeratorSpec:
    username: str
    # Not the password, but an offline-crackable hash all the same: not for logs either.
    password_hash: str = field(repr=False)
    rooms: tuple[str, ...] = ()  # room names, or (ALL_ROOMS,)
    assisting: tuple[str, ...] = ()  # those of ``rooms`` where the role is assistant

    def may_moderate(self, room_name: str) -> bool:
        return ALL_ROOMS in self.rooms or room_name in self.rooms


@dataclass(frozen=True)
class RoomsConfig:
    rooms: tuple[RoomSpec, ...]
    moderators: tuple[ModeratorSpec, ...] = ()
    cues: tuple[Cue, ...] = ()  # the admins' own (the built-in ones are not listed)
    trunks: tuple[TrunkSpec, ...] = ()
    directory: tuple[KnownCaller, ...] = ()  # known numbers, labelled at entry
    # Rooms' titles in a person's voice (room name, the WAV file): bridge.domain.room_titles.
    title_recordings: tuple[tuple[str, str], ...] = ()

    def summary(self) -> str:
        summary = f"{_count(len(self.rooms), 'room')}, {_count(len(self.moderators), 'moderator')}"
        summary += f", {_count(len(self.cues), 'cue')}" if self.cues else ""
        summary += f", {_count(len(self.directory), 'known number')}" if self.directory else ""
        return summary + (f", {_count(len(self.trunks), 'trunk')}" if self.trunks else "")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
