"""The audit trail in the database: one row per moderator action, linked to the call that
was open in the room at the time (so a call's history says who did what in it)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bridge.store.models import Call, ModeratorAction


@dataclass(frozen=True)
class ActionRecord:
    room: str
    at: datetime
    actor: str
    action: str
    target_channel: str = ""
    target_caller_id: str = ""
    arguments: str = ""  # JSON of the arguments other than the target
    result: str = "ok"  # "ok" or the failure's code
    message: str = ""
    call_id: int | None = None


async def add_action(session: AsyncSession, record: ActionRecord) -> ActionRecord:
    """Store ``record`` in its call, or (none given) the room's open call if any; return
    it with that call's id."""
    call_id = record.call_id
    if call_id is None:
        call_id = await session.scalar(
            select(Call.id)
            .where(Call.room_name == record.room, Call.ended_at.is_(None))
            .order_by(Call.id.desc())
            .limit(1)
        )
    session.add(
        ModeratorAction(
            call_id=call_id,
            room_name=record.room,
            at=record.at,
            actor=record.actor[:64],
            action=record.action[:32],
            target_channel=record.target_channel[:120],
            target_caller_id=record.target_caller_id[:80],
            arguments=record.arguments[:400],
            result=record.result[:32],
            message=record.message[:400],
        )
    )
    return replace(record, call_id=call_id)


async def recent_actions(session: AsyncSession, room: str, limit: int = 50) -> list[ActionRecord]:
    """The room's latest actions, newest first."""
    rows = await session.scalars(
        select(ModeratorAction)
        .where(ModeratorAction.room_name == room)
        .order_by(ModeratorAction.id.desc())
        .limit(limit)
    )
    return [_record(row) for row in rows]


async def actions_of_call(session: AsyncSession, call_id: int) -> list[ActionRecord]:
    """Every action taken during one call, oldest first (for its history and report)."""
    rows = await session.scalars(
        select(ModeratorAction)
        .where(ModeratorAction.call_id == call_id)
        .order_by(ModeratorAction.id)
    )
    return [_record(row) for row in rows]


def _record(row: ModeratorAction) -> ActionRecord:
    return ActionRecord(
        room=row.room_name,
        at=row.at,
        actor=row.actor,
        action=row.action,
        target_channel=row.target_channel,
        target_caller_id=row.target_caller_id,
        arguments=row.arguments,
        result=row.result,
        message=row.message,
        call_id=row.call_id,
    )
