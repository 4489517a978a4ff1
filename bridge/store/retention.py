"""The retention purge: caller IDs older than the retention period leave the history.

A call that ended before the cutoff keeps its rows (the report still reads as who spoke
when), but every caller ID in them becomes a pseudonym stable within that call
("caller 3"), and recorded names are cleared; the call is marked redacted so the purge
runs once per call. Its saved stack (kept only to survive a restart during the call, and
full of caller IDs) is deleted. Audit rows written when the room had no open call (a kick
of the last caller lands after the call ended) name their target's caller ID too: past
the cutoff it becomes "redacted". Wrong PINs, which only exist to count guesses (and name
their source: an address or a trunk's caller ID), are deleted once older than the cutoff.

A host may also purge one call now (``purge_call``): its history rows go, the call row
stays with ``purged_at``, and one audit row says who purged it and when.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bridge.domain.privacy import pseudonyms
from bridge.reports.build import RECORDING_SLACK
from bridge.store.breakouts import BreakoutStint
from bridge.store.models import (
    Call,
    Leg,
    ModeratorAction,
    PinFailure,
    RecordingStart,
    SavedStack,
    StackEvent,
    Turn,
)
from bridge.store.polls import PollResult

REDACTED = "redacted"


@dataclass(frozen=True)
class RedactedCall:
    call_id: int
    room: str
    ended_at: datetime
    legs: int
    turns: int
    stack_events: int
    caller_ids: int  # distinct caller IDs replaced by pseudonyms


@dataclass(frozen=True)
class PurgeResult:
    cutoff: datetime
    calls: list[RedactedCall] = field(default_factory=list)
    pin_failures_deleted: int = 0
    audit_rows_redacted: int = 0  # rows outside any call
    recordings_deleted: tuple[str, ...] = ()  # file names (the recordings' own retention)

    @property
    def nothing_done(self) -> bool:
        return not (
            self.calls
            or self.pin_failures_deleted
            or self.audit_rows_redacted
            or self.recordings_deleted
        )

    def lines(self) -> list[str]:
        """One line per thing redacted or deleted, for the CLI and the log."""
        found = [
            f"call {c.call_id} (room {c.room}, ended {c.ended_at:%Y-%m-%d %H:%M} UTC): "
            f"{c.caller_ids} caller IDs replaced in {c.legs} legs, {c.turns} turns, "
            f"{c.stack_events} stack events"
            for c in self.calls
        ]
        if self.audit_rows_redacted:
            found.append(f"{self.audit_rows_redacted} audit rows outside a call redacted")
        if self.pin_failures_deleted:
            found.append(f"{self.pin_failures_deleted} wrong PINs deleted")
        found += [f"recording {name} deleted" for name in self.recordings_deleted]
        return found


async def purge_history(session: AsyncSession, cutoff: datetime, now: datetime) -> PurgeResult:
    """Redact every call that ended before ``cutoff`` and is not redacted yet (the caller
    commits)."""
    due = (
        await session.scalars(
            select(Call)
            .where(Call.ended_at.is_not(None), Call.ended_at < cutoff, Call.redacted_at.is_(None))
            .order_by(Call.id)
        )
    ).all()
    calls = [await _redact_call(session, call, now) for call in due]
    failures = await session.execute(delete(PinFailure).where(PinFailure.at < cutoff))
    audit = await session.execute(
        update(ModeratorAction)
        .where(
            ModeratorAction.call_id.is_(None),
            ModeratorAction.at < cutoff,
            ModeratorAction.target_caller_id.not_in(("", REDACTED)),
        )
        .values(target_caller_id=REDACTED)
    )
    return PurgeResult(
        cutoff=cutoff,
        calls=calls,
        pin_failures_deleted=_count(failures),
        audit_rows_redacted=_count(audit),
    )


def _count(result: object) -> int:
    rowcount = getattr(result, "rowcount", 0)
    return max(0, int(rowcount or 0))


async def _redact_call(session: AsyncSession, call: Call, now: datetime) -> RedactedCall:
    legs = (
        await session.scalars(
            select(Leg).where(Leg.call_id == call.id).order_by(Leg.joined_at, Leg.id)
        )
    ).all()
    turns = (
        await session.scalars(select(Turn).where(Turn.call_id == call.id).order_by(Turn.id))
    ).all()
    events = (
        await session.scalars(
            select(StackEvent).where(StackEvent.call_id == call.id).order_by(StackEvent.id)
        )
    ).all()
    stints = (
        await session.scalars(select(BreakoutStint).where(BreakoutStint.call_id == call.id))
    ).all()
    # Numbered in the order people joined; a caller ID seen only in the stack comes after.
    names = pseudonyms(
        [leg.caller_id for leg in legs]
        + [turn.caller_id for turn in turns]
        + [event.caller_id for event in events]
        + [stint.caller_id for stint in stints]
    )
    rows: list[Leg | Turn | StackEvent | BreakoutStint] = [*legs, *turns, *events, *stints]
    for row in rows:
        row.caller_id = names.get(row.caller_id, row.caller_id)
    for leg in legs:
        leg.caller_name = ""
    for stint in stints:
        stint.name = ""  # a moderator's label of the caller: a name
    await _redact_audit(session, call, names)
    await session.execute(delete(SavedStack).where(SavedStack.call_id == call.id))
    call.redacted_at = now
    await session.flush()
    assert call.ended_at is not None
    return RedactedCall(
        call_id=call.id,
        room=call.room_name,
        ended_at=call.ended_at,
        legs=len(legs),
        turns=len(turns),
        stack_events=len(events),
        caller_ids=len(names),
    )


async def _redact_audit(session: AsyncSession, call: Call, names: dict[str, str]) -> None:
    """The audit trail's targets in this call: caller IDs become the call's pseudonyms (one
    seen nowhere else in the call becomes "redacted")."""
    rows = await session.scalars(
        select(ModeratorAction).where(
            ModeratorAction.call_id == call.id, ModeratorAction.target_caller_id != ""
        )
    )
    for row in rows:
        row.target_caller_id = names.get(row.target_caller_id, REDACTED)


# ---- one call, now -------------------------------------------------------------------------


@dataclass(frozen=True)
class PurgedCall:
    call_id: int
    room: str
    started_at: datetime
    ended_at: datetime
    legs: int
    turns: int
    stack_events: int
    audit_rows: int


async def purge_call(session: AsyncSession, call: Call, now: datetime) -> PurgedCall:
    """Delete ``call``'s history (legs, turns, stack events, its saved stack, who started
    its recordings, its polls, its audit rows) and mark it purged; the caller writes the audit row
    that says who did it, and commits. The call must have ended."""
    assert call.ended_at is not None
    counts = []
    models = (
        Leg, Turn, StackEvent, ModeratorAction, RecordingStart, SavedStack, PollResult,
        BreakoutStint,
    )  # fmt: skip
    for model in models:
        column = model.call_id
        counts.append(_count(await session.execute(delete(model).where(column == call.id))))
    call.purged_at = now
    await session.flush()
    return PurgedCall(
        call_id=call.id,
        room=call.room_name,
        started_at=call.started_at,
        ended_at=call.ended_at,
        legs=counts[0],
        turns=counts[1],
        stack_events=counts[2],
        audit_rows=counts[3],
    )


async def mark_recordings_purged(
    session: AsyncSession, room: str, started: datetime, now: datetime
) -> None:
    """The call of ``room`` during which a recording that started at ``started`` was made
    has lost it: say when (a recording starts a moment after its call does)."""
    slack = RECORDING_SLACK
    await session.execute(
        update(Call)
        .where(
            Call.room_name == room,
            Call.started_at <= started + slack,
            Call.ended_at.is_(None) | (Call.ended_at >= started - slack),
        )
        .values(recordings_purged_at=now)
    )
