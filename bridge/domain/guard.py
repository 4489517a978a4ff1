"""The front door's guard: guessing a room PIN is slow whatever caller ID a caller sends.

Pure rules, no I/O (time is passed in, as seconds). The FastAGI dialogue asks ``gate``
before each PIN prompt and tells ``record`` what the PIN turned out to be; the answers are
values (play the prompt after a wait, hold the caller a moment, or refuse them).

The model (docs/admin.md, "Guessing a PIN"):

* A **source** is who a wrong PIN counts against (``bridge.domain.sources``): for the
  internet endpoint, the SIP source address (an IPv6 address by its /64); for a configured
  trunk, the caller ID the trunk asserts. A trunk call with no caller ID is
  **unattributable**: it is slowed by the global alarm only.
* **Failures** are a wrong PIN, a retired room's PIN (the same thing, to the caller and to
  the counters: no oracle for PINs that once existed), and a refusal by a locked or full
  room (it may say why, but it costs the source a guess, so it cannot speed up guessing).
  Typing nothing, or getting in, is no failure, and getting in does not give a source its
  budget back (else a member of one room could guess the others between two entries).
* Each source may fail ``source_threshold`` times in any ``window``; at that count it is
  refused before the prompt until its oldest counted failure ages out. Prompts a source
  may be answering at once count against the same budget, so parallel calls cannot
  overshoot it (a source that has used it up waits: ``Hold``). After each failure the
  source's next prompt comes later (2 s, 4 s, 8 s ... up to ``max_delay``), across calls.
* **Globally**, failures from all sources in the window above ``global_alarm`` mean a
  guessing attack: every source's budget shrinks to ``alarm_source_threshold`` and every
  source that has failed (and every unattributable caller) waits longer before a prompt.
* **Per room**, failures that name a room (a locked or full room's refusal, an attempt on a
  room's own number) above ``room_alarm`` slow the next attempts on that room the same way.

What never happens: a source that has not failed itself is refused. Other sources, however
many and whatever caller IDs they send, can slow it (the alarms), never lock it out.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from bridge.domain.entry import Admission, Refusal
from bridge.domain.sources import (
    Source,
    SourceKind,
    caller_source,
    internet_source,
    parse_source,
    trunk_source,
)

__all__ = [
    "Source",
    "SourceKind",
    "caller_source",
    "internet_source",
    "parse_source",
    "trunk_source",
]


class Outcome(StrEnum):
    """What one PIN attempt came to, as the guard counts it."""

    ADMITTED = "admitted"
    WRONG_PIN = "wrong-pin"
    RETIRED_PIN = "retired-pin"
    ROOM_LOCKED = "room-locked"
    ROOM_FULL = "room-full"
    NO_PIN = "no-pin"

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
    }[decision]


def caller_hears(decision: Admission | Refusal) -> Admission | Refusal:
    """What the caller is told: a retired room's PIN sounds exactly like a wrong one."""
    return Refusal.WRONG_PIN if decision is Refusal.ROOM_RETIRED else decision


