"""One entry of the rooms file at a time: the pydantic models that check a room's and a
moderator's fields (types, ranges, formats), and the words used when one is wrong."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, ClassVar

import argon2
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    InstanceOf,
    StrictBool,
    StrictInt,
    StrictStr,
    field_validator,
)

from bridge.domain.breakouts.model import Latecomers
from bridge.domain.guard import GuardPolicy
from bridge.domain.guessing import duration, expected_hours_to_find
from bridge.domain.languages import DEFAULT_LANGUAGE, LANGUAGES, unknown_language
from bridge.domain.name_announcements import NAMES_IN_A_ROW, STALE_AFTER
from bridge.domain.rooms import (
    ALL_ROOMS,
    DEFAULT_MAX_PARTICIPANTS,
    DEFAULT_PROCESS_KEY_INTERVAL,
    DEFAULT_REJOIN_GRACE,
    MAX_PARTICIPANTS,
    MAX_PROCESS_KEY_INTERVAL,
    MAX_REJOIN_GRACE,
    MIN_PARTICIPANTS,
    ROOM_NAME,
    TITLE_LIMIT,
    ModeratorSpec,
    QueuePolicy,
    Right,
    RoomGrant,
    RoomSpec,
)
from bridge.domain.schedule import Schedule

_SLUG = ROOM_NAME
_PIN = re.compile(r"[0-9]{4,12}")
SAFE_PIN_DIGITS = 6  # shorter PINs are accepted, with a warning: see short_pin_warning
# ... unless a trunk or an IPv6 transport is configured: then shorter PINs are refused.
LONG_PIN_DIGITS = 8
# The widest network a room may allow (allow_sources): a venue's, not a provider's.
MIN_ALLOWED_PREFIX = {4: 24, 6: 48}
# OWASP's minimum for argon2id: 19 MiB and 2 passes (or one pass over at least 46 MiB).
MIN_ARGON2_MEMORY_KIB = 19 * 1024
MIN_ARGON2_MEMORY_KIB_ONE_PASS = 46 * 1024
MIN_ARGON2_TIME_COST = 2
_USERNAME = re.compile(r"[a-z0-9._-]{1,64}")
PIN_FIELDS = ("pin", "moderator_pin")
SECRET_FIELDS = frozenset({"password_hash"})


class RoomEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: StrictStr
    title: StrictStr | None = None
    pin: StrictStr
    moderator_pin: StrictStr | None = None
    max_participants: Annotated[StrictInt, Field(ge=MIN_PARTICIPANTS, le=MAX_PARTICIPANTS)] = (
        DEFAULT_MAX_PARTICIPANTS
    )
    muted_on_entry: StrictBool = False
    queue: QueuePolicy = QueuePolicy.FIFO
    speaking_time_limit: Annotated[StrictInt, Field(ge=0)] = 0
    record: StrictBool = False
    announce_names: StrictBool = False
    practice: StrictBool = False
    ask_name: StrictBool = False
    show_numbers_to_assistants: StrictBool = False
    auto_advance: StrictBool = False
    rejoin_grace: Annotated[StrictInt, Field(ge=0, le=MAX_REJOIN_GRACE)] = DEFAULT_REJOIN_GRACE
    process_key_interval: Annotated[StrictInt, Field(ge=0, le=MAX_PROCESS_KEY_INTERVAL)] = (
        DEFAULT_PROCESS_KEY_INTERVAL
    )
    allow_sources: list[StrictStr] = []
    # Read from its mapping by bridge.roomsfile.schedule (each problem on its own line).
    schedule: InstanceOf[Schedule] | None = None
    public: StrictBool = False
    show_pin: StrictBool = False
    admit_outside_schedule: StrictBool = True
    language: StrictStr = DEFAULT_LANGUAGE
    breakout_latecomers: Latecomers = Latecomers.SMALLEST
    # The title in a person's voice, for callers called in (bridge.domain.room_titles):
    # a file the sync installs, not a setting the database keeps (ROOM_FILES).
    title_recording: StrictStr | None = None

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG.fullmatch(value):
            raise ValueError(
                "must be 1-40 characters of a-z, 0-9 and '-', starting with a letter or digit,"
                f" got {quote(value)}"
            )
        return value

    @field_validator("title")
    @classmethod
    def _title(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be blank (leave it out to use the room name)")
        if value is not None and len(value) > TITLE_LIMIT:
            raise ValueError(f"must be at most {TITLE_LIMIT} characters, got {len(value)}")
        return value

    @field_validator(*PIN_FIELDS)
    @classmethod
    def _pin(cls, value: str | None) -> str | None:
        if value is not None and not _PIN.fullmatch(value):
            raise ValueError(f"must be 4-12 digits, got {quote(value)}")
        return value

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        problem = unknown_language(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("allow_sources")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        networks = []
        for text in value:
            try:
                network = ipaddress.ip_network(text, strict=False)
            except ValueError:
                raise ValueError(
                    f"not a network: {text!r} (expected e.g. 198.51.100.0/24)"
                ) from None
            widest = MIN_ALLOWED_PREFIX[network.version]
            if network.prefixlen < widest:
                raise ValueError(
                    f"{text!r} is too wide to allow: at most a /{widest} (a venue's addresses)"
                )
            networks.append(str(network))
        return networks


class ModeratorEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ITEM_EXPECTED: ClassVar[str] = "a room name or {room: NAME, role: host|assistant}"

    username: StrictStr
    password_hash: StrictStr
    rooms: list[StrictStr | RoomGrant]  # a name (host), or {room, role} (``grants``)

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        if not _USERNAME.fullmatch(value):
            raise ValueError(
                f"must be 1-64 characters of a-z, 0-9, '.', '_' and '-', got {quote(value)}"
            )
        return value

    @field_validator("password_hash")
    @classmethod
    def _argon2(cls, value: str) -> str:
        # The message is replaced by SECRET_MESSAGE anyway; never put the value in it.
        if not value.startswith("$argon2") or any(c.isspace() for c in value):
            raise ValueError("not an argon2 hash")
        try:
            parameters = argon2.extract_parameters(value)
        except ValueError:  # InvalidHashError, or numbers that do not parse
            raise ValueError("not an argon2 hash") from None
        memory, passes = parameters.memory_cost, parameters.time_cost
        enough_memory = memory >= MIN_ARGON2_MEMORY_KIB
        if not enough_memory or (
            passes < MIN_ARGON2_TIME_COST and memory < MIN_ARGON2_MEMORY_KIB_ONE_PASS
        ):
            raise WeakHash(memory, passes)
        return value

    @field_validator("rooms")
    @classmethod
    def _rooms(cls, value: list[str | RoomGrant]) -> list[str | RoomGrant]:
        if not value:
            raise ValueError('must list at least one room, or ["*"] for every room')
        names = [grant_of_item(item).room for item in value]
        if ALL_ROOMS in names and len(set(names)) > 1:
            raise ValueError('"*" already means every room: list it alone')
        roles: dict[str, Right] = {}
        for item in value:
            grant = grant_of_item(item)
            if roles.setdefault(grant.room, grant.role) is not grant.role:
                raise ValueError(f"room {quote(grant.room)} is listed as both host and assistant")
        return value


# What a field should look like, for type and range errors ("must be X, got Y").
ROOM_FILES = ("title_recording",)  # a room's keys that name files, not settings

EXPECTED = {
    "name": "a room name like 'ga-national'",
    "title": "text",
    "pin": 'a PIN of 4-12 digits in quotes, like "424242"',
    "moderator_pin": 'a PIN of 4-12 digits in quotes, like "919191"',
    "max_participants": f"a whole number from {MIN_PARTICIPANTS} to {MAX_PARTICIPANTS}",
    "muted_on_entry": "true or false",
    "queue": "fifo or progressive",
    "speaking_time_limit": "a whole number of seconds, 0 for no limit",
    "record": "true or false",
    "announce_names": "true or false",
    "practice": "true or false",
    "ask_name": "true or false",
    "show_numbers_to_assistants": "true or false",
    "auto_advance": "true or false",
    "rejoin_grace": f"a whole number of seconds from 0 to {MAX_REJOIN_GRACE}",
    "process_key_interval": f"a whole number of seconds from 0 to {MAX_PROCESS_KEY_INTERVAL}"
    " (0: no limit)",
    "allow_sources": 'a list of networks in quotes, like ["198.51.100.0/24"]',
    "schedule": '{rrule: "FREQ=WEEKLY;BYDAY=TH;BYHOUR=20", tz: America/New_York, minutes: 90}',
    "public": "true or false",
    "show_pin": "true or false",
    "admit_outside_schedule": "true or false",
    "language": f"a language code: {', '.join(LANGUAGES)}",
    "breakout_latecomers": "smallest (into the smallest group) or main (the main room)",
    "title_recording": "the path of an 8 kHz mono WAV file: the title, spoken",
    "username": "a user name like 'stackkeeper'",
    "rooms": 'a list of room names, or ["*"] for every room',
}
SECRET_MESSAGE = (
    "must be an argon2 hash like '$argon2id$v=19$m=65536,t=3,p=4$...', not a password"
    " (the value is not shown here; make one with: iobridge moderators hash-password)"
)


class WeakHash(ValueError):
    """An argon2 hash too cheap to compute: a stolen rooms file or database would give its
    password away. The message names the parameters, never the hash."""

    def __init__(self, memory_kib: int, passes: int) -> None:
        super().__init__(
            f"argon2 parameters too weak (memory {memory_kib} KiB, time cost {passes}): "
            f"OWASP's minimum is {MIN_ARGON2_MEMORY_KIB} KiB (19 MiB) with time cost "
            f"{MIN_ARGON2_TIME_COST}; make a new hash with: iobridge moderators hash-password"
        )


# announce_names: each name goes to the whole room, one at a time: the pause, the name (at
# most 6 s, 3 s said on average), "has joined" or "has left" (bridge.service.names); past a
# few waiting, names are folded into counts (bridge.domain.name_announcements).
SECONDS_PER_NAME = 5
ANNOUNCED_NAMES_UP_TO = 40  # callers: past this a join storm is mostly heard as counts


def announce_names_warning(max_participants: int) -> str | None:
    """What announcing names means in a room this size, or None when it is small."""
    if max_participants <= ANNOUNCED_NAMES_UP_TO:
        return None
    return (
        f"names are played to the whole room one at a time, about {SECONDS_PER_NAME} s each, "
        f"only while at most {NAMES_IN_A_ROW} wait and none has waited {STALE_AFTER:g} s; "
        f"more callers than that joining or leaving together (a room of {max_participants} "
        "filling up) are heard as a count ('joined the call: 12'), not by name; to know every "
        "caller by name use ask_name (moderators play names on demand)"
    )


def short_pin_warning(pin: str) -> str | None:
    """What a PIN shorter than SAFE_PIN_DIGITS costs, in the guard's defaults' numbers."""
    if len(pin) >= SAFE_PIN_DIGITS:
        return None
    policy = GuardPolicy()
    short = expected_hours_to_find(policy, sources=100, pin_digits=len(pin))
    safe = expected_hours_to_find(policy, sources=100, pin_digits=SAFE_PIN_DIGITS)
    return (
        f"a PIN of {len(pin)} digits is found in about {duration(short)} by 100 callers "
        f"guessing from different addresses ({SAFE_PIN_DIGITS} digits: about "
        f"{duration(safe)}); use {SAFE_PIN_DIGITS} digits or more"
    )


def room_spec(entry: RoomEntry) -> RoomSpec:
    values = entry.model_dump()
    del values["title_recording"]  # a file, not a setting: RoomsConfig.title_recordings
    if values["title"] is None:
        values["title"] = entry.name
    values["allow_sources"] = tuple(values["allow_sources"])
    values["schedule"] = entry.schedule  # the value itself, not model_dump's dict of it
    return RoomSpec(**values)


def grant_of_item(item: str | RoomGrant) -> RoomGrant:
    """A plain room name is the old form: its moderator is the room's host."""
    return item if isinstance(item, RoomGrant) else RoomGrant(item, Right.HOST)


def moderator_spec(entry: ModeratorEntry) -> ModeratorSpec:
    grants = [grant_of_item(item) for item in entry.rooms]
    rooms = tuple(dict.fromkeys(g.room for g in grants))  # listed twice is harmless: keep one
    assisting = tuple(dict.fromkeys(g.room for g in grants if g.role is Right.ASSISTANT))
    return ModeratorSpec(
        username=entry.username, password_hash=entry.password_hash, rooms=rooms, assisting=assisting
    )


def quote(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")
