"""The guard's wrong PINs in the database, so that a restart does not lift a hold: written
in batches by the entry desk, read back at start (those still in the window), deleted for a
source when an admin lifts its hold, and by the retention purge when old."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bridge.store.models import PinFailure


@dataclass(frozen=True)
class FailureRow:
    source: str  # str(Source): "address:203.0.113.7", "caller-id:provider/+15550100"
    at: datetime
    outcome: str  # guard.Outcome's value
    room: str | None = None  # the locked or full room that refused the caller


async def add_failures(session: AsyncSession, rows: Iterable[FailureRow]) -> None:
    session.add_all(
        PinFailure(source=r.source, at=r.at, outcome=r.outcome, room=r.room) for r in rows
    )


async def failures_since(session: AsyncSession, since: datetime) -> list[FailureRow]:
    """Every failure after ``since``, oldest first."""
    rows = await session.scalars(
        select(PinFailure).where(PinFailure.at > since).order_by(PinFailure.at, PinFailure.id)
    )
    return [FailureRow(r.source, r.at, r.outcome, r.room) for r in rows]


async def forget_source(session: AsyncSession, source: str) -> int:
    """Delete a source's failures; how many there were."""
    result = await session.execute(delete(PinFailure).where(PinFailure.source == source))
    return max(0, int(getattr(result, "rowcount", 0) or 0))
