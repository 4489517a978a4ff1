"""Trunks in the database, replaced at each ``rooms sync``: what each one is (never its
secret: only where the secret is read from, a file's path or a variable's name) and the
numbers (DIDs) it delivers, looked up when a call through it arrives."""

from __future__ import annotations

import json
from dataclasses import asdict

from sqlalchemy import Boolean, String, Text, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bridge.domain.trunks import (
    DtmfMode,
    Outbound,
    Transport,
    TrunkKind,
    TrunkNumber,
    TrunkSpec,
)
from bridge.store.models import Base


class TrunkRow(Base):
    __tablename__ = "trunks"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    settings: Mapped[str] = mapped_column(Text)  # JSON: the spec without its numbers


class TrunkNumberRow(Base):
    __tablename__ = "trunk_numbers"

    number: Mapped[str] = mapped_column(String(16), primary_key=True)
    trunk: Mapped[str] = mapped_column(String(40), index=True)
    room: Mapped[str | None] = mapped_column(String(40), nullable=True)
    pin_required: Mapped[bool] = mapped_column(Boolean, default=True)


def _settings(spec: TrunkSpec) -> str:
    values = asdict(spec)
    del values["numbers"]
    return json.dumps(values, sort_keys=True)


def _spec(row: TrunkRow, numbers: list[TrunkNumberRow]) -> TrunkSpec:
    values = json.loads(row.settings)
    out = values.pop("outbound")
    return TrunkSpec(
        **{
            **values,
            "kind": TrunkKind(values["kind"]),
            "transport": Transport(values["transport"]),
            "dtmf_mode": DtmfMode(values["dtmf_mode"]),
            "match": tuple(values["match"]),
            "codecs": tuple(values["codecs"]),
        },
        outbound=Outbound(**{**out, "allowed_prefixes": tuple(out["allowed_prefixes"])}),
        numbers=tuple(TrunkNumber(n.number, n.room, n.pin_required) for n in numbers),
    )


async def sync_trunks(
    session: AsyncSession, trunks: tuple[TrunkSpec, ...]
) -> tuple[list[str], list[str], list[str]]:
    """Make the tables hold ``trunks``; what was added, changed and removed, for the report."""
    before = {spec.name: spec for spec in await stored_trunks(session)}
    after = {spec.name: spec for spec in trunks}
    if before == after:
        return [], [], []
    await session.execute(delete(TrunkNumberRow))
    await session.execute(delete(TrunkRow))
    await session.flush()
    for spec in trunks:
        session.add(TrunkRow(name=spec.name, settings=_settings(spec)))
        session.add_all(
            TrunkNumberRow(
                number=n.number, trunk=spec.name, room=n.room, pin_required=n.pin_required
            )
            for n in spec.numbers
        )
    await session.flush()
    added = [f"trunk {name}" for name in sorted(after) if name not in before]
    changed = [
        f"trunk {name}" for name in sorted(after) if before.get(name) not in (None, after[name])
    ]
    removed = [f"trunk {name}" for name in sorted(before) if name not in after]
    return added, changed, removed


async def stored_trunks(session: AsyncSession) -> list[TrunkSpec]:
    numbers: dict[str, list[TrunkNumberRow]] = {}
    for row in await session.scalars(select(TrunkNumberRow).order_by(TrunkNumberRow.number)):
        numbers.setdefault(row.trunk, []).append(row)
    rows = await session.scalars(select(TrunkRow).order_by(TrunkRow.name))
    return [_spec(row, numbers.get(row.name, [])) for row in rows]


async def number_of(session: AsyncSession, trunk: str, number: str) -> TrunkNumber | None:
    """The DID ``number`` if ``trunk`` delivers it (a number another trunk delivers: None)."""
    row = await session.get(TrunkNumberRow, number)
    if row is None or row.trunk != trunk:
        return None
    return TrunkNumber(row.number, row.room, row.pin_required)
