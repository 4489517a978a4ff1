"""Closed polls in a call's history, for its report: the question, each option's count,
how many answered out of how many were there. Who blocked is shown live to moderators
only; history keeps the count, never the names (nothing here for the retention purge to
redact; a host's purge of the call deletes these rows with the rest of its history)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from sqlalchemy import ForeignKey, Integer, String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bridge.domain.polls import Tally
from bridge.store.models import Base, UtcDateTime
from bridge.store.turns import open_call_id

log = logging.getLogger(__name__)


class PollResult(Base):
    """One closed poll of a call."""

    __tablename__ = "polls"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    question: Mapped[str] = mapped_column(String(200), default="")
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # [{"key": "1", "label": "agree", "count": 4}, ...] in key order (a block is key 9)
    options: Mapped[str] = mapped_column(Text)
    voters: Mapped[int] = mapped_column(Integer)
    present: Mapped[int] = mapped_column(Integer)


def _when(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


async def record_poll(session: AsyncSession, tally: Tally, present: int) -> PollResult | None:
    """A closed poll, filed under the room's open call (None: the room has no open call)."""
    call_id = await open_call_id(session, tally.room)
    if call_id is None:
        log.warning("history.poll_without_call room=%s", tally.room)
        return None
    counts = [{"key": o.key, "label": o.label, "count": o.count} for o in tally.options]
    row = PollResult(
        call_id=call_id,
        question=tally.question,
        opened_at=_when(tally.opened_at),
        closed_at=_when(tally.closed_at if tally.closed_at is not None else tally.opened_at),
        options=json.dumps(counts),
        voters=tally.voters,
        present=max(present, tally.voters),
    )
    session.add(row)
    await session.flush()
    return row


async def polls_of_call(session: AsyncSession, call_id: int) -> list[PollResult]:
    return list(
        await session.scalars(
            select(PollResult).where(PollResult.call_id == call_id).order_by(PollResult.id)
        )
    )
