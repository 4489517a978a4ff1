"""The directory of known callers in the database: the rooms file's entries (replaced at
each sync) and imported ones (kept by syncs, replaced number by number by a later import)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bridge.domain.known_callers import KnownCaller, number_key
from bridge.domain.labels import MAX_LABEL
from bridge.store.models import Base


class KnownCallerRow(Base):
    """A number in the directory of known callers (``bridge.domain.known_callers``): from the
    rooms file's ``directory:`` (``source`` "file", replaced by each sync) or from
    ``iobridge directory import`` ("import", kept by syncs)."""

    __tablename__ = "known_callers"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)  # normalised
    name: Mapped[str] = mapped_column(String(MAX_LABEL))
    place: Mapped[str] = mapped_column(String(MAX_LABEL), default="")
    source: Mapped[str] = mapped_column(String(8))


FROM_FILE, IMPORTED = "file", "import"

Changes = tuple[list[str], list[str], list[str]]  # added, changed, removed (a sync's report)


async def store_known(
    session: AsyncSession, known: Iterable[KnownCaller], source: str, *, replace: bool
) -> Changes:
    """Write ``known`` as ``source``'s entries; with ``replace``, that source's numbers not
    in ``known`` go. A number another source holds is taken over."""
    rows = {row.number: row for row in await session.scalars(select(KnownCallerRow))}
    added: list[str] = []
    changed: list[str] = []
    removed: list[str] = []
    wanted = {caller.number: caller for caller in known}
    if replace:
        for number, old in rows.items():
            if old.source == source and number not in wanted:
                await session.delete(old)
                removed.append(f"known number {number}")
    for number, caller in wanted.items():
        row = rows.get(number)
        if row is None:
            session.add(
                KnownCallerRow(number=number, name=caller.name, place=caller.place, source=source)
            )
            added.append(f"known number {number} ({caller.label})")
        elif (row.name, row.place, row.source) != (caller.name, caller.place, source):
            row.name, row.place, row.source = caller.name, caller.place, source
            changed.append(f"known number {number}: {caller.label}")
    await session.flush()
    return added, changed, removed


async def known_labels(session: AsyncSession) -> dict[str, str]:
    """Every known number's label, by ``number_key``."""
    rows = await session.scalars(select(KnownCallerRow))
    return {
        number_key(row.number): KnownCaller(row.number, row.name, row.place).label for row in rows
    }
