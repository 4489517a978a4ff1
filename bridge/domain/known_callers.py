"""The directory of known numbers: callers an admin named in advance (number, name, place;
the rooms file's ``directory:`` or ``iobridge directory import FILE.csv``). A caller whose
number is in it gets "name, place" as their label when they join any room, until a
moderator gives another. Pure values and rules."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bridge.domain.labels import BadLabel, check_label

_NUMBER = re.compile(r"\+?[0-9]{3,15}")
_SEPARATORS = re.compile(r"[ ()./-]")


class BadNumber(ValueError):
    """Not a phone number the directory can match a caller ID against."""


def normalise_number(text: str) -> str:
    """``+1 (555) 012-3456`` as ``+15550123456``: digits, and a leading + if given;
    ``BadNumber`` saying what was expected otherwise."""
    number = _SEPARATORS.sub("", text.strip())
    if not _NUMBER.fullmatch(number):
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise BadNumber(
            f"expected a phone number like '+1 555 012 3456' (3-15 digits, spaces, dashes and"
            f" a leading + allowed), got {shown!r}"
        )
    return number


def number_key(number: str) -> str:
    """What a caller ID and a directory number are matched by: their digits."""
    return "".join(char for char in number if char.isdigit())


@dataclass(frozen=True)
class KnownCaller:
    number: str  # normalised
    name: str
    place: str = ""

    @property
    def label(self) -> str:
        return f"{self.name}, {self.place}" if self.place else self.name


def known_caller(number: str, name: str, place: str = "") -> KnownCaller:
    """A directory entry, checked: ``BadNumber`` or ``BadLabel`` saying why not."""
    entry = KnownCaller(normalise_number(number), name.strip(), place.strip())
    if not entry.name:
        raise BadLabel("a known caller needs a name")
    check_label(entry.label)
    return entry
