"""The database connection: one async engine and session maker, and alembic migrations."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bridge.settings import DATA_FILES

MIGRATIONS_DIR = DATA_FILES / "migrations"
CONNECT_TIMEOUT = 10.0  # seconds; a database host that drops packets must not hang a command


class DatabaseUnusable(Exception):
    """The database URL cannot be used, or the database does not answer: one line that
    names the setting or the server, and what to do."""


class Database:
    """An engine and its session maker; one per process."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: AsyncEngine = create_engine(url)
        self.sessions: async_sessionmaker[AsyncSession] = async_sessionmaker(
            self.engine, expire_on_commit=False
        )

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    async def dispose(self) -> None:
        await self.engine.dispose()


def create_engine(url: str) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 15})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=15000")
            cursor.close()

        return engine
    connect_args = {"timeout": CONNECT_TIMEOUT} if parsed.get_driver_name() == "asyncpg" else {}
    return create_async_engine(url, pool_pre_ping=True, connect_args=connect_args)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_sync(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


async def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations. alembic's env.py runs its own event loop, so it gets a thread.
    Every command reaches the database here first, so here its failures become one line."""
    try:
        await asyncio.to_thread(upgrade_sync, url, revision)
    except Exception as exc:
        raise DatabaseUnusable(describe_failure(url, exc)) from exc


def describe_failure(url: str, exc: BaseException) -> str:
    """What an admin reads when the database cannot be used (never the password)."""
    setting = "IOBRIDGE_DATABASE_URL"
    example = "postgresql://user:password@host/dbname or sqlite:////path/to/file.sqlite3"
    try:
        parsed = make_url(url)
    except sa_exc.ArgumentError:
        return f"{setting} is not a database URL: expected {example}"
    shown = parsed.render_as_string(hide_password=True)
    if isinstance(exc, sa_exc.NoSuchModuleError):
        return f"{setting}: unknown kind of database '{parsed.drivername}': expected {example}"
    if isinstance(exc, ModuleNotFoundError):
        if exc.name == "asyncpg":
            return f"{setting}: PostgreSQL needs its driver: pip install 'io-bridge[postgres]'"
        return (
            f"{setting}: the driver '{exc.name}' is not installed; "
            f"write postgresql://... (asyncpg) or sqlite:///... (aiosqlite)"
        )
    if isinstance(exc, sa_exc.InvalidRequestError) and "async driver" in str(exc):
        return (
            f"{setting}: '{parsed.drivername}' is not an async driver; "
            f"write postgresql://... (asyncpg) or sqlite:///... (aiosqlite)"
        )
    if isinstance(exc, TimeoutError):
        return f"database {shown} did not answer within {CONNECT_TIMEOUT:.0f} s (check {setting})"
    if isinstance(exc, OSError) and parsed.get_backend_name() == "sqlite":
        where = exc.filename or parsed.database
        return f"cannot open the database file {where}: {exc.strerror or exc} (check {setting})"
    if isinstance(exc, OSError):
        reason = "connection refused" if isinstance(exc, ConnectionRefusedError) else exc.strerror
        reason = reason or str(exc)
        return f"cannot reach the database {shown}: {reason} (is it running? check {setting})"
    text = str(getattr(exc, "orig", None) or exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return f"database {shown}: {first} (check {setting})"
