"""Room placements (several nodes): which node each room lives on, kept so that a restarted
service hands callers over to the node their room is already on."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bridge.store.models import Base, UtcDateTime


class RoomPlacement(Base):
    """Several nodes: the node a room lives on, from its first admission until it has been
    empty a while (``bridge.service.nodes``); read back when the service starts again."""

    __tablename__ = "room_placements"

    room_name: Mapped[str] = mapped_column(String(40), primary_key=True)
    node: Mapped[str] = mapped_column(String(40))
    placed_at: Mapped[datetime] = mapped_column(UtcDateTime)


async def load_placements(session: AsyncSession) -> dict[str, str]:
    rows = await session.execute(select(RoomPlacement.room_name, RoomPlacement.node))
    return {room: node for room, node in rows}


async def save_placement(session: AsyncSession, room: str, node: str, at: datetime) -> None:
    row = await session.get(RoomPlacement, room)
    if row is None:
        session.add(RoomPlacement(room_name=room, node=node, placed_at=at))
    else:
        row.node, row.placed_at = node, at


async def drop_placements(session: AsyncSession, rooms: set[str]) -> None:
    if rooms:
        await session.execute(delete(RoomPlacement).where(RoomPlacement.room_name.in_(rooms)))
