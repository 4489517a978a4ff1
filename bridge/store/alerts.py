"""Alerts in the database: one row per alert (who sent which message, into which room), its
numbers' calls being rows of ``dialouts`` marked with its id."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Float, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bridge.domain.alerts import Alert
from bridge.domain.dialout import CallOut
from bridge.store.dialouts import DialoutRow, call_of
from bridge.store.models import Base, UtcDateTime


class AlertRow(Base):
    __tablename__ = "alerts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    asked_by: Mapped[str] = mapped_column(String(64))
    asked_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    room: Mapped[str | None] = mapped_column(String(40))
    trunk: Mapped[str | None] = mapped_column(String(40))
    seconds: Mapped[float] = mapped_column(Float)


def _alert(row: AlertRow) -> Alert:
    return Alert(row.id, row.asked_by, row.asked_at.timestamp(), row.room, row.trunk, row.seconds)


async def add_alert(session: AsyncSession, alert: Alert) -> None:
    session.add(
        AlertRow(
            id=alert.id,
            asked_by=alert.asked_by,
            asked_at=datetime.fromtimestamp(alert.asked_at, UTC),
            room=alert.room,
            trunk=alert.trunk,
            seconds=alert.seconds,
        )
    )


async def load_alert(session: AsyncSession, alert_id: str) -> tuple[Alert, list[CallOut]] | None:
    row = await session.get(AlertRow, alert_id)
    if row is None:
        return None
    calls = await session.scalars(
        select(DialoutRow).where(DialoutRow.alert == alert_id).order_by(DialoutRow.asked_at)
    )
    ordered = sorted(calls, key=lambda c: int(c.id.rsplit("-", 1)[-1]))  # in the order asked
    return _alert(row), [call_of(c) for c in ordered]


async def list_alerts(session: AsyncSession, limit: int = 100) -> list[Alert]:
    """The latest alerts, newest first."""
    rows = await session.scalars(select(AlertRow).order_by(AlertRow.asked_at.desc()).limit(limit))
    return [_alert(row) for row in rows]
