"""Rooms opened on demand, in the rooms table beside the file's (``Room.on_demand``).

Writing a room here bumps ``rooms_revision`` (the table's triggers), so every room cache
sees a room opened or closed at its next PIN decision, as it sees a sync.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bridge.domain.pins import PinKey
from bridge.domain.rooms import RoomSpec
from bridge.store.models import Call, Moderator, ModeratorRoom, Room
from bridge.store.rooms import stored_values


async def taken_pin_hashes(session: AsyncSession) -> set[str]:
    """The hashes of every PIN any room has, or had: retired rooms' included."""
    rows = await session.execute(select(Room.pin_hash, Room.moderator_pin_hash))
    return {h for row in rows for h in row if h}


async def room_names(session: AsyncSession) -> set[str]:
    return set(await session.scalars(select(Room.name)))


async def add_room_on_demand(
    session: AsyncSession,
    spec: RoomSpec,
    pin_key: PinKey,
    *,
    closes_at: datetime,
    opened_by: str,
) -> None:
    """Store a room opened on demand (its PINs hashed); the moderator who opened it, if
    the name is a moderator's, may moderate it from now on."""
    room = Room(
        name=spec.name,
        on_demand=True,
        closes_at=closes_at,
        opened_by=opened_by,
        **stored_values(spec, pin_key),
    )
    session.add(room)
    await session.flush()
    host = await session.scalar(select(Moderator).where(Moderator.username == opened_by))
    if host is not None and not host.all_rooms:
        host.rooms.append(ModeratorRoom(room_id=room.id))
    await session.flush()


async def due_rooms(session: AsyncSession, now: datetime) -> list[tuple[str, datetime]]:
    """Open rooms opened on demand whose time is up, with no call in progress in history,
    each with when its time was up."""
    busy = select(Call.room_name).where(Call.ended_at.is_(None))
    rows = await session.execute(
        select(Room.name, Room.closes_at).where(
            Room.on_demand.is_(True),
            Room.retired_at.is_(None),
            Room.closes_at <= now,
            Room.name.not_in(busy),
        )
    )
    return [(name, closes_at) for name, closes_at in rows if closes_at is not None]


async def close_room(session: AsyncSession, name: str, now: datetime) -> bool:
    """Retire a room opened on demand: its PINs are refused from now on, as wrong PINs
    (their hashes stay, so no new room is ever given them). False if it was not open."""
    row = await session.scalar(
        select(Room).where(Room.name == name, Room.on_demand.is_(True), Room.retired_at.is_(None))
    )
    if row is None:
        return False
    row.retired_at = now
    await session.flush()
    return True
