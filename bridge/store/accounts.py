"""Moderator accounts and panel sessions in the database.

Sessions are found by the SHA-256 of their token (a random 256-bit value, so a plain hash
is enough: there is nothing to guess). Rights are read afresh with every session, so a
sync that takes a room away takes it away from sessions already open.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bridge.domain.accounts import Principal, Right, Via
from bridge.domain.rooms import ALL_ROOMS
from bridge.store.models import Moderator, PanelSession, Room


@dataclass(frozen=True)
class Account:
    """A moderator as the login sees them: the hash to check and the rooms granted."""

    id: int
    username: str
    password_hash: str = field(repr=False)
    all_rooms: bool
    rooms: frozenset[str]  # active rooms only
    assisting: frozenset[str] = frozenset()  # those of them (or "*") where only an assistant

    def principal(self, via: Via) -> Principal:
        return Principal(self.username, self.all_rooms, self.rooms, via, assisting=self.assisting)


def account_of(row: Moderator) -> Account:
    active = [link for link in row.rooms if link.room.retired_at is None]
    rooms = frozenset(link.room.name for link in active)
    assisting = {link.room.name for link in active if link.role == Right.ASSISTANT}
    if row.all_rooms and row.all_rooms_role == Right.ASSISTANT:
        assisting.add(ALL_ROOMS)
    return Account(
        row.id, row.username, row.password_hash, row.all_rooms, rooms, frozenset(assisting)
    )


async def find_account(session: AsyncSession, username: str) -> Account | None:
    row = await session.scalar(select(Moderator).where(Moderator.username == username))
    return account_of(row) if row else None


async def replace_password_hash(session: AsyncSession, account_id: int, new_hash: str) -> None:
    """A rehash with current parameters (the rooms file's own hash is kept apart)."""
    row = await session.get(Moderator, account_id)
    if row is not None:
        row.password_hash = new_hash


async def add_session(
    session: AsyncSession,
    token_hash: str,
    account_id: int,
    now: datetime,
    expires_at: datetime,
    address: str,
) -> None:
    session.add(
        PanelSession(
            token_hash=token_hash,
            moderator_id=account_id,
            created_at=now,
            seen_at=now,
            expires_at=expires_at,
            address=address[:64],
        )
    )


@dataclass(frozen=True)
class SessionRow:
    id: int
    account: Account
    created_at: datetime
    seen_at: datetime
    expires_at: datetime


async def find_session(session: AsyncSession, token_hash: str, now: datetime) -> SessionRow | None:
    row = await session.scalar(
        select(PanelSession).where(
            PanelSession.token_hash == token_hash, PanelSession.expires_at > now
        )
    )
    if row is None:
        return None
    return SessionRow(
        row.id, account_of(row.moderator), row.created_at, row.seen_at, row.expires_at
    )


async def touch_session(
    session: AsyncSession, session_id: int, now: datetime, expires_at: datetime
) -> None:
    row = await session.get(PanelSession, session_id)
    if row is not None:
        row.seen_at = now
        row.expires_at = expires_at


async def delete_session(session: AsyncSession, token_hash: str) -> None:
    await session.execute(delete(PanelSession).where(PanelSession.token_hash == token_hash))


async def end_sessions_of(session: AsyncSession, account_id: int) -> None:
    """Every panel session of a moderator (their password changed)."""
    await session.execute(delete(PanelSession).where(PanelSession.moderator_id == account_id))


async def delete_expired_sessions(session: AsyncSession, now: datetime) -> None:
    await session.execute(delete(PanelSession).where(PanelSession.expires_at <= now))


async def active_room_names(session: AsyncSession) -> list[str]:
    rows = await session.scalars(
        select(Room.name).where(Room.retired_at.is_(None)).order_by(Room.name)
    )
    return list(rows)
