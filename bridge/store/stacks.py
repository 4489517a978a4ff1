"""Saved speaker stacks: each live call's stack, kept so that a restarted service carries on
with exactly the stack it had. Keyed by the room's open call (a new call starts afresh). The
saved state holds what the people in play said; what those who left said is read back from
the call's history (``spoken_before``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bridge.domain.speakers import Record, records_from_history
from bridge.store.models import Call, Leg, SavedStack, Turn


async def _open_call_id(session: AsyncSession, room: str) -> int | None:
    return await session.scalar(
        select(Call.id)
        .where(Call.room_name == room, Call.ended_at.is_(None))
        .order_by(Call.id.desc())
        .limit(1)
    )


async def save_stack(session: AsyncSession, room: str, state: dict[str, Any]) -> bool:
    """Save the stack of the room's open call; False when the room has no open call (yet)."""
    call_id = await _open_call_id(session, room)
    if call_id is None:
        return False
    row = await session.get(SavedStack, call_id)
    text = json.dumps(state, separators=(",", ":"))
    now = datetime.now(UTC)
    if row is None:
        session.add(SavedStack(call_id=call_id, state=text, saved_at=now))
    else:
        row.state, row.saved_at = text, now
    return True


async def load_stack(session: AsyncSession, room: str) -> dict[str, Any] | None:
    """The saved stack of the room's open call, if any."""
    call_id = await _open_call_id(session, room)
    if call_id is None:
        return None
    row = await session.get(SavedStack, call_id)
    if row is None:
        return None
    state: dict[str, Any] = json.loads(row.state)
    return state


async def spoken_before(session: AsyncSession, room: str) -> dict[str, Record]:
    """What each person said in the room's open call, by its history: the legs with
    something said, and the turns given (``records_from_history``). Open legs count too: a
    leave not yet written when the service died, or someone still here whom the saved
    stack does not hold yet (what it holds wins)."""
    call_id = await _open_call_id(session, room)
    if call_id is None:
        return {}
    legs = await session.execute(
        select(Leg.channel, Leg.caller_id, Leg.turns, Leg.talk_time).where(
            Leg.call_id == call_id, or_(Leg.turns > 0, Leg.talk_time > 0)
        )
    )
    turns = await session.execute(
        select(Turn.channel, Turn.caller_id).where(Turn.call_id == call_id)
    )
    return records_from_history(
        [(c, who, int(n), float(talk)) for c, who, n, talk in legs], [(c, who) for c, who in turns]
    )


async def drop_stack(session: AsyncSession, room: str) -> None:
    """The call is over: its stack goes (its turns stay in history)."""
    await session.execute(
        delete(SavedStack).where(
            SavedStack.call_id.in_(select(Call.id).where(Call.room_name == room))
        )
    )
