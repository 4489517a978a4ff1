"""Reading one call's history for its report, and the list of calls.

Returns the plain rows of ``bridge.reports.rows``; the report itself is built from them
without the database (``bridge.reports.build``).
"""

from __future__ import annotations

import json
from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bridge.domain.known_callers import number_key
from bridge.reports.rows import (
    AuditRow,
    CallHistory,
    CallListRow,
    CallRow,
    LegRow,
    PollRow,
    RecordingStartRow,
    StackEventRow,
    StintRow,
    TurnRow,
)
from bridge.store.breakouts import stints_of_call
from bridge.store.dialouts import channels_called_in
from bridge.store.known_callers import known_labels
from bridge.store.models import (
    Call,
    Leg,
    ModeratorAction,
    RecordingStart,
    Room,
    StackEvent,
    Turn,
)
from bridge.store.polls import polls_of_call


def _call_row(call: Call, practice: bool = False) -> CallRow:
    return CallRow(
        id=call.id,
        room=call.room_name,
        started_at=call.started_at,
        ended_at=call.ended_at,
        redacted=call.redacted_at is not None,
        purged_at=call.purged_at,
        recordings_purged_at=call.recordings_purged_at,
        practice=practice,
    )


async def list_calls(
    session: AsyncSession,
    *,
    room: str | None = None,
    limit: int = 50,
    rooms: Collection[str] | None = None,
    practice: bool = False,
) -> list[CallListRow]:
    """The newest calls first, each with its number of legs and its total talk time;
    only calls in ``rooms`` when given (a moderator's rooms). Practice rooms' calls are
    left out unless their room is asked for by name (or ``practice``: only them)."""
    totals = (
        select(
            Leg.call_id,
            func.count(Leg.id).label("legs"),
            func.coalesce(func.sum(Leg.talk_time), 0.0).label("talk"),
        )
        .group_by(Leg.call_id)
        .subquery()
    )
    query = (
        select(Call, totals.c.legs, totals.c.talk)
        .outerjoin(totals, totals.c.call_id == Call.id)
        .order_by(Call.started_at.desc(), Call.id.desc())
        .limit(limit)
    )
    practice_rooms = select(Room.name).where(Room.practice.is_(True))
    if room is not None:
        query = query.where(Call.room_name == room)
    elif practice:
        query = query.where(Call.room_name.in_(practice_rooms))
    else:
        query = query.where(Call.room_name.not_in(practice_rooms))
    if rooms is not None:
        query = query.where(Call.room_name.in_(sorted(rooms)))
    rows = await session.execute(query)
    return [
        CallListRow(_call_row(call), int(legs or 0), float(talk or 0.0))
        for call, legs, talk in rows
    ]


async def recording_starters(session: AsyncSession, names: Collection[str]) -> dict[str, str]:
    """Who started each of these recordings (by file name), where that was recorded."""
    rows = await session.execute(
        select(RecordingStart.file_name, RecordingStart.started_by).where(
            RecordingStart.file_name.in_(sorted(names))
        )
    )
    return {name: who for name, who in rows}


async def call_room(session: AsyncSession, call_id: int) -> str | None:
    """The room a call was in (who may read its report depends on it)."""
    return await session.scalar(select(Call.room_name).where(Call.id == call_id))


async def load_call(session: AsyncSession, call_id: int) -> CallHistory | None:
    """Everything the report of call ``call_id`` needs from the database; None if no
    such call."""
    call = await session.get(Call, call_id)
    if call is None:
        return None
    practice = await session.scalar(select(Room.practice).where(Room.name == call.room_name))
    legs = list(
        await session.scalars(
            select(Leg).where(Leg.call_id == call_id).order_by(Leg.joined_at, Leg.id)
        )
    )
    turns = await session.scalars(
        select(Turn).where(Turn.call_id == call_id).order_by(Turn.started_at, Turn.id)
    )
    events = await session.scalars(
        select(StackEvent)
        .where(StackEvent.call_id == call_id)
        .order_by(StackEvent.at, StackEvent.id)
    )
    starts = await session.scalars(
        select(RecordingStart)
        .where(
            (RecordingStart.call_id == call_id)
            | ((RecordingStart.call_id.is_(None)) & (RecordingStart.room_name == call.room_name))
        )
        .order_by(RecordingStart.started_at)
    )
    called_in = await channels_called_in(session, call.room_name, [leg.channel for leg in legs])
    known = await known_labels(session)  # a known caller no moderator labelled: that label
    return CallHistory(
        call=_call_row(call, bool(practice)),
        legs=tuple(
            LegRow(
                leg.channel,
                leg.caller_id,
                leg.caller_name,
                leg.role,
                leg.joined_at,
                leg.left_at,
                leg.talk_time,
                leg.turns,
                leg.leave_reason,
                leg.channel in called_in,
                leg.label or known.get(number_key(leg.caller_id), ""),
            )
            for leg in legs
        ),
        turns=tuple(
            TurnRow(
                t.channel, t.caller_id, t.lane, t.started_at, t.ended_at, t.talk_time, t.ended_by
            )
            for t in turns
        ),
        stack_events=tuple(
            StackEventRow(e.at, e.kind, e.channel, e.caller_id, e.lane, e.detail) for e in events
        ),
        audit=await audit_rows(session, call),
        recording_starts=tuple(
            RecordingStartRow(s.file_name, s.started_at, s.started_by) for s in starts
        ),
        polls=await poll_rows(session, call_id),
        stints=tuple(
            StintRow(s.group_name, s.channel, s.caller_id, s.name, s.started_at, s.ended_at)
            for s in await stints_of_call(session, call_id)
        ),
    )


async def poll_rows(session: AsyncSession, call_id: int) -> tuple[PollRow, ...]:
    """The polls closed during this call, oldest first, with their counts."""
    return tuple(
        PollRow(
            question=row.question,
            opened_at=row.opened_at,
            closed_at=row.closed_at,
            counts=tuple(
                (str(o["key"]), str(o["label"]), int(o["count"])) for o in json.loads(row.options)
            ),
            voters=row.voters,
            present=row.present,
        )
        for row in await polls_of_call(session, call_id)
    )


async def audit_rows(session: AsyncSession, call: Call) -> tuple[AuditRow, ...]:
    """The moderators' actions during this call (the audit trail's rows linked to it):
    the report's "Moderators' actions" section. The target is the caller ID the moderator
    saw, else the channel (the report masks either for a reader without rights)."""
    rows = await session.scalars(
        select(ModeratorAction)
        .where(ModeratorAction.call_id == call.id)
        .order_by(ModeratorAction.id)
    )
    return tuple(
        AuditRow(
            at=row.at,
            moderator=row.actor,
            action=row.action,
            target=row.target_caller_id or row.target_channel,
            result=row.result,
        )
        for row in rows
    )


async def find_call(session: AsyncSession, call_id: int) -> Call | None:
    """Call ``call_id`` as a row to change (a purge); None when there is no such call."""
    return await session.get(Call, call_id)
