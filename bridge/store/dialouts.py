"""Dial-outs in the database: every number a moderator had dialled, for the daily cap
(``dialout_daily_limit`` counts a moderator's rows since midnight UTC) and for the rooms'
history (who asked, how each call went, which channel joined). An alert's numbers are rows
here too (``alert``: its id), so the daily cap counts them with the rooms' calls out."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Boolean, Index, Integer, String, false, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bridge.domain.dialout import CallOut, CallState
from bridge.store.models import Base, UtcDateTime


class DialoutRow(Base):
    __tablename__ = "dialouts"
    __table_args__ = (Index("ix_dialouts_asked_by_asked_at", "asked_by", "asked_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    room: Mapped[str] = mapped_column(String(40), index=True)
    number: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(80))
    trunk: Mapped[str] = mapped_column(String(40))
    asked_by: Mapped[str] = mapped_column(String(64))
    asked_at: Mapped[datetime] = mapped_column(UtcDateTime)
    state: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    channel: Mapped[str] = mapped_column(String(80))
    alert: Mapped[str | None] = mapped_column(String(40), index=True)  # an alert's number
    heard: Mapped[bool] = mapped_column(Boolean, server_default=false())


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


async def keep_calls(session: AsyncSession, calls: list[CallOut], asked_at: float) -> None:
    """Write each call's row (new ones with when they were asked for), as it is now."""
    for call in calls:
        row = await session.get(DialoutRow, call.id)
        if row is None:
            row = DialoutRow(id=call.id, asked_at=_at(asked_at))
            session.add(row)
        row.room, row.number, row.name, row.trunk = call.room, call.number, call.name, call.trunk
        row.asked_by, row.state, row.attempts = call.asked_by, str(call.state), call.attempts
        row.updated_at, row.channel = _at(call.updated_at), call.channel
        row.alert, row.heard = call.alert or None, call.heard


def call_of(row: DialoutRow) -> CallOut:
    """The call out a row keeps, as far as a row keeps it (what a list shows)."""
    return CallOut(
        row.id, row.room, row.number, row.name, row.trunk, row.asked_by, confirm=False,
        retries=0, state=CallState(row.state), attempts=row.attempts,
        updated_at=row.updated_at.timestamp(), channel=row.channel, alert=row.alert or "",
        heard=row.heard,
    )  # fmt: skip


async def dialled_since(session: AsyncSession, asked_by: str, since: datetime) -> int:
    """How many numbers ``asked_by`` had dialled since ``since``."""
    count = await session.scalar(
        select(func.count())
        .select_from(DialoutRow)
        .where(DialoutRow.asked_by == asked_by, DialoutRow.asked_at >= since)
    )
    return int(count or 0)


async def channels_called_in(session: AsyncSession, room: str, channels: list[str]) -> set[str]:
    """Which of ``channels`` joined ``room`` from a call out (for the call's report)."""
    if not channels:
        return set()
    found = await session.scalars(
        select(DialoutRow.channel).where(
            DialoutRow.room == room, DialoutRow.state == "joined", DialoutRow.channel.in_(channels)
        )
    )
    return set(found)
