"""Breakout stints in a call's history, for its report: who was in which group, from when
to when (one row per stint: a caller moved between groups has several). The retention
purge replaces their caller IDs by the call's pseudonyms and blanks their names; a host's
purge of the call deletes them with the rest of its history.

And each running breakout's state (``SavedBreakout``), so that a restarted service carries
it on: one row a room, deleted when the breakout ends."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bridge.domain.breakouts import StintEnded
from bridge.store.models import Base, UtcDateTime
from bridge.store.turns import open_call_id

log = logging.getLogger(__name__)


class BreakoutStint(Base):
    """One person's time in one breakout group of a call."""

    __tablename__ = "breakout_stints"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    group_name: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(200))
    caller_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200), default="")
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SavedBreakout(Base):
    """A room's running breakout (``Breakout.to_state()`` as JSON), saved on every change."""

    __tablename__ = "saved_breakouts"

    room_name: Mapped[str] = mapped_column(String(80), primary_key=True)
    state: Mapped[str] = mapped_column(Text)
    saved_at: Mapped[datetime] = mapped_column(UtcDateTime)


def _when(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


async def record_stints(session: AsyncSession, stints: Sequence[StintEnded]) -> int:
    """Stints, each filed under its room's open call; how many were written."""
    calls: dict[str, int | None] = {}
    written = 0
    for stint in stints:
        if stint.room not in calls:
            calls[stint.room] = await open_call_id(session, stint.room)
        call_id = calls[stint.room]
        if call_id is None:
            log.warning("history.stint_without_call room=%s", stint.room)
            continue
        session.add(
            BreakoutStint(
                call_id=call_id,
                group_name=stint.group,
                channel=stint.channel,
                caller_id=stint.caller_id,
                name=stint.name,
                started_at=_when(stint.started_at),
                ended_at=_when(stint.ended_at),
            )
        )
        written += 1
    await session.flush()
    return written


async def stints_of_call(session: AsyncSession, call_id: int) -> list[BreakoutStint]:
    return list(
        await session.scalars(
            select(BreakoutStint)
            .where(BreakoutStint.call_id == call_id)
            .order_by(BreakoutStint.started_at, BreakoutStint.id)
        )
    )


async def save_breakout(session: AsyncSession, room: str, state: dict[str, Any]) -> None:
    text = json.dumps(state, separators=(",", ":"))
    row = await session.get(SavedBreakout, room)
    if row is None:
        session.add(SavedBreakout(room_name=room, state=text, saved_at=datetime.now(UTC)))
    else:
        row.state, row.saved_at = text, datetime.now(UTC)


async def drop_breakout(session: AsyncSession, room: str) -> None:
    await session.execute(delete(SavedBreakout).where(SavedBreakout.room_name == room))


async def saved_breakouts(session: AsyncSession) -> dict[str, dict[str, Any]]:
    """Room -> its breakout's saved state, for every room that had one running."""
    rows = await session.scalars(select(SavedBreakout).order_by(SavedBreakout.room_name))
    return {row.room_name: json.loads(row.state) for row in rows}
