"""The retention purge: caller IDs older than the retention period leave the history.

A call that ended before the cutoff keeps its rows (the report still reads as who spoke
when), but every caller ID in them becomes a pseudonym stable within that call
("caller 3"), and recorded names are cleared; the call is marked redacted so the purge
runs once per call. Wrong PINs, which only exist to count guesses (and name their source:
an address or a trunk's caller ID), are deleted once they are older than the cutoff.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bridge.domain.privacy import pseudonyms
from bridge.store.models import Call, Leg, ModeratorAction, PinFailure, StackEvent, Turn


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

    @property
    def nothing_done(self) -> bool:
        return not self.calls and not self.pin_failures_deleted

    def lines(self) -> list[str]:
        """One line per thing redacted or deleted, for the CLI and the log."""
        found = [
            f"call {c.call_id} (room {c.room}, ended {c.ended_at:%Y-%m-%d %H:%M} UTC): "
            f"{c.caller_ids} caller IDs replaced in {c.legs} legs, {c.turns} turns, "
            f"{c.stack_events} stack events"
            for c in self.calls
        ]
        if self.pin_failures_deleted:
            found.append(f"{self.pin_failures_deleted} wrong PINs deleted")
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
    return PurgeResult(cutoff=cutoff, calls=calls, pin_failures_deleted=_count(failures))


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
    # Numbered in the order people joined; a caller ID seen only in the stack comes after.
    names = pseudonyms(
        [leg.caller_id for leg in legs]
        + [turn.caller_id for turn in turns]
        + [event.caller_id for event in events]
    )
    rows: list[Leg | Turn | StackEvent] = [*legs, *turns, *events]
    for row in rows:
        row.caller_id = names.get(row.caller_id, row.caller_id)
    for leg in legs:
        leg.caller_name = ""
    await _redact_audit(session, call, names)
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
        row.target_caller_id = names.get(row.target_caller_id, "redacted")