@dataclass(frozen=True)
class GuardPolicy:
    window: float = 3600.0  # seconds over which failures are counted
    source_threshold: int = 10  # failures in the window that refuse a source
    alarm_source_threshold: int = 4  # the same, while the global alarm is on
    global_alarm: int = 100  # failures from all sources in the window: an attack
    room_alarm: int = 20  # failures naming one room in the window
    first_delay: float = 2.0  # seconds before the prompt after a source's first failure
    max_delay: float = 60.0
    alarm_delay: float = 5.0  # extra wait per multiple of an alarm's threshold
    max_alarm_delay: float = 30.0
    hold: float = 5.0  # how long to hold a source whose budget is all in use, then ask again

    def __post_init__(self) -> None:
        if not 1 <= self.alarm_source_threshold <= self.source_threshold:
            raise ValueError("need 1 <= alarm_source_threshold <= source_threshold")
        if min(self.window, self.global_alarm, self.room_alarm, self.hold) <= 0:
            raise ValueError("window, alarms and hold must be positive")
        if not 0 <= self.first_delay <= self.max_delay or self.alarm_delay < 0:
            raise ValueError("delays must be 0 <= first_delay <= max_delay, alarm_delay >= 0")

    def delay_after(self, failures: int) -> float:
        """The growing delay before a source's next prompt: 0, then 2, 4, 8 ... capped."""
        if failures <= 0:
            return 0.0
        return min(self.max_delay, self.first_delay * 2.0 ** min(failures - 1, 64))

    def alarm_wait(self, failures: int, alarm: int) -> float:
        """Extra wait while ``failures`` are at or above an ``alarm`` threshold."""
        if failures < alarm:
            return 0.0
        return min(self.max_alarm_delay, self.alarm_delay * (failures // alarm))


@dataclass(frozen=True)
class Proceed:
    """Play the PIN prompt after ``wait`` seconds."""

    wait: float


@dataclass(frozen=True)
class Hold:
    """The source's budget is all in use by its other calls: ask again after ``seconds``."""

    seconds: float


@dataclass(frozen=True)
class Refuse:
    """The source has used its budget: no prompt until ``until`` (a time, in seconds)."""

    until: float


Gate = Proceed | Hold | Refuse


@dataclass(frozen=True)
class HeldBack:
    """A source the guard holds back now: refused until ``until``, or (``refused`` False)
    slowed: its next prompt comes no sooner than ``until``."""

    source: Source
    failures: int  # its own failures in the window
    until: float
    refused: bool


@dataclass
class _SourceState:
    failures: deque[float]  # times of the most recent failures (at most source_threshold)
    pending: int = 0  # prompts granted whose outcome is not known yet
    next_prompt_at: float = -math.inf


@dataclass
class Guard:
    """Counts failures per source, per room and in all; decides each prompt."""

    policy: GuardPolicy = field(default_factory=GuardPolicy)
    _sources: dict[Source, _SourceState] = field(default_factory=dict)
    _all: deque[float] = field(default_factory=deque)
    _rooms: dict[str, deque[float]] = field(default_factory=dict)

    # ---- questions --------------------------------------------------------------------

    def failures(self, source: Source, now: float) -> int:
        state = self._sources.get(source)
        return 0 if state is None else self._recent(state.failures, now)

    def pending(self, source: Source) -> int:
        state = self._sources.get(source)
        return 0 if state is None else state.pending

    def global_failures(self, now: float) -> int:
        return self._recent(self._all, now)

    def room_failures(self, room: str, now: float) -> int:
        return self._recent(self._rooms.get(room, deque()), now)

    def alarm(self, now: float) -> bool:
        return self.global_failures(now) >= self.policy.global_alarm

    def room_alarm(self, room: str, now: float) -> bool:
        return self.room_failures(room, now) >= self.policy.room_alarm

    def threshold(self, now: float) -> int:
        policy = self.policy
        return policy.alarm_source_threshold if self.alarm(now) else policy.source_threshold

    # ---- commands ---------------------------------------------------------------------

    def gate(self, source: Source, now: float, room: str | None = None) -> Gate:
        """Before a PIN prompt. ``room``: the room the call is for, when its number says."""
        policy = self.policy
        slowed = policy.alarm_wait(self.global_failures(now), policy.global_alarm)
        if room is not None:
            slowed += policy.alarm_wait(self.room_failures(room, now), policy.room_alarm)
        if not source.attributable:
            return Proceed(slowed)
        state = self._sources.get(source)
        if state is None:
            state = self._sources[source] = _SourceState(deque(maxlen=policy.source_threshold))
        failed = self._recent(state.failures, now)
        threshold = self.threshold(now)
        if failed >= threshold:
            # Refused until enough of its own failures are older than the window.
            counted = list(state.failures)[-failed:]
            return Refuse(until=counted[failed - threshold] + policy.window)
        if failed + state.pending >= threshold:
            return Hold(policy.hold)
        slot = max(now, state.next_prompt_at)
        state.pending += 1
        # Parallel calls from a source that failed are spaced like its sequential tries.
        state.next_prompt_at = slot + policy.delay_after(failed)
        # The alarms slow those who have failed; a clean source's first try is not slowed.
        return Proceed(slot - now + (slowed if failed else 0.0))

    def record(
        self,
        source: Source,
        outcome: Outcome,
        now: float,
        *,
        refused_by: str | None = None,
        called_for: str | None = None,
    ) -> None:
        """After a granted prompt: what the PIN came to. ``refused_by``: the locked or full
        room that refused it; ``called_for``: the room the call's number was for."""
        state = self._sources.get(source) if source.attributable else None
        if state is not None and state.pending > 0:
            state.pending -= 1
        if not outcome.is_failure:
            return
        self._all.append(now)
        self._trim(self._all, now, cap=self.policy.global_alarm * 64)
        # A retired room's PIN is a wrong PIN: it names no room (and leaves no trace of one).
        named = {called_for} if outcome is Outcome.RETIRED_PIN else {called_for, refused_by}
        for room in sorted(r for r in named if r is not None):
            times = self._rooms.setdefault(room, deque())
            times.append(now)
            self._trim(times, now, cap=self.policy.room_alarm * 64)
        if state is None:
            return
        state.failures.append(now)
        failed = self._recent(state.failures, now)
        state.next_prompt_at = max(state.next_prompt_at, now + self.policy.delay_after(failed))

    def abandon(self, source: Source) -> None:
        """A granted prompt that was never answered (the caller hung up first)."""
        state = self._sources.get(source)
        if state is not None and state.pending > 0:
            state.pending -= 1

    def restore(self, failures: Iterable[tuple[Source, Outcome, float, str | None]]) -> None:
        """Failures counted before a restart, oldest first: (source, outcome, when, the room
        that refused it). Counted as if they had just been recorded, at their own times."""
        for source, outcome, at, room in failures:
            if source.attributable and source not in self._sources:
                maxlen = self.policy.source_threshold
                self._sources[source] = _SourceState(deque(maxlen=maxlen))
            self.record(source, outcome, at, refused_by=room)

    def held_back(self, now: float) -> list[HeldBack]:
        """Every source refused or slowed right now, the longest held first."""
        threshold = self.threshold(now)
        found = []
        for source, state in self._sources.items():
            failed = self._recent(state.failures, now)
            if failed >= threshold:
                counted = list(state.failures)[-failed:]
                until = counted[failed - threshold] + self.policy.window
                found.append(HeldBack(source, failed, until, refused=True))
            elif failed and state.next_prompt_at > now:
                found.append(HeldBack(source, failed, state.next_prompt_at, refused=False))
        return sorted(found, key=lambda held: (-held.until, held.source))

    def forget(self, source: Source) -> bool:
        """An admin lifts a source's hold: its own failures and delay are forgotten (the
        room and global counts, which other sources share, are not). True if it had any."""
        state = self._sources.get(source)
        if state is None or not state.failures:
            return False
        state.failures.clear()
        state.next_prompt_at = -math.inf
        return True

    def forget_idle(self, now: float) -> int:
        """Drop what no longer counts (call now and then); returns how many sources went."""
        idle = [
            source
            for source, state in self._sources.items()
            if state.pending == 0
            and state.next_prompt_at <= now
            and self._recent(state.failures, now) == 0
        ]
        for source in idle:
            del self._sources[source]
        for room in [r for r, times in self._rooms.items() if self._recent(times, now) == 0]:
            del self._rooms[room]
        self._trim(self._all, now, cap=self.policy.global_alarm * 64)
        return len(idle)

    # ---- counting ---------------------------------------------------------------------

    def _recent(self, times: deque[float], now: float) -> int:
        start = now - self.policy.window
        return sum(1 for t in times if t > start)

    def _trim(self, times: deque[float], now: float, cap: int) -> None:
        start = now - self.policy.window
        while times and (times[0] <= start or len(times) > cap):
            times.popleft()


def expected_hours_to_find(
    policy: GuardPolicy, sources: int, pin_digits: int = 6, rooms: int = 1
) -> float:
    """Expected hours for ``sources`` guessing together to hit one of ``rooms`` given PINs
    of ``pin_digits`` digits, at the most failures the guard allows them per hour.

    Guessing without repeats, a hit among N PINs for k rooms takes (N + 1) / (k + 1) tries
    on average."""
    # Under the alarm's threshold each source may fail source_threshold times per window;
    # once they together reach it, alarm_source_threshold times (and in between the alarm
    # comes and goes, holding them near global_alarm).
    per_window = min(
        sources * policy.source_threshold,
        max(policy.global_alarm, sources * policy.alarm_source_threshold),
    )
    per_hour = per_window * 3600.0 / policy.window
    tries = (10.0**pin_digits + 1) / (rooms + 1)
    return tries / per_hour
