"""The one active service of a PostgreSQL database: a session-level advisory lock, held on
its own connection for as long as the service drives Asterisk. A second ``iobridge serve``
against the same database waits for it (the standby) and takes over when the first dies:
PostgreSQL releases a session's locks the moment its connection ends, however the process
died. The holder checks its connection every second; when it is gone, so may be the lock,
and the service must stop driving Asterisk at once (``ServiceLockLost``). SQLite has no such
lock: one service per SQLite file."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from sqlalchemy import NullPool, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

log = logging.getLogger(__name__)

LOCK_KEY = int.from_bytes(b"iobridge")  # one bigint, the same for every io-bridge service
RETRY_SECONDS = 0.5  # how often a standby asks: the takeover waits at most this long
CHECK_SECONDS = 1.0  # how often the active service checks that its lock's connection lives
CHECK_TIMEOUT = 2.0  # no answer by then: the lock is taken as lost
# The server notices a vanished holder's machine (no FIN: a power cut, a cable) by TCP
# keepalives: idle 2 s, then 3 probes 1 s apart, so its lock goes about 5 s later. The
# holder itself gives up after CHECK_TIMEOUT, before that: it stops first (fencing).
KEEPALIVES = {"tcp_keepalives_idle": 2, "tcp_keepalives_interval": 1, "tcp_keepalives_count": 3}


class ServiceLockLost(Exception):
    """The connection that holds the lock is gone: another service may be active now."""


def takes_service_lock(database_url: str) -> bool:
    return make_url(database_url).get_backend_name() == "postgresql"


class ServiceLock:
    """Wait for the lock (``acquire``), then watch it (``watch``) until ``release``."""

    def __init__(self, database_url: str) -> None:
        self._engine: AsyncEngine = create_async_engine(
            database_url, poolclass=NullPool, hide_parameters=True
        )
        self._connection: AsyncConnection | None = None

    async def acquire(self, waiting: Callable[[], None]) -> None:
        """Return once this process holds the lock; ``waiting`` is called once, when another
        service holds it. A failed connection is tried again (the database may be restarting)."""
        told = False
        while True:
            try:
                if await self._try():
                    log.info("service_lock.acquired")
                    return
            except Exception as exc:  # the database away: a standby keeps waiting
                log.warning("service_lock.unavailable reason=%s", type(exc).__name__)
                await self._drop()
            if not told:
                waiting()
                told = True
            await asyncio.sleep(RETRY_SECONDS)

    async def _try(self) -> bool:
        if self._connection is None:
            connection = await self._engine.connect()
            # AUTOCOMMIT: a lock held for days must not keep a transaction open with it
            # (idle_in_transaction_session_timeout would end the session, and the lock).
            self._connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            for name, value in KEEPALIVES.items():
                await self._connection.execute(text(f"SET {name} = {int(value)}"))
        got = await self._connection.scalar(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}
        )
        return bool(got)

    async def watch(self) -> None:
        """Return only by raising ``ServiceLockLost``: the connection stopped answering."""
        while True:
            await asyncio.sleep(CHECK_SECONDS)
            try:
                async with asyncio.timeout(CHECK_TIMEOUT):
                    assert self._connection is not None
                    await self._connection.scalar(text("SELECT 1"))
            except Exception as exc:
                raise ServiceLockLost(
                    "lost the connection that holds the PostgreSQL service lock "
                    f"({type(exc).__name__}): another service may be active now"
                ) from exc

    async def release(self) -> None:
        await self._drop()
        await self._engine.dispose()

    async def _drop(self) -> None:
        """Close our connection: PostgreSQL releases the lock with the session."""
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                async with asyncio.timeout(CHECK_TIMEOUT):
                    await connection.close()
            except Exception as exc:  # already broken: nothing left to release on our side
                log.info("service_lock.closed_broken reason=%s", type(exc).__name__)
                with contextlib.suppress(Exception):
                    await connection.invalidate()
