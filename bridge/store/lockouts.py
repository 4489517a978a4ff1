"""PIN attempts and lockouts, persisted so a restart does not lift a lockout."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bridge.domain.entry import LockoutPolicy
from bridge.store.models import Lockout, PinAttempt


@dataclass(frozen=True)
class LockoutView:
    caller_id: str
    locked_at: datetime
    until: datetime
    failures: int


async def active_lockout(session: AsyncSession, bucket: str, now: datetime) -> Lockout | None:
    lockout = await session.get(Lockout, bucket)
    if lockout is None or lockout.until <= now:
        return None
    return lockout


async def record_success(session: AsyncSession, bucket: str, now: datetime) -> None:
    session.add(PinAttempt(caller_id=bucket, at=now, success=True))


async def record_failure(
    session: AsyncSession, bucket: str, now: datetime, policy: LockoutPolicy
) -> bool:
    """Count one wrong PIN; return True when this one locks the caller out."""
    session.add(PinAttempt(caller_id=bucket, at=now, success=False))
    await session.flush()
    since = policy.window_start(now)
    last_lockout = await session.get(Lockout, bucket)
    if last_lockout is not None and last_lockout.until > since:
        since = max(since, last_lockout.until)  # failures before a served lockout are spent
    failures = await session.scalar(
        select(func.count())
        .select_from(PinAttempt)
        .where(PinAttempt.caller_id == bucket, PinAttempt.success.is_(False), PinAttempt.at > since)
    )
    if not policy.should_lock(bucket, failures or 0):
        return False
    if last_lockout is None:
        session.add(
            Lockout(
                caller_id=bucket,
                locked_at=now,
                until=policy.locked_until(now),
                failures=failures or 0,
            )
        )
    else:
        last_lockout.locked_at = now
        last_lockout.until = policy.locked_until(now)
        last_lockout.failures = failures or 0
    return True


async def list_lockouts(session: AsyncSession, now: datetime) -> list[LockoutView]:
    rows = await session.scalars(select(Lockout).where(Lockout.until > now).order_by(Lockout.until))
    return [LockoutView(r.caller_id, r.locked_at, r.until, r.failures) for r in rows]


async def clear_lockout(session: AsyncSession, bucket: str) -> bool:
    """Lift a lockout and forget the failures that led to it."""
    result = await session.execute(delete(Lockout).where(Lockout.caller_id == bucket))
    await session.execute(
        delete(PinAttempt).where(PinAttempt.caller_id == bucket, PinAttempt.success.is_(False))
    )
    return bool(getattr(result, "rowcount", 0))
