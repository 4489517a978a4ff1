"""The rooms file's ``directory:``: known numbers, each with a name and a place, checked
with the file's lines (a bad or repeated number, a label too long for the panel)."""

from __future__ import annotations

from typing import ClassVar, Protocol

from pydantic import BaseModel, ConfigDict, StrictStr, field_validator

from bridge.domain.known_callers import KnownCaller, normalise_number, number_key
from bridge.domain.labels import BadLabel, check_label
from bridge.roomsfile.nodes import Entry


class Reader(Protocol):
    """What the check asks of the rooms file's reader: a place for problems."""

    def add(self, line: int, field: str, message: str) -> None: ...


class DirectoryEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    EXPECTED_HERE: ClassVar[dict[str, str]] = {
        "number": "a phone number in quotes, like '+1 555 012 3456'",
        "name": "a caller's name, like 'Alex'",
        "place": "where they call from, like 'Occupy Oakland'",
    }

    number: StrictStr
    name: StrictStr
    place: StrictStr = ""

    @field_validator("number")
    @classmethod
    def _number(cls, value: str) -> str:
        return normalise_number(value)

    @field_validator("name")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a known caller needs a name")
        return value.strip()


def check_directory(reader: Reader, entries: list[Entry]) -> tuple[KnownCaller, ...]:
    found: dict[str, int] = {}
    known = []
    for i, entry in enumerate(entries):
        parsed = entry.parsed
        if not isinstance(parsed, DirectoryEntry):
            continue
        line = entry.line("number")
        key = number_key(parsed.number)
        if key in found:
            message = f"number {parsed.number} is listed twice (first at line {found[key]})"
            reader.add(line, f"directory[{i}].number", message)
            continue
        found[key] = line
        caller = KnownCaller(parsed.number, parsed.name, parsed.place.strip())
        try:
            check_label(caller.label)
        except BadLabel as exc:
            reader.add(entry.line("name"), f"directory[{i}]", f"name and place: {exc}")
            continue
        known.append(caller)
    return tuple(known)
