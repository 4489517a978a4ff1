"""Backing up and restoring the SQLite database, with SQLite's online backup API.

A database in WAL mode is several files that change while the service runs: ``cp`` may copy
a torn state. The backup API copies a consistent snapshot page by page, while the service
goes on writing; the copy is then one self-contained file (journal mode DELETE), checked
with ``PRAGMA quick_check``. PostgreSQL has its own tools (``pg_dump``, ``pg_restore``),
whose exact command is given instead (``pg_commands``), without the password.

A restore checks the file before anything is written: an SQLite database, with io-bridge's
tables, at a migration this version knows, its PINs hashed with this install's key (the
fingerprint in its ``pin_key`` table). The database it replaces is kept beside it.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sqlite3
import urllib.parse
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util.exc import CommandError
from sqlalchemy.engine import make_url

from bridge.domain.pins import PinKey
from bridge.settings import PRIVATE_FILE, make_private_dir
from bridge.store.db import alembic_config

# The tables every io-bridge database has had since its first migration.
REQUIRED_TABLES = ("alembic_version", "rooms", "moderators", "calls", "legs")


class BackupRefused(Exception):
    """A backup or restore that cannot be done as asked: one line, nothing changed."""


@dataclass(frozen=True)
class BackupFile:
    """What a backup holds, as far as a restore needs to know."""

    path: Path
    revision: str
    fingerprint: str | None  # of the PIN key its PINs are hashed with (None: no PINs yet)


def sqlite_path(url: str) -> Path | None:
    """The database file of an SQLite URL; None for any other database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return Path(parsed.database)


def _connect(path: Path, mode: str) -> sqlite3.Connection:
    """``mode``: ro or rw (never creates the file), or rwc."""
    return sqlite3.connect(f"file:{urllib.parse.quote(str(path))}?mode={mode}", uri=True)


def backup_sqlite(database: Path, target: Path) -> None:
    """Copy the live database ``database`` to ``target`` (replaced whole, or not at all)."""
    if not target.parent.is_dir():
        raise BackupRefused(f"{target}: the folder {target.parent} does not exist")
    if target.is_dir():
        raise BackupRefused(f"{target} is a folder: name the backup file")
    if not database.is_file():
        raise BackupRefused(
            f"no database at {database}: nothing to back up (check IOBRIDGE_STATE_DIR)"
        )
    if target.exists() and target.resolve() == database.resolve():
        raise BackupRefused(f"{target} is the database itself: name another file")
    partial = target.with_name(f".{target.name}.part-{os.getpid()}")
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE))
    try:
        _copy(database, partial, source_mode="rw")
        with contextlib.closing(_connect(partial, "rw")) as copy:
            copy.execute("PRAGMA journal_mode=DELETE")  # one file, no -wal beside it
            verdict = copy.execute("PRAGMA quick_check").fetchone()[0]
        if verdict != "ok":
            raise BackupRefused(f"the copy of {database} does not check out: {verdict}")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _copy(source: Path, target: Path, source_mode: str) -> None:
    with (
        contextlib.closing(_connect(source, source_mode)) as origin,
        contextlib.closing(_connect(target, "rwc")) as copy,
    ):
        origin.backup(copy)


def read_backup(path: Path) -> BackupFile:
    """The file as a backup of an io-bridge database, or ``BackupRefused`` saying why not."""
    if not path.is_file():
        raise BackupRefused(f"{path}: no such file")
    not_ours = f"{path}: not an io-bridge database"
    try:
        with contextlib.closing(_connect(path, "ro")) as backup:
            tables = {row[0] for row in backup.execute("SELECT name FROM sqlite_master")}
            missing = [table for table in REQUIRED_TABLES if table not in tables]
            if missing:
                raise BackupRefused(f"{not_ours} (it has no table {', '.join(missing)})")
            revisions = [
                row[0] for row in backup.execute("SELECT version_num FROM alembic_version")
            ]
            fingerprint = None
            if "pin_key" in tables:
                row = backup.execute("SELECT fingerprint FROM pin_key WHERE id = 1").fetchone()
                fingerprint = str(row[0]) if row else None
    except sqlite3.DatabaseError as exc:
        raise BackupRefused(f"{not_ours} ({exc})") from exc
    if len(revisions) != 1:
        raise BackupRefused(f"{not_ours} (its alembic_version table names no one migration)")
    return BackupFile(path, str(revisions[0]), fingerprint)


def check_revision_known(backup: BackupFile, url: str) -> None:
    """A backup made by a newer io-bridge holds tables this version does not know."""
    scripts = ScriptDirectory.from_config(alembic_config(url))
    try:
        known = scripts.get_revision(backup.revision) is not None
    except (CommandError, RevisionError):
        known = False
    if not known:
        raise BackupRefused(
            f"{backup.path}: made by a newer io-bridge (migration {backup.revision} is "
            "unknown to this version): upgrade io-bridge, then restore"
        )


def check_pin_key(backup: BackupFile, key: PinKey | None, key_source: str) -> None:
    """The backup's PINs open rooms only with the key they were hashed with."""
    if backup.fingerprint is None or (key is not None and key.fingerprint == backup.fingerprint):
        return
    wanted = f"the key with fingerprint {backup.fingerprint[:16]}"
    where = "this state folder has none" if key is None else f"{key_source} is another"
    raise BackupRefused(
        f"{backup.path}: its PINs were hashed with {wanted}, and {where}: put the pin-key "
        f"file of the state folder the backup was made in at {key_source} (or set "
        "IOBRIDGE_PIN_KEY to it), then restore again"
    )


def restore_sqlite(backup: BackupFile, database: Path) -> Path | None:
    """Write the backup over ``database`` (SQLite's backup API: safe even with a process
    holding it open); the database it replaces is kept first. Returns where."""
    make_private_dir(database.parent)
    kept = None
    if database.is_file():
        stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
        kept = database.with_name(f"{database.name}.before-restore-{stamp}")
        backup_sqlite(database, kept)
    os.close(os.open(database, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE))
    os.chmod(database, PRIVATE_FILE)
    _copy(backup.path, database, source_mode="ro")
    with contextlib.closing(_connect(database, "rw")) as restored:
        restored.execute("PRAGMA journal_mode=WAL")  # as the service opens it
    return kept


def pg_commands(url: str, file: str) -> tuple[str, str]:
    """``pg_dump`` and ``pg_restore`` for the URL's database; the password is never in
    them (give it in ~/.pgpass or PGPASSWORD)."""
    parsed = make_url(url)
    target = [f"--host={parsed.host or 'localhost'}", f"--port={parsed.port or 5432}"]
    if parsed.username:
        target.append(f"--username={parsed.username}")
    target.append(f"--dbname={parsed.database or ''}")
    quoted = shlex.quote(file)
    dump = f"pg_dump --format=custom --file={quoted} {shlex.join(target)}"
    restore = f"pg_restore --clean --if-exists --no-owner {shlex.join(target)} {quoted}"
    return dump, restore
