"""The front door's guard: guessing a room PIN is slow whatever caller ID a caller sends.

Pure rules, no I/O (time is passed in, as seconds). The FastAGI dialogue asks ``gate``
before each PIN prompt and tells ``record`` what the PIN turned out to be; the answers are
values (play the prompt after a wait, hold the caller a moment, or refuse them).

The model (docs/admin.md, "Guessing a PIN"):

* A **source** is who a wrong PIN counts against (``bridge.domain.sources``): an internet
  caller's address (an IPv6 address by its /64), a trunk caller's asserted number, or a
  trunk caller with a withheld number (no budget of its own).
* **Failures** are a wrong PIN, a retired room's PIN (the same thing, to the caller and to
  the counters: no oracle for PINs that once existed), and a refusal by a locked or full
  room (it costs the source a guess, so it cannot speed up guessing). Typing nothing, or
  getting in, is no failure, and getting in does not give a source its budget back (else
  a member of one room could guess the others between two entries).
* Each source with a budget may fail ``source_threshold`` times in any ``window``; at that
  count it is refused before the prompt until its oldest counted failure ages out. After
  each failure the source's next prompt comes later (2 s, 4 s, 8 s ... up to
  ``max_delay``), across calls.
* **Prompts in progress** count against a source's budget once it has failed, so parallel
  calls cannot overshoot it (``Hold``); a clean source is never held for them, only spaced
  past ``clean_pending`` at once (a caller keeping prompts silent cannot turn away the
  others behind their address), up to ``max_pending`` (its calls at once). The price: a
  fresh source's first burst may fail ``max_pending`` times (``bridge.domain.guessing``).
* **A trunk's shared budget** (per trunk, and room when the number dialled names one):
  past ``trunk_threshold`` failures in the window its prompts are spaced out, never refused.
* **The alarm**: ``global_alarm`` failures from all sources in the window shrink every
  budget to ``alarm_source_threshold``, slow those who failed (and callers without a
  budget), and space all prompts, first tries too, to ``alarm_prompts_per_minute``.

A prompt whose shared waits (the trunk's, the alarm's) would be longer than ``max_wait``
is held instead (``Hold``) and asks again. What never happens: a source that has not
failed itself is refused. Other sources, however many and whatever caller IDs they send,
can slow it (the alarms, its trunk's budget), never lock it out.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from bridge.domain.pin_outcomes import FAILURES, Outcome, caller_hears, outcome_of
from bridge.domain.sources import (
    Source,
    SourceKind,
    caller_source,
    internet_source,
    parse_source,
    shared_key,
    trunk_source,
)

__all__ = [
    "FAILURES",
    "Outcome",
    "Source",
    "SourceKind",
    "caller_hears",
    "caller_source",
    "internet_source",
    "outcome_of",
    "parse_source",
    "trunk_source",
]


@dataclass(frozen=True)
class GuardPolicy:
    window: float = 3600.0  # seconds over which failures are counted
    source_threshold: int = 10  # failures in the window that refuse a source
    alarm_source_threshold: int = 4  # the same, while the global alarm is on
    global_alarm: int = 100  # failures from all sources in the window: an attack
    trunk_threshold: int = 60  # failures through one trunk (and room) before it is spaced
    alarm_prompts_per_minute: float = 30.0  # all prompts together, during the alarm
    first_delay: float = 2.0  # seconds before the prompt after a source's first failure
    max_delay: float = 60.0
    alarm_delay: float = 5.0  # extra wait per multiple of the alarm's threshold
    max_alarm_delay: float = 30.0
    hold: float = 5.0  # how long to hold a call before it asks again
    max_wait: float = 30.0  # the longest shared wait before a prompt; longer ones hold
    clean_pending: int = 10  # prompts at once from a clean source before they are spaced
    max_pending: int = 20  # prompts at once from one source (its calls in the dialogue)

    def __post_init__(self) -> None:
        if not 1 <= self.alarm_source_threshold <= self.source_threshold:
            raise ValueError("need 1 <= alarm_source_threshold <= source_threshold")
        if min(self.window, self.global_alarm, self.trunk_threshold, self.hold) <= 0:
            raise ValueError("window, alarm, trunk threshold and hold must be positive")
        if self.alarm_prompts_per_minute <= 0 or self.max_wait < 0:
            raise ValueError("alarm_prompts_per_minute must be positive, max_wait >= 0")
        if not 0 <= self.first_delay <= self.max_delay or self.alarm_delay < 0:
            raise ValueError("delays must be 0 <= first_delay <= max_delay, alarm_delay >= 0")
        if not 1 <= self.clean_pending <= self.max_pending:
            raise ValueError("need 1 <= clean_pending <= max_pending")

    def delay_after(self, failures: int) -> float:
        """The growing delay before a source's next prompt: 0, then 2, 4, 8 ... capped."""
        if failures <= 0:
            return 0.0
        return min(self.max_delay, self.first_delay * 2.0 ** min(failures - 1, 64))

    def alarm_wait(self, failures: int) -> float:
        """Extra wait for those who failed while ``failures`` (all sources) are at the alarm."""
        if failures < self.global_alarm:
            return 0.0
        return min(self.max_alarm_delay, self.alarm_delay * (failures // self.global_alarm))

    @property
    def trunk_spacing(self) -> float:
        """Seconds between two prompts through a trunk past its shared budget."""
        return self.window / self.trunk_threshold

    @property
    def alarm_spacing(self) -> float:
        """Seconds between two prompts (from anyone) during the alarm."""
        return 60.0 / self.alarm_prompts_per_minute


@dataclass(frozen=True)
class Proceed:
    """Play the PIN prompt after ``wait`` seconds."""

    wait: float


@dataclass(frozen=True)
class Hold:
    """Not yet (the source's budget is in use by its other calls, or a shared wait is too
    long): hold the caller and ask again after ``seconds``."""

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
class _Shared:
    """A budget many callers share (a trunk's): it spaces their prompts, refuses none."""

    failures: deque[float]
    pending: int = 0  # its callers' prompts granted whose outcome is not known yet
    next_prompt_at: float = -math.inf


@dataclass
class Guard:
    """Counts failures per source, per trunk and in all; decides each prompt."""

    policy: GuardPolicy = field(default_factory=GuardPolicy)
    _sources: dict[Source, _SourceState] = field(default_factory=dict)
    _shared: dict[str, _Shared] = field(default_factory=dict)
    _all: deque[float] = field(default_factory=deque)
    _alarm_next: float = -math.inf

    # ---- questions --------------------------------------------------------------------

    def failures(self, source: Source, now: float) -> int:
        state = self._sources.get(source)
        return 0 if state is None else self._recent(state.failures, now)

    def pending(self, source: Source) -> int:
        state = self._sources.get(source)
        return 0 if state is None else state.pending

    def global_failures(self, now: float) -> int:
        return self._recent(self._all, now)

    def shared_failures(self, key: str, now: float) -> int:
        shared = self._shared.get(key)
        return 0 if shared is None else self._recent(shared.failures, now)

    def alarm(self, now: float) -> bool:
        return self.global_failures(now) >= self.policy.global_alarm

    def threshold(self, now: float) -> int:
        policy = self.policy
        return policy.alarm_source_threshold if self.alarm(now) else policy.source_threshold

    # ---- commands ---------------------------------------------------------------------

    def gate(
        self, source: Source, now: float, called_for: str | None = None, allowed: bool = False
    ) -> Gate:
        """Before a PIN prompt. ``called_for``: the room the number dialled names, if any;
        ``allowed``: an admin allowed the source for a room (a venue): it is slowed by its
        failures, never refused or held for them (what its PINs may open is the desk's)."""
        policy = self.policy
        alarm = self.alarm(now)
        state = self._state(source) if source.attributable else None
        failed = 0 if state is None else self._recent(state.failures, now)
        slot, extra = now, 0.0
        if state is not None and allowed:
            extra = policy.delay_after(failed)  # each prompt, not spaced across calls
        elif state is not None:
            threshold = self.threshold(now)
            if failed >= threshold:
                # Refused until enough of its own failures are older than the window.
                counted = list(state.failures)[-failed:]
                return Refuse(until=counted[failed - threshold] + policy.window)
            if state.pending >= policy.max_pending:
                return Hold(policy.hold)
            if failed and failed + state.pending >= threshold:
                return Hold(policy.hold)  # parallel calls cannot overshoot its budget
            if not failed and state.pending >= policy.clean_pending:
                extra = policy.hold  # a clean source's burst: slowed, not held
            slot = max(slot, state.next_prompt_at)
        # The shared waits: its trunk's budget, and all prompts during the alarm.
        key = shared_key(source, called_for)
        shared = self._shared_state(key) if key is not None else None
        # Past the trunk's budget (counting its prompts in progress: no burst overshoots it).
        spaced = shared is not None and (
            self._recent(shared.failures, now) + shared.pending >= policy.trunk_threshold
        )
        shared_slot = shared.next_prompt_at if shared is not None and spaced else now
        if alarm:
            shared_slot = max(shared_slot, self._alarm_next)
        if shared_slot - now > policy.max_wait:
            return Hold(policy.hold)
        slot = max(slot, shared_slot)
        if shared is not None:
            shared.pending += 1
            if spaced:
                shared.next_prompt_at = slot + policy.trunk_spacing
        if alarm:
            self._alarm_next = slot + policy.alarm_spacing
        if state is not None:
            state.pending += 1
            if not allowed:  # parallel calls from a source that failed: spaced like its tries
                state.next_prompt_at = slot + policy.delay_after(failed)
        # The alarm slows those who have failed, and callers without a budget of their own.
        if failed or state is None:
            extra += policy.alarm_wait(self.global_failures(now))
        return Proceed(slot - now + extra)

    def record(
        self, source: Source, outcome: Outcome, now: float, *, called_for: str | None = None
    ) -> None:
        """After a granted prompt: what the PIN came to. ``called_for``: the room the
        call's number named (as given to ``gate``)."""
        self.abandon(source, called_for)
        if not outcome.is_failure:
            return
        self._all.append(now)
        self._trim(self._all, now, cap=self.policy.global_alarm * 64)
        key = shared_key(source, called_for)
        if key is not None:
            self._shared_state(key).failures.append(now)
        state = self._sources.get(source) if source.attributable else None
        if state is None:
            return
        state.failures.append(now)
        failed = self._recent(state.failures, now)
        state.next_prompt_at = max(state.next_prompt_at, now + self.policy.delay_after(failed))

    def abandon(self, source: Source, called_for: str | None = None) -> None:
        """A granted prompt that was never answered (the caller hung up first)."""
        state = self._sources.get(source)
        if state is not None and state.pending > 0:
            state.pending -= 1
        key = shared_key(source, called_for)
        shared = self._shared.get(key) if key is not None else None
        if shared is not None and shared.pending > 0:
            shared.pending -= 1

    def restore(self, failures: Iterable[tuple[Source, Outcome, float]]) -> None:
        """Failures counted before a restart, oldest first: (source, outcome, when).
        Counted as if they had just been recorded, at their own times."""
        for source, outcome, at in failures:
            if source.attributable:
                self._state(source)
            self.record(source, outcome, at)

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
        trunk's and global counts, which other sources share, are not). True if it had any."""
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
        for key in [
            k
            for k, shared in self._shared.items()
            if shared.pending == 0
            and shared.next_prompt_at <= now
            and self._recent(shared.failures, now) == 0
        ]:
            del self._shared[key]
        self._trim(self._all, now, cap=self.policy.global_alarm * 64)
        return len(idle)

    # ---- counting ---------------------------------------------------------------------

    def _state(self, source: Source) -> _SourceState:
        state = self._sources.get(source)
        if state is None:
            maxlen = self.policy.source_threshold
            state = self._sources[source] = _SourceState(deque(maxlen=maxlen))
        return state

    def _shared_state(self, key: str) -> _Shared:
        shared = self._shared.get(key)
        if shared is None:
            shared = self._shared[key] = _Shared(deque(maxlen=self.policy.trunk_threshold))
        return shared

    def _recent(self, times: deque[float], now: float) -> int:
        start = now - self.policy.window
        return sum(1 for t in times if t > start)

    def _trim(self, times: deque[float], now: float, cap: int) -> None:
        start = now - self.policy.window
        while times and (times[0] <= start or len(times) > cap):
            times.popleft()
