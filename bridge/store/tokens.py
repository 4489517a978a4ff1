"""Scripts' API tokens in the database, found by the SHA-256 of the token (a random 256-bit
value: there is nothing to guess, so a plain hash is enough). A token is live while it is
neither revoked nor expired and its moderator still exists (deleting the moderator deletes
the token: the foreign key cascades)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bridge.store.accounts import Account, account_of
from bridge.store.models import ApiToken, CredentialsRevision


@dataclass(frozen=True)
class TokenRow:
    """A token as ``tokens list`` shows it (never the token itself)."""

    id: int
    username: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    read_only: bool = False
    rooms: frozenset[str] | None = None  # None: every room of the moderator's


def _rooms(stored: str | None) -> frozenset[str] | None:
    return None if stored is None else frozenset(stored.split())


def _row(token: ApiToken) -> TokenRow:
    return TokenRow(
        token.id,
        token.moderator.username,
        token.created_at,
        token.expires_at,
        token.revoked_at,
        token.last_used_at,
        token.read_only,
        _rooms(token.rooms),
    )


async def add_token(
    session: AsyncSession,
    token_hash: str,
    account_id: int,
    now: datetime,
    expires_at: datetime | None,
    read_only: bool = False,
    rooms: frozenset[str] | None = None,
) -> int:
    row = ApiToken(
        token_hash=token_hash,
        moderator_id=account_id,
        created_at=now,
        expires_at=expires_at,
        read_only=read_only,
        rooms=None if rooms is None else " ".join(sorted(rooms)),
    )
    session.add(row)
    await session.flush()
    return row.id


@dataclass(frozen=True)
class LiveToken:
    id: int
    account: Account
    last_used_at: datetime | None
    read_only: bool
    rooms: frozenset[str] | None
    expires_at: datetime | None = None


async def credentials_revision(session: AsyncSession) -> int:
    """A number that moves on every write to the tokens, the moderators, their rooms or
    the rooms: database triggers bump it (migration 0013)."""
    found = await session.scalar(
        select(CredentialsRevision.revision).where(CredentialsRevision.id == 1)
    )
    return found or 0


async def find_live_token(
    session: AsyncSession, token_hash: str, now: datetime
) -> LiveToken | None:
    row = await session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == token_hash,
            ApiToken.revoked_at.is_(None),
            or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now),
        )
    )
    if row is None:
        return None
    return LiveToken(
        row.id,
        account_of(row.moderator),
        row.last_used_at,
        row.read_only,
        _rooms(row.rooms),
        row.expires_at,
    )


async def mark_used(session: AsyncSession, token_id: int, now: datetime) -> None:
    row = await session.get(ApiToken, token_id)
    if row is not None:
        row.last_used_at = now


async def list_tokens(session: AsyncSession) -> list[TokenRow]:
    rows = await session.scalars(select(ApiToken).order_by(ApiToken.id))
    return [_row(row) for row in rows]


async def revoke_token(session: AsyncSession, token_id: int, now: datetime) -> TokenRow | None:
    """Revoke token ``token_id`` (kept, marked, so ``tokens list`` still shows it); None
    when there is no such token. Revoking twice keeps the first time."""
    row = await session.get(ApiToken, token_id)
    if row is None:
        return None
    if row.revoked_at is None:
        row.revoked_at = now
    return _row(row)


async def revoke_tokens_of(session: AsyncSession, account_id: int, now: datetime) -> None:
    """Revoke every live token of a moderator (their password changed)."""
    await session.execute(
        update(ApiToken)
        .where(ApiToken.moderator_id == account_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
