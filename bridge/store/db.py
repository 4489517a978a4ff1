"""The database connection: one async engine and session maker, and alembic migrations."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, exc as sa_exc, inspect, select
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bridge.domain.pins import PinKey
from bridge.settings import DATA_FILES, PRIVATE_FILE, make_private_dir

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

    async def dispose(self) -> None:
        await self.engine.dispose()

    async def ping(self) -> None:
        """One round trip to the database; raises what the driver raises when it is away."""
        async with self.engine.connect() as connection:
            await connection.scalar(select(1))


def create_engine(url: str) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _private_sqlite_file(Path(parsed.database))
        # hide_parameters: a failed statement's message (logged, or shown by the CLI) must
        # not carry its values, and those include PINs.
        engine = create_async_engine(url, connect_args={"timeout": 15}, hide_parameters=True)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            # In WAL mode, NORMAL syncs the log at checkpoints, not at every commit: a power
            # cut may lose the last commits, never the file. FULL spent most of the service's
            # database time in fsync, for the talk-time writes of a busy room.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=15000")
            cursor.close()

        return engine
    connect_args = {"timeout": CONNECT_TIMEOUT} if parsed.get_driver_name() == "asyncpg" else {}
    engine = create_async_engine(
        url, pool_pre_ping=True, connect_args=connect_args, hide_parameters=True
    )
    event.listen(engine.sync_engine, "handle_error", _values_hidden)
    return engine


HIDDEN_DETAIL = "(hidden: it would repeat the values of the row)"


def _values_hidden(context: ExceptionContext) -> None:
    """PostgreSQL's DETAIL repeats the values a statement failed on ("Failing row contains
    (...)", "Key (pin_hash)=(...) already exists"), which ``hide_parameters`` does not
    reach: that is hashes, caller IDs, addresses. Cut it from the error and its cause
    before anything prints or logs them."""
    error = context.original_exception
    for failure in (error, error.__cause__):
        if getattr(failure, "detail", None):
            failure.detail = HIDDEN_DETAIL  # type: ignore[union-attr]
    if error.args and isinstance(error.args[0], str) and "\nDETAIL:" in error.args[0]:
        head = error.args[0].split("\nDETAIL:", 1)[0]
        error.args = (f"{head}\nDETAIL:  {HIDDEN_DETAIL}", *error.args[1:])


def _private_sqlite_file(path: Path) -> None:
    """The database holds the rooms' PINs: 0600, and SQLite gives its -wal and -shm files
    the database file's mode."""
    if not path.parent.exists():
        make_private_dir(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)
    for suffix in ("-wal", "-shm", "-journal"):
        sibling = path.with_name(path.name + suffix)
        if sibling.is_file() and not sibling.is_symlink():
            sibling.chmod(PRIVATE_FILE)


def alembic_config(url: str, pin_key: PinKey | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["pin_key"] = pin_key  # migration 0007 hashes the PINs with it
    return config


def upgrade_sync(url: str, revision: str = "head", pin_key: PinKey | None = None) -> None:
    command.upgrade(alembic_config(url, pin_key), revision)


async def upgrade(url: str, revision: str = "head", pin_key: PinKey | None = None) -> None:
    """Apply migrations. alembic's env.py runs its own event loop, so it gets a thread.
    Every command reaches the database here first, so here its failures become one line.
    ``pin_key``: the install's (``bridge.store.pin_key.install_pin_key``); a database
    whose rooms still have plain PINs cannot be upgraded without it."""
    try:
        await asyncio.to_thread(upgrade_sync, url, revision, pin_key)
    except Exception as exc:
        raise DatabaseUnusable(describe_failure(url, exc)) from exc


async def has_io_bridge_tables(url: str) -> bool:
    """The database exists and a migration has run in it. An SQLite file that does not
    exist is not made (``create_engine`` would make it)."""
    if _missing_sqlite_file(url):
        return False
    try:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(
                    lambda sync: inspect(sync).has_table("alembic_version")
                )
        finally:
            await engine.dispose()
    except Exception as exc:
        raise DatabaseUnusable(describe_failure(url, exc)) from exc


def _missing_sqlite_file(url: str) -> bool:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return False
    return not Path(str(parsed.database)).is_file()


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
