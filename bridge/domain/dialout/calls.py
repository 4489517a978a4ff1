"""Calls out, one per number: their states and what moves them, with no I/O.

``DialBook`` holds every room's calls out. The service asks it what to dial next
(``due``), tells it what Asterisk reported (``ringing``, ``answered``, ``joined``,
``ended``), and shows its calls (``calls_of``). Each trunk's pace (``TrunkPacer``) is kept
here, across rooms: two rooms dialling through one trunk share its limits.

A call's states: ``queued`` -> ``ringing`` -> ``answered`` (the callee picked up and hears
the offer) -> ``joined`` (they pressed 1, or no offer was asked for: in the room). An
attempt ends ``busy``, ``no-answer``, ``declined`` (refused, or hung up on the offer) or
``failed``; busy, no answer and failed are tried again ``RETRY_SECONDS`` later while
attempts are left. ``cancelled`` by a moderator, before the callee joined.

An alert's numbers (``bridge.domain.alerts``) are calls out too, marked with the alert's
id: they share the trunks' pace and slots with the rooms' calls, but are not among a
room's calls out (``calls_of``), and a room's cancel leaves them be.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from enum import StrEnum

from bridge.domain.dialout.limits import Callee, TrunkPacer
from bridge.domain.trunks import TrunkSpec

RETRY_SECONDS = 60.0
KEEP_SECONDS = 12 * 3600.0  # a call over for good stays this long (a room's panel lists it)
RING_SECONDS = 30.0  # no answer after this: the attempt ends
KEY_SECONDS = 15.0  # the offer unanswered after this: the attempt ends


class CallState(StrEnum):
    QUEUED = "queued"
    RINGING = "ringing"
    ANSWERED = "answered"
    JOINED = "joined"
    DECLINED = "declined"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    FAILED = "failed"
    CANCELLED = "cancelled"


RETRIED = frozenset({CallState.BUSY, CallState.NO_ANSWER, CallState.FAILED})
UP = frozenset({CallState.RINGING, CallState.ANSWERED, CallState.JOINED})

# Q.850 causes (Asterisk's causes.h) of a call that ended before it was answered.
_CAUSES = {
    17: CallState.BUSY,  # user busy (SIP 486, 600)
    18: CallState.NO_ANSWER,  # no user responding (SIP 408)
    19: CallState.NO_ANSWER,  # no answer (SIP 480, or Originate's timeout)
    21: CallState.DECLINED,  # call rejected (SIP 603)
}
# OriginateResponse's Reason: the last control frame Asterisk saw from the callee.
_REASONS = {3: CallState.NO_ANSWER, 5: CallState.BUSY, 8: CallState.FAILED}


def state_for_cause(cause: int | None, reason: int | None = None) -> CallState:
    """How an unanswered attempt ended, from the hangup cause, else Originate's reason."""
    if cause is not None and cause in _CAUSES:
        return _CAUSES[cause]
    if reason is not None and reason in _REASONS:
        return _REASONS[reason]
    return CallState.FAILED


@dataclass(frozen=True)
class CallOut:
    id: str  # also the channel's unique id in Asterisk (Originate's ChannelId)
    room: str
    number: str
    name: str
    trunk: str
    asked_by: str
    confirm: bool
    retries: int
    state: CallState = CallState.QUEUED
    attempts: int = 0
    updated_at: float = 0.0
    next_try: float = 0.0
    up: bool = False  # holding one of its trunk's slots
    channel: str = ""  # the callee's channel once answered
    alert: str = ""  # the alert this call rings out, "" for a room's call out
    heard: bool = False  # an alert's message played to its end
    retry_after: float | None = None  # seconds before another attempt; None: the book's

    def waiting_to_retry(self) -> bool:
        """This attempt did not reach them and another is due later (its retries last)."""
        return self.state in RETRIED and not self.up and self.next_try > self.updated_at

    def as_json(self) -> dict[str, object]:
        return {
            "number": self.number,
            "name": self.name,
            "state": str(self.state),
            "attempts": self.attempts,
            "updated_at": self.updated_at,
        }


