"""Rooms on demand: a host opens a room for a few hours, without the rooms file.

Pure rules: what a request may ask (a title, how long), the room's name made from its
title, fresh PINs that no room has ever had (checked against the keyed hashes of every
room's PINs, retired rooms' too: a caller who kept an old PIN must never land in a new
room), and when a room opened on demand closes itself (its time is up and nobody is in
it). The service (``bridge.service.rooms_on_demand``) does the I/O.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from bridge.domain.rooms import TITLE_LIMIT

DEFAULT_HOURS = 4.0
MAX_HOURS = 72.0  # a room for longer than three days belongs in the rooms file
PIN_DIGITS = 8  # long enough for a trunk or IPv6 exposure (bridge.asterisk.exposure)
SLUG_LIMIT = 30  # characters of the title kept in the name (names are 40 at most)
PIN_TRIES = 1000  # fresh PINs drawn before giving up (10^8 PINs: never reached in practice)

RandBelow = Callable[[int], int]  # secrets.randbelow in the service; a seeded one in tests


class BadRoomRequest(ValueError):
    """What a request to open a room asked that cannot be given (one readable line)."""


@dataclass(frozen=True)
class RoomRequest:
    title: str
    hours: float = DEFAULT_HOURS
    copy_settings_from: str | None = None

    def __post_init__(self) -> None:
        title = self.title.strip()
        if not title:
            raise BadRoomRequest("title: a room needs a title")
        if len(title) > TITLE_LIMIT:
            raise BadRoomRequest(f"title: at most {TITLE_LIMIT} characters, not {len(title)}")
        if any(unicodedata.category(c).startswith("C") for c in title):
            raise BadRoomRequest("title: control characters are not allowed")
        if not 0 < self.hours <= MAX_HOURS:
            raise BadRoomRequest(
                f"hours: more than 0 and at most {MAX_HOURS:g}, not {self.hours:g}"
            )
        object.__setattr__(self, "title", title)

    def closes_at(self, now: datetime) -> datetime:
        return now + timedelta(hours=self.hours)


def room_name(title: str, taken: Collection[str], randbelow: RandBelow) -> str:
    """A room name (a slug, also ConfBridge's conference) made from the title, with a
    random tail so that two rooms of one title differ and no file's name is guessed."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:SLUG_LIMIT].strip("-")
    for _ in range(PIN_TRIES):
        name = f"{slug or 'room'}-{randbelow(10_000):04d}"
        if name not in taken:
            return name
    raise RuntimeError("no free room name found")  # 10^4 names per title: a bug, not a user


def fresh_pin(
    taken_hashes: Collection[str], hash_pin: Callable[[str], str], randbelow: RandBelow
) -> str:
    """A PIN of ``PIN_DIGITS`` digits whose hash is none of ``taken_hashes``."""
    for _ in range(PIN_TRIES):
        # No leading zero: a PIN read out or typed into a spreadsheet keeps its length.
        pin = str(10 ** (PIN_DIGITS - 1) + randbelow(9 * 10 ** (PIN_DIGITS - 1)))
        if hash_pin(pin) not in taken_hashes:
            return pin
    raise RuntimeError("no fresh PIN found")


def fresh_pins(
    taken_hashes: Collection[str], hash_pin: Callable[[str], str], randbelow: RandBelow
) -> tuple[str, str]:
    """A participant PIN and a moderator PIN, unlike every room's and unlike each other."""
    pin = fresh_pin(taken_hashes, hash_pin, randbelow)
    moderator_pin = fresh_pin({*taken_hashes, hash_pin(pin)}, hash_pin, randbelow)
    return pin, moderator_pin


def closes_now(closes_at: datetime, now: datetime, participants: int) -> bool:
    """A room opened on demand closes once its time is up and nobody is in it: a call
    that runs over is never cut off."""
    return now >= closes_at and participants == 0
