"""What a PIN attempt came to, as the guard counts it, and what the caller is told of it
(``bridge.domain.guard``)."""

from __future__ import annotations

from enum import StrEnum

from bridge.domain.entry import Admission, Refusal


class Outcome(StrEnum):
    """What one PIN attempt came to, as the guard counts it."""

    ADMITTED = "admitted"
    WRONG_PIN = "wrong-pin"
    RETIRED_PIN = "retired-pin"
    ROOM_LOCKED = "room-locked"
    ROOM_FULL = "room-full"
    NO_PIN = "no-pin"
    NOT_STARTED = "not-started"  # a right PIN outside the room's schedule: no failure

    @property
    def is_failure(self) -> bool:
        return self in FAILURES


FAILURES = frozenset(
    {Outcome.WRONG_PIN, Outcome.RETIRED_PIN, Outcome.ROOM_LOCKED, Outcome.ROOM_FULL}
)


def outcome_of(decision: Admission | Refusal) -> Outcome:
    """The entry rules' decision for a PIN, as the guard counts it."""
    if isinstance(decision, Admission):
        return Outcome.ADMITTED
    return {
        Refusal.WRONG_PIN: Outcome.WRONG_PIN,
        Refusal.ROOM_RETIRED: Outcome.RETIRED_PIN,
        Refusal.ROOM_LOCKED: Outcome.ROOM_LOCKED,
        Refusal.ROOM_FULL: Outcome.ROOM_FULL,
        Refusal.NO_PIN: Outcome.NO_PIN,
        Refusal.LOCKED_OUT: Outcome.NO_PIN,  # no PIN was tried
        Refusal.NOT_STARTED: Outcome.NOT_STARTED,
    }[decision]


def caller_hears(decision: Admission | Refusal, failed_before: int = 0) -> Admission | Refusal:
    """What the caller is told. A retired room's PIN sounds exactly like a wrong one. A
    locked or full room says so only to a source with no failures in the window (the
    member who typed their PIN right the first time); to one that has failed, it sounds
    like a wrong PIN, so a guesser who hits a locked room's PIN does not learn it."""
    if decision is Refusal.ROOM_RETIRED:
        return Refusal.WRONG_PIN
    if decision in (Refusal.ROOM_LOCKED, Refusal.ROOM_FULL) and failed_before:
        return Refusal.WRONG_PIN
    return decision
