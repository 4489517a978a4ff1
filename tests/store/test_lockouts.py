"""Wrong PINs and lockouts in the database, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bridge.domain.entry import ANONYMOUS_BUCKET, LockoutPolicy, lockout_bucket
from bridge.store.db import Database
from bridge.store.lockouts import (
    LockoutView,
    active_lockout,
    clear_lockout,
    list_lockouts,
    record_failure,
    record_success,
)
from bridge.store.models import PinAttempt

POLICY = LockoutPolicy(
    threshold=3,
    window=timedelta(minutes=10),
    duration=timedelta(minutes=15),
    anonymous_threshold=2,
)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CALLER = "+15551230001"
OTHER = "+15551230002"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


async def fail(db: Database, bucket: str, when: datetime, policy: LockoutPolicy = POLICY) -> bool:
    async with db.sessions.begin() as session:
        return await record_failure(session, bucket, when, policy)


async def succeed(db: Database, bucket: str, when: datetime) -> None:
    async with db.sessions.begin() as session:
        await record_success(session, bucket, when)


async def locked_until(db: Database, bucket: str, now: datetime) -> datetime | None:
    async with db.sessions() as session:
        lockout = await active_lockout(session, bucket, now)
        return None if lockout is None else lockout.until


async def attempts(db: Database, bucket: str, success: bool) -> int:
    async with db.sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(PinAttempt)
            .where(PinAttempt.caller_id == bucket, PinAttempt.success.is_(success))
        )
        return count or 0


async def test_failures_below_the_threshold_do_not_lock(db: Database) -> None:
    assert await fail(db, CALLER, at(0)) is False
    assert await fail(db, CALLER, at(1)) is False
    assert await locked_until(db, CALLER, at(1)) is None
    async with db.sessions() as session:
        assert await list_lockouts(session, at(1)) == []
    assert await attempts(db, CALLER, success=False) == 2


async def test_reaching_the_threshold_locks_the_caller_out(db: Database) -> None:
    assert await fail(db, CALLER, at(0)) is False
    assert await fail(db, CALLER, at(1)) is False
    assert await fail(db, CALLER, at(2)) is True

    assert await locked_until(db, CALLER, at(2)) == at(2) + POLICY.duration
    assert await locked_until(db, CALLER, at(16)) == at(17)
    assert await locked_until(db, OTHER, at(2)) is None  # only this caller


async def test_successes_are_recorded_and_do_not_count_as_failures(db: Database) -> None:
    await succeed(db, CALLER, at(0))
    assert await fail(db, CALLER, at(1)) is False
    await succeed(db, CALLER, at(2))
    await succeed(db, CALLER, at(3))
    assert await fail(db, CALLER, at(4)) is False
    assert await attempts(db, CALLER, success=True) == 3
    assert await locked_until(db, CALLER, at(4)) is None


async def test_each_caller_counts_on_its_own(db: Database) -> None:
    assert await fail(db, CALLER, at(0)) is False
    assert await fail(db, OTHER, at(0.5)) is False
    assert await fail(db, CALLER, at(1)) is False
    assert await fail(db, OTHER, at(1.5)) is False
    assert await locked_until(db, CALLER, at(2)) is None
    assert await fail(db, CALLER, at(2)) is True
    assert await locked_until(db, OTHER, at(2)) is None


async def test_failures_outside_the_window_do_not_count(db: Database) -> None:
    assert await fail(db, CALLER, at(0)) is False
    assert await fail(db, CALLER, at(5)) is False
    # At 12 min the window starts at 2 min: the first failure no longer counts.
    assert await fail(db, CALLER, at(12)) is False
    assert await locked_until(db, CALLER, at(12)) is None
    # At 13 min the window holds 5, 12 and 13.
    assert await fail(db, CALLER, at(13)) is True
    assert await locked_until(db, CALLER, at(13)) == at(28)


async def test_withheld_numbers_share_a_stricter_bucket(db: Database) -> None:
    assert lockout_bucket("") == lockout_bucket(" Anonymous ") == ANONYMOUS_BUCKET
    assert await fail(db, lockout_bucket(""), at(0)) is False
    assert await fail(db, lockout_bucket("Restricted"), at(1)) is True  # a different caller
    assert await locked_until(db, ANONYMOUS_BUCKET, at(1)) == at(16)
    # A known caller with as many failures is not locked out yet.
    assert await fail(db, CALLER, at(0)) is False
    assert await fail(db, CALLER, at(1)) is False
    assert await locked_until(db, CALLER, at(1)) is None


async def test_a_lockout_survives_a_restart(db: Database, database_url: str) -> None:
    for minute in range(3):
        await fail(db, CALLER, at(minute))
    await db.dispose()

    restarted = Database(database_url)
    try:
        async with restarted.sessions() as session:
            lockout = await active_lockout(session, CALLER, at(5))
            assert lockout is not None
            assert (lockout.locked_at, lockout.until, lockout.failures) == (at(2), at(17), 3)
            assert lockout.until.tzinfo is not None
            assert [v.caller_id for v in await list_lockouts(session, at(5))] == [CALLER]
    finally:
        await restarted.dispose()


async def test_an_expired_lockout_is_not_active(db: Database) -> None:
    for minute in range(3):
        await fail(db, CALLER, at(minute))
    assert await locked_until(db, CALLER, at(16.9)) == at(17)

    assert await locked_until(db, CALLER, at(17)) is None
    assert await locked_until(db, CALLER, at(18)) is None
    async with db.sessions() as session:
        assert await list_lockouts(session, at(18)) == []


async def test_failures_before_a_served_lockout_are_spent(db: Database) -> None:
    for minute in range(3):
        await fail(db, CALLER, at(minute))  # locked from 2 to 17 min

    # After the lockout, one more try must not lock again at once, even when the window
    # still holds the failures that led to the lockout.
    short = LockoutPolicy(threshold=3, window=timedelta(minutes=30), duration=POLICY.duration)
    assert await fail(db, CALLER, at(18), short) is False
    assert await fail(db, CALLER, at(19), short) is False
    assert await locked_until(db, CALLER, at(19)) is None
    assert await fail(db, CALLER, at(20), short) is True
    async with db.sessions() as session:
        lockout = await active_lockout(session, CALLER, at(20))
        assert lockout is not None
        assert (lockout.locked_at, lockout.until, lockout.failures) == (at(20), at(35), 3)


async def test_clear_lockout_lifts_it_and_forgets_the_failures(db: Database) -> None:
    await succeed(db, CALLER, at(0))
    for minute in range(1, 4):
        await fail(db, CALLER, at(minute))
    assert await locked_until(db, CALLER, at(4)) is not None

    async with db.sessions.begin() as session:
        assert await clear_lockout(session, CALLER) is True

    assert await locked_until(db, CALLER, at(4)) is None
    assert await attempts(db, CALLER, success=False) == 0
    assert await attempts(db, CALLER, success=True) == 1
    # The earlier failures are forgotten: the next one starts a fresh count.
    assert await fail(db, CALLER, at(5)) is False
    async with db.sessions.begin() as session:
        assert await clear_lockout(session, OTHER) is False


async def test_clearing_a_caller_leaves_the_others_locked(db: Database) -> None:
    for minute in range(3):
        await fail(db, CALLER, at(minute))
        await fail(db, OTHER, at(minute))
    async with db.sessions.begin() as session:
        assert await clear_lockout(session, CALLER) is True
    assert await locked_until(db, CALLER, at(3)) is None
    assert await locked_until(db, OTHER, at(3)) == at(17)
    assert await attempts(db, OTHER, success=False) == 3


async def test_list_lockouts(db: Database) -> None:
    for minute in range(3):
        await fail(db, CALLER, at(minute))  # until 17 min
    await fail(db, ANONYMOUS_BUCKET, at(4))
    await fail(db, ANONYMOUS_BUCKET, at(5))  # until 20 min
    for minute in range(6, 9):
        await fail(db, OTHER, at(minute))  # until 23 min

    async with db.sessions() as session:
        assert await list_lockouts(session, at(10)) == [
            LockoutView(CALLER, at(2), at(17), 3),
            LockoutView(ANONYMOUS_BUCKET, at(5), at(20), 2),
            LockoutView(OTHER, at(8), at(23), 3),
        ]
        assert [v.caller_id for v in await list_lockouts(session, at(18))] == [
            ANONYMOUS_BUCKET,
            OTHER,
        ]
        assert await list_lockouts(session, at(23)) == []
