"""The entry desk: what the FastAGI dialogue on the shared number asks of the service.

Which PIN opens which room as what (the rules are in ``bridge.domain.entry``), the guard
that makes guessing slow whatever caller ID a caller sends (``bridge.domain.guard``), and
the count of callers in the dialogue right now.

The guard lives in memory and its calls are synchronous, so a prompt's ``gate`` and its
PIN's ``record`` are each atomic on the event loop: no lock, and callers from different
sources never wait for each other. The rooms come from the room cache, which on SQLite
checks that it is current without leaving the event loop (elsewhere: one primary-key read,
the only wait on the entry path). Wrong PINs are also written to the database, in batches
after the caller is answered, and read back at start, so a restart lifts no hold.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bridge.domain.entry import (
    Admission,
    LiveRoomFacts,
    PinOutcome,
    Refusal,
    admit,
    next_call_begins,
    outside_schedule,
)
from bridge.domain.events import Role
from bridge.domain.guard import (
    Gate,
    Guard,
    GuardPolicy,
    HeldBack,
    Hold,
    Outcome,
    Refuse,
    Source,
    caller_hears,
    outcome_of,
    parse_source,
)
from bridge.domain.pins import PinKeyMismatch
from bridge.domain.roster import Switchboard
from bridge.domain.sources import within
from bridge.domain.trunks import TrunkNumber, dialled_number
from bridge.service.bars import CallerBars
from bridge.service.tasks import Writer
from bridge.settings import Settings
from bridge.store import pin_failures
from bridge.store.db import Database
from bridge.store.pin_failures import FailureRow
from bridge.store.pin_key import install_pin_key
from bridge.store.room_cache import RoomCache, revision_probe
from bridge.store.trunks import number_of

log = logging.getLogger(__name__)

# Seconds a call is held (its source's tries in use by its other calls, or a shared wait
# too long), then refused. Held calls are also counted apart (guard_max_held_dialogues),
# so held calls cannot take the FastAGI server's dialogues from callers at a prompt.
MAX_HOLD = 20.0
SWEEP_EVERY = 60.0  # seconds between two clean-ups of what the guard no longer counts
REFUSED_BY_A_ROOM = frozenset({Outcome.ROOM_LOCKED, Outcome.ROOM_FULL})
CLEAN_PENDING = GuardPolicy.clean_pending


def guard_policy(settings: Settings) -> GuardPolicy:
    # Prompts from one source at once: never more than its calls in the dialogue.
    pending = settings.guard_dialogues_per_source
    return GuardPolicy(
        window=settings.guard_window_seconds,
        source_threshold=settings.guard_source_threshold,
        alarm_source_threshold=min(
            settings.guard_alarm_source_threshold, settings.guard_source_threshold
        ),
        global_alarm=settings.guard_global_alarm,
        trunk_threshold=settings.guard_trunk_threshold,
        alarm_prompts_per_minute=settings.guard_alarm_prompts_per_minute,
        first_delay=settings.guard_first_delay_seconds,
        max_delay=max(settings.guard_max_delay_seconds, settings.guard_first_delay_seconds),
        clean_pending=min(CLEAN_PENDING, pending),
        max_pending=pending,
    )


def replay(guard: Guard, rows: Iterable[FailureRow]) -> int:
    """Count stored failures into ``guard``; how many sources they named."""
    failures = []
    for row in rows:
        try:
            failures.append((parse_source(row.source), Outcome(row.outcome), row.at))
        except ValueError:
            log.warning("entry.failure_unreadable source=%r outcome=%r", row.source, row.outcome)
    guard.restore((source, outcome, at.timestamp()) for source, outcome, at in failures)
    return len({source for source, *_ in failures})


class EntryDesk:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        switchboard: Switchboard,
        notify: Callable[[], None],
        count: Callable[[Admission | Refusal], None] | None = None,
        clock: Callable[[], float] = time.time,
        bars: CallerBars | None = None,
    ) -> None:
        self.db = db
        self.bars = bars or CallerBars(switchboard, clock)  # kicked and barred callers
        self.switchboard = switchboard
        self._notify = notify
        self._count = count or (lambda _: None)  # metrics: admissions, refusals by reason
        self._clock = clock  # wall time: the failures outlive the process
        self.guard = Guard(guard_policy(settings))
        self.dialogues_per_source = settings.guard_dialogues_per_source
        self.early = timedelta(minutes=settings.schedule_early_minutes)
        self.max_held = settings.guard_max_held_dialogues
        self._revision = revision_probe(db.url)
        self.rooms = RoomCache(install_pin_key(settings), self._revision)
        self.entry_requests = 0  # dialogues started since the service started
        self.dialogues: set[str] = set()  # channels in the PIN dialogue right now
        self._source_of: dict[str, Source] = {}  # their sources, where they have a budget
        self._per_source: Counter[Source] = Counter()
        self.held: set[str] = set()  # channels held, waiting for a prompt
        self._unwritten: list[FailureRow] = []
        self._writer = Writer(self._write_failures, "entry-failures")
        self._swept_at = clock()
        # Several nodes: the node a room lives on (placed at its first admission), which the
        # entry script hands the caller over to; None with one Asterisk. Told the caller's
        # channel ("" when unknown): a big room counts them there until they join.
        self.placement: Callable[[str, str], Awaitable[str | None]] = _nowhere
        # Told when the PIN prompt is about to play to a call (a practice room's callers).
        self.pin_prompted: Callable[[Source], None] = lambda source: None

    async def restore(self) -> None:
        """At start: the failures still in the guard's window, from the database."""
        since = datetime.fromtimestamp(self._clock(), UTC) - timedelta(
            seconds=self.guard.policy.window
        )
        async with self.db.sessions() as session:
            rows = await pin_failures.failures_since(session, since)
        sources = replay(self.guard, rows)
        if rows:
            log.info("entry.guard_restored failures=%d sources=%d", len(rows), sources)
        try:  # the rooms' allowed networks are known before the first PIN
            await self.rooms.current(self.db.sessions)
        except PinKeyMismatch:
            log.error("entry.pin_key_mismatch reason=rooms_hashed_with_another_key")

    def allowed_rooms(self, source: Source) -> frozenset[str]:
        """The rooms whose ``allow_sources`` hold this caller's source (a venue's)."""
        active = self.rooms.index.active.values()
        return frozenset(spec.name for spec in active if within(source, spec.allow_sources))

    def call_entered(self, channel: str, source: Source) -> bool:
        """A call reaches the PIN dialogue. False: its source already has
        ``guard_dialogues_per_source`` calls in it, and this one is refused at once."""
        self.entry_requests += 1
        capped = source.attributable and not self.allowed_rooms(source)
        if capped and self._per_source[source] >= self.dialogues_per_source:
            self._count(Refusal.LOCKED_OUT)
            log.warning("entry.refused reason=too_many_calls source=%s", source)
            return False
        self.dialogues.add(channel)
        if source.attributable:
            self._source_of[channel] = source
            self._per_source[source] += 1
        log.debug("entry.call channel=%s", channel)
        self._notify()
        return True

    def dialogue_ended(self, channel: str) -> None:
        self.dialogues.discard(channel)
        self.held.discard(channel)
        source = self._source_of.pop(channel, None)
        if source is not None:
            self._per_source[source] -= 1
            if not self._per_source[source]:
                del self._per_source[source]
        self._notify()

    # ---- the guard, prompt by prompt ------------------------------------------------------

    def gate(
        self,
        source: Source,
        held_for: float = 0.0,
        channel: str = "",
        called_for: str | None = None,
    ) -> Gate:
        """Before a PIN prompt. ``held_for``: how long this call has been held already; a
        call held longer than ``MAX_HOLD`` is refused instead of held again, and so is a
        call that would be held while ``guard_max_held_dialogues`` calls are."""
        now = self._clock()
        if now - self._swept_at >= SWEEP_EVERY:
            self._swept_at = now
            self.guard.forget_idle(now)
        allowed = bool(self.allowed_rooms(source))
        decision = self.guard.gate(source, now, called_for=called_for, allowed=allowed)
        if isinstance(decision, Hold):
            too_many = channel not in self.held and len(self.held) >= self.max_held
            if too_many or held_for + decision.seconds > MAX_HOLD:
                decision = Refuse(until=now + decision.seconds)
            else:
                self.held.add(channel)
        if not isinstance(decision, Hold):
            self.held.discard(channel)
        if isinstance(decision, Refuse):
            self._count(Refusal.LOCKED_OUT)
            log.warning(
                "entry.held_back source=%s failures=%d for_seconds=%.0f",
                source,
                self.guard.failures(source, now),
                decision.until - now,
            )
        return decision

    async def try_pin(
        self,
        source: Source,
        digits: str,
        called_for: str | None = None,
        *,
        caller_id: str = "",
        channel: str = "",
    ) -> PinOutcome:
        """Decide one typed PIN (after a prompt ``gate`` let play) and count it. The caller
        waits for the room cache at most (see ``RoomCache``); a wrong PIN is written down
        after they are answered. ``called_for``: the room the trunk's number leads to, whose
        PINs alone open anything on this call. A caller a host barred from the room (by
        ``caller_id`` or source) hears that it is locked."""
        try:
            match = await self.rooms.match(self.db.sessions, digits)
        except PinKeyMismatch:
            self.guard.abandon(source, called_for)
            log.error("entry.pin_key_mismatch reason=rooms_hashed_with_another_key")
            raise
        except BaseException:
            self.guard.abandon(source, called_for)
            raise
        if called_for is not None and match is not None and match.room.name != called_for:
            match = None  # another room's PIN, on a number that leads to one room
        now = self._clock()
        allowed = self.allowed_rooms(source)
        over_budget = self.guard.failures(source, now) >= self.guard.threshold(now)
        if allowed and over_budget and match is not None and match.room.name not in allowed:
            match = None  # past its budget, a venue's address opens only its own rooms
        live = self.switchboard.room(match.room.name) if match else None
        facts = LiveRoomFacts(live.count, live.locked) if live else LiveRoomFacts()
        at = _at(now)
        decision = admit(
            match.room if match else None,
            match.role if match else None,
            match.retired if match else False,
            facts,
            closed=match is not None and outside_schedule(match.room, at, self.early),
        )
        own_source = str(source) if source.attributable else None
        if isinstance(decision, Admission):
            if self.bars.barred(decision.room.name, caller_id, own_source):
                log.info("entry.barred room=%s source=%s", decision.room.name, source)
                decision = Refusal.ROOM_LOCKED
            else:
                if channel:
                    self.bars.admitted(channel, own_source)
                node = await self.placement(decision.room.name, channel)
                decision = replace(decision, node=node)
        outcome = outcome_of(decision)
        refused_by = match.room.name if match and outcome in REFUSED_BY_A_ROOM else None
        # A locked or full room says so only to a source that has not failed.
        # (A caller without a budget of their own cannot be told from a guesser.)
        failed_before = self.guard.failures(source, now) if source.attributable else 1
        heard = caller_hears(decision, failed_before)
        self.guard.record(source, outcome, now, called_for=called_for)
        self._count(heard)
        if outcome.is_failure:
            heard_as = outcome_of(heard).value
            self._write_later(FailureRow(str(source), _at(now), heard_as, refused_by))
            log.info(
                "entry.pin_failed source=%s result=%s failures=%d",
                source,
                outcome_of(heard),
                self.guard.failures(source, now),
            )
        else:
            log.debug("entry.pin_matched source=%s", source)
        if heard is Refusal.NOT_STARTED and match is not None:
            log.info("entry.not_started room=%s source=%s", match.room.name, source)
            return PinOutcome(heard, next_call_begins(match.room, at))
        return PinOutcome(heard)

    def asking_pin(self, source: Source) -> None:
        """The PIN prompt is about to play to a call from ``source``. What a listener does
        is its own affair: its failure is logged, never the caller's dialogue's."""
        try:
            self.pin_prompted(source)
        except Exception:
            log.exception("entry.pin_prompted_failed source=%s", source)

    def no_pin(self, source: Source, called_for: str | None = None) -> None:
        """The prompt played and the caller typed nothing: no guess, the prompt is spent."""
        self.guard.record(source, Outcome.NO_PIN, self._clock(), called_for=called_for)
        self._count(Refusal.NO_PIN)

    def abandon(self, source: Source, called_for: str | None = None) -> None:
        """The caller hung up between the prompt ``gate`` let play and their PIN."""
        self.guard.abandon(source, called_for)

    # ---- a trunk's numbers ----------------------------------------------------------------

    async def number_dialled(self, source: Source, dialled: str | None) -> TrunkNumber | None:
        """The trunk's number this call dialled (rooms file ``trunks: numbers:``): only for a
        call Asterisk took for that trunk's, never for the internet endpoint's callers."""
        number = dialled_number(dialled or "")
        if source.trunk is None or number is None:
            return None
        async with self.db.sessions() as session:
            return await number_of(session, source.trunk, number)

    async def enter_room(self, room: str) -> PinOutcome:
        """A trunk's public number (``pin_required: false``): its room, as a participant."""
        spec = (await self.rooms.current(self.db.sessions)).active.get(room)
        if spec is None:
            self._count(Refusal.ROOM_LOCKED)
            return PinOutcome(Refusal.ROOM_LOCKED)
        live = self.switchboard.room(room)
        facts = LiveRoomFacts(live.count, live.locked) if live else LiveRoomFacts()
        at = _at(self._clock())
        closed = outside_schedule(spec, at, self.early)
        decision = admit(spec, Role.PARTICIPANT, False, facts, closed=closed)
        if isinstance(decision, Admission):
            decision = replace(decision, node=await self.placement(room, ""))
        self._count(decision)
        log.info("entry.public_number room=%s admitted=%s", room, isinstance(decision, Admission))
        return PinOutcome(decision, next_call_begins(spec, at) if closed else None)

    # ---- what an admin sees and does ------------------------------------------------------

    def held_back(self) -> list[HeldBack]:
        return self.guard.held_back(self._clock())

    async def lift(self, source: Source) -> bool:
        """Forget a source's failures, here and in the database."""
        await self.flushed()  # none of its failures may be written after the delete
        self._unwritten = [row for row in self._unwritten if row.source != str(source)]
        forgotten = self.guard.forget(source)
        async with self.db.sessions.begin() as session:
            deleted = await pin_failures.forget_source(session, str(source))
        log.warning("entry.hold_lifted source=%s", source)
        return forgotten or deleted > 0

    # ---- writing failures down ------------------------------------------------------------

    def _write_later(self, row: FailureRow) -> None:
        self._unwritten.append(row)
        self._writer.wake()

    async def _write_failures(self) -> None:
        """Write wrong PINs down, one transaction per batch: the count in memory is what
        decides; the rows are for the next start, so they need not hold the caller up."""
        while self._unwritten:
            batch, self._unwritten = self._unwritten, []
            try:
                async with self.db.sessions.begin() as session:
                    await pin_failures.add_failures(session, batch)
            except Exception:
                log.exception("entry.failures_unwritten count=%d", len(batch))

    async def flushed(self) -> None:
        """Until every failure so far is written (the service waits for it on stop)."""
        await self._writer.flushed()

    def close(self) -> None:
        if self._revision is not None:
            self._revision.close()


def _at(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


async def _nowhere(room: str, channel: str) -> str | None:
    """One Asterisk: no room is placed, every caller joins where they are."""
    return None
