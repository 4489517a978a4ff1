"""The admins' own cues (the rooms file's ``cues:``), replaced at each ``rooms sync``."""

from __future__ import annotations

from sqlalchemy import String, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bridge.domain.cues import Cue
from bridge.store.models import Base


class CueRow(Base):
    __tablename__ = "cues"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    file: Mapped[str] = mapped_column(String(500))


async def sync_cues(
    session: AsyncSession, cues: tuple[Cue, ...]
) -> tuple[list[str], list[str], list[str]]:
    """Make the table hold ``cues``; what was added, changed and removed, for the report."""
    before = {row.name: row.file for row in await session.scalars(select(CueRow))}
    after = {cue.name: cue.file for cue in cues}
    if before == after:
        return [], [], []
    await session.execute(delete(CueRow))
    session.add_all(CueRow(name=name, file=file) for name, file in after.items())
    await session.flush()
    added = [f"cue {name}" for name in sorted(after) if name not in before]
    changed = [
        f"cue {name}: file" for name in sorted(after) if before.get(name) not in (None, after[name])
    ]
    removed = [f"cue {name}" for name in sorted(before) if name not in after]
    return added, changed, removed


async def own_cues(session: AsyncSession) -> dict[str, Cue]:
    return {row.name: Cue(row.name, row.file) for row in await session.scalars(select(CueRow))}