class DialBook:
    def __init__(self, trunks: dict[str, TrunkSpec], retry_seconds: float = RETRY_SECONDS) -> None:
        self.retry_seconds = retry_seconds
        self.calls: dict[str, CallOut] = {}  # by id, in the order asked
        self.pacers: dict[str, TrunkPacer] = {}
        self.trunks = trunks
        self._ids = itertools.count(1)

    def set_trunks(self, trunks: dict[str, TrunkSpec]) -> None:
        self.trunks = trunks
        for name, pacer in self.pacers.items():
            if name in trunks:
                pacer.max_concurrent = trunks[name].outbound.max_concurrent
                pacer.calls_per_second = trunks[name].outbound.calls_per_second

    def _pacer(self, trunk: str) -> TrunkPacer:
        if trunk not in self.pacers:
            out = self.trunks[trunk].outbound
            self.pacers[trunk] = TrunkPacer(out.max_concurrent, out.calls_per_second)
        return self.pacers[trunk]

    def add(
        self,
        room: str,
        callees: list[tuple[Callee, str]],
        *,
        asked_by: str,
        confirm: bool,
        retries: int,
        now: float,
        prefix: str = "dial",  # the ids' start: the service's own, unique per run
        alert: str = "",
        retry_after: float | None = None,
    ) -> list[CallOut]:
        """Queue each (callee, trunk); a number already queued or up in the room (in the
        alert) is kept as it is, not called twice. Calls over for good for ``KEEP_SECONDS``
        are forgotten first (their rows are in the database): a service up for a year dialled
        more than a panel should list, or memory should hold."""
        for old in [c.id for c in self.calls.values() if _over_before(c, now - KEEP_SECONDS)]:
            del self.calls[old]
        busy = {
            c.number
            for c in self.calls.values()
            if c.room == room and c.alert == alert and _pending(c)
        }
        added = []
        for callee, trunk in callees:
            if callee.number in busy:
                continue
            call = CallOut(
                f"{prefix}-{next(self._ids)}",
                room,
                callee.number,
                callee.name,
                trunk,
                asked_by,
                confirm,
                retries,
                updated_at=now,
                next_try=now,
                alert=alert,
                retry_after=retry_after,
            )
            self.calls[call.id] = call
            added.append(call)
        return added

    def due(self, now: float) -> tuple[list[CallOut], float | None]:
        """The calls to dial now (each now ``ringing``, its attempt counted), and how many
        seconds until another may be due (None: nothing waits for time)."""
        started: list[CallOut] = []
        wake: float | None = None
        for call in list(self.calls.values()):
            if call.state is not CallState.QUEUED and not call.waiting_to_retry():
                continue
            if call.next_try > now:
                wake = _sooner(wake, call.next_try - now)
                continue
            pacer = self._pacer(call.trunk)
            wait = pacer.wait(now)
            if wait is None:
                continue  # a slot frees when a call ends, which wakes the dialler
            if wait > 0:
                wake = _sooner(wake, wait)
                continue
            pacer.start(now)
            dialled = replace(
                call, state=CallState.RINGING, attempts=call.attempts + 1, updated_at=now, up=True
            )
            self.calls[call.id] = dialled
            started.append(dialled)
        return started, wake

    def answered(self, call_id: str, channel: str, now: float) -> CallOut | None:
        call = self.calls.get(call_id)
        if call is None or call.state is not CallState.RINGING:
            return None
        return self._set(call, CallState.ANSWERED, now, channel=channel)

    def joined(self, call_id: str, now: float) -> CallOut | None:
        call = self.calls.get(call_id)
        if call is None or call.state not in (CallState.RINGING, CallState.ANSWERED):
            return None
        return self._set(call, CallState.JOINED, now)

    def heard(self, call_id: str, now: float) -> CallOut | None:
        """An alert's message played to its end on this call."""
        call = self.calls.get(call_id)
        if call is None or call.state is not CallState.ANSWERED:
            return None
        return self._set(call, call.state, now, heard=True)

    def ended(self, call_id: str, outcome: CallState, now: float) -> CallOut | None:
        """The callee's channel is gone. ``outcome`` is how the attempt ended if it had not
        joined (a joined call stays ``joined``; a cancelled one ``cancelled``)."""
        call = self.calls.get(call_id)
        if call is None or not call.up:
            return None
        self._pacer(call.trunk).ended()
        if call.state in (CallState.JOINED, CallState.CANCELLED):
            return self._set(call, call.state, now, up=False)
        retry = outcome in RETRIED and call.attempts <= call.retries
        after = self.retry_seconds if call.retry_after is None else call.retry_after
        return self._set(
            call, outcome, now, up=False, next_try=now + after if retry else call.next_try
        )

    def cancel(self, room: str, number: str | None, now: float) -> list[CallOut]:
        """Cancel the room's calls (or one number's) not yet joined: those up are returned
        with their channel to hang up (still holding their slot until ``ended``)."""
        return self._cancel(
            [c for c in self.calls_of(room) if number is None or c.number == number], now
        )

    def cancel_alert(self, alert: str, now: float) -> list[CallOut]:
        """Cancel an alert's calls not yet over (as ``cancel``)."""
        return self._cancel(self.calls_of_alert(alert), now)

    def _cancel(self, calls: list[CallOut], now: float) -> list[CallOut]:
        cancelled = []
        for call in calls:
            waiting = call.state is CallState.QUEUED or call.waiting_to_retry()
            if waiting or call.state in (CallState.RINGING, CallState.ANSWERED):
                cancelled.append(self._set(call, CallState.CANCELLED, now))
        return cancelled

    def calls_of(self, room: str) -> list[CallOut]:
        """The room's calls out (an alert's are not among them)."""
        return [call for call in self.calls.values() if call.room == room and not call.alert]

    def calls_of_alert(self, alert: str) -> list[CallOut]:
        return [call for call in self.calls.values() if call.alert == alert]

    def up_on(self, trunk: str) -> int:
        return self.pacers[trunk].up if trunk in self.pacers else 0

    def _set(self, call: CallOut, state: CallState, now: float, **changes: object) -> CallOut:
        changed = replace(call, state=state, updated_at=now, **changes)  # type: ignore[arg-type]
        self.calls[call.id] = changed
        return changed


def _pending(call: CallOut) -> bool:
    return call.state is CallState.QUEUED or call.up or call.waiting_to_retry()


def _over_before(call: CallOut, moment: float) -> bool:
    return not _pending(call) and call.updated_at < moment


def _sooner(a: float | None, b: float) -> float:
    return b if a is None else min(a, b)


@dataclass(frozen=True)
class DialOutChanged:
    """A call out of ``room`` changed state: panels redraw its list."""

    room: str
