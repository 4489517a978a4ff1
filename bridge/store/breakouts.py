"""Breakout stints in a call's history, for its report: who was in which group, from when
to when (one row per stint: a caller moved between groups has several). The retention
purge replaces their caller IDs by the call's pseudonyms and blanks their names; a host's
purge of the call deletes them with the rest of its history."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import ForeignKey, String, select
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
