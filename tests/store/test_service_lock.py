"""The service lock on a real PostgreSQL: one holder at a time, the next one gets it as soon as
the first lets go, and a holder whose connection is cut learns it within seconds (fencing).
SQLite takes no lock."""

from __future__ import annotations

import asyncio
import time

import pytest

from bridge.store.service_lock import (
    CHECK_SECONDS,
    CHECK_TIMEOUT,
    ServiceLock,
    ServiceLockLost,
    takes_service_lock,
)
from tests.support import cut_service_lock_holder


def test_only_postgresql_takes_the_service_lock() -> None:
    assert takes_service_lock("postgresql+asyncpg://u@db/bridge")
    assert not takes_service_lock("sqlite+aiosqlite:////var/lib/iobridge/iobridge.sqlite3")


async def test_a_second_service_waits_until_the_first_lets_go(postgres_database: str) -> None:
    first, second = ServiceLock(postgres_database), ServiceLock(postgres_database)
    told: list[str] = []
    try:
        await first.acquire(waiting=lambda: told.append("first"))
        waiting = asyncio.create_task(second.acquire(waiting=lambda: told.append("second")))
        await asyncio.sleep(1.5)
        assert not waiting.done() and told == ["second"]
        await first.release()
        released = time.monotonic()
        await asyncio.wait_for(waiting, 5)
        assert time.monotonic() - released < 1.5
    finally:
        await first.release()
        await second.release()


async def test_a_holder_whose_connection_is_cut_learns_it_within_seconds(
    postgres_database: str,
) -> None:
    lock = ServiceLock(postgres_database)
    try:
        await lock.acquire(waiting=lambda: None)
        watch = asyncio.create_task(lock.watch())
        await asyncio.sleep(0.2)
        assert not watch.done()
        assert await cut_service_lock_holder(postgres_database) == 1
        cut_at = time.monotonic()
        with pytest.raises(ServiceLockLost):
            await asyncio.wait_for(watch, CHECK_SECONDS + CHECK_TIMEOUT + 2)
        assert time.monotonic() - cut_at <= CHECK_SECONDS + CHECK_TIMEOUT
    finally:
        await lock.release()
