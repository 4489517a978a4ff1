"""What the speaker stack and moderation write into a call's history for its report:
turns on the floor, stack events, and who started a recording.

Each function takes the session (the caller commits) and the room, as the domain speaks
in rooms, and files the row under the room's open call. Times are seconds since the
epoch, as on the domain's events and effects. Nothing is written when the room has no
open call (the function returns None): a turn outside a call has no report to go in.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bridge.store.models import Call, Leg, RecordingStart, StackEvent, Turn

log = logging.getLogger(__name__)

# 'called': a moderator gave someone the floor directly, without a place in the lanes.
TurnLane = Literal["process", "direct", "stack", "called"]
LANES: frozenset[str] = frozenset({"process", "direct", "stack", "called"})


def _when(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


async def open_call_id(session: AsyncSession, room: str) -> int | None:
    return await session.scalar(
        select(Call.id)
        .where(Call.room_name == room, Call.ended_at.is_(None))
        .order_by(Call.id.desc())
        .limit(1)
    )


async def record_turn(
    session: AsyncSession,
    *,
    room: str,
    channel: str,
    caller_id: str,
    lane: TurnLane,
    started_at: float,
    ended_at: float,
    talk_time: float,
    ended_by: str,
) -> Turn | None:
    """A finished turn: who (channel, caller ID), which lane it came from, when it began
    and ended, how long they were heard (the roster's talk time within the turn) and what
    ended it (done, moderator, left, time_limit, replaced ...)."""
    if lane not in LANES:
        raise ValueError(f"lane must be one of {', '.join(sorted(LANES))}, not {lane!r}")
    call_id = await open_call_id(session, room)
    if call_id is None:
        log.warning("history.turn_without_call room=%s channel=%s", room, channel)
        return None
    leg_id = await session.scalar(
        select(Leg.id)
        .where(Leg.call_id == call_id, Leg.channel == channel)
        .order_by(Leg.id.desc())
        .limit(1)
    )
    turn = Turn(
        call_id=call_id,
        leg_id=leg_id,
        channel=channel[:120],
        caller_id=caller_id[:80],
        lane=lane,
        started_at=_when(started_at),
        ended_at=_when(max(started_at, ended_at)),
        talk_time=max(0.0, talk_time),
        ended_by=ended_by[:32],
    )
    session.add(turn)
    await session.flush()
    return turn


async def record_stack_event(
    session: AsyncSession,
    *,
    room: str,
    at: float,
    kind: str,
    channel: str = "",
    caller_id: str = "",
    lane: str = "",
    detail: str = "",
) -> StackEvent | None:
    """One change to the stack: ``kind`` is a short word (hand_raised, hand_lowered,
    moved, removed, added, priority, cleared, policy ...); ``detail`` a few words more
    ("to place 2", "progressive")."""
    call_id = await open_call_id(session, room)
    if call_id is None:
        log.warning("history.stack_event_without_call room=%s kind=%s", room, kind)
        return None
    row = StackEvent(
        call_id=call_id,
        at=_when(at),
        kind=kind[:32],
        channel=channel[:120],
        caller_id=caller_id[:80],
        lane=lane[:16],
        detail=detail[:200],
    )
    session.add(row)
    await session.flush()
    return row


async def record_recording_start(
    session: AsyncSession, *, room: str, file_name: str, at: float, started_by: str
) -> RecordingStart:
    """Who started a recording: "admin", a moderator's name, or "room setting". Kept even
    when the call row is not there yet (the room's first moments)."""
    row = RecordingStart(
        call_id=await open_call_id(session, room),
        room_name=room,
        file_name=file_name[:120],
        started_at=_when(at),
        started_by=started_by[:80],
    )
    session.add(row)
    await session.flush()
    return row
