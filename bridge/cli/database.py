"""``iobridge db``: ``upgrade`` (the migrations), ``backup`` and ``restore`` (the SQLite
database copied while the service runs, and put back with its checks, ``bridge.store.backup``;
PostgreSQL's own tools for PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from bridge.cli.base import fail, main, migrated, run, settings

if TYPE_CHECKING:
    from bridge.domain.pins import PinKey
    from bridge.settings import Settings


@main.group()
def db() -> None:
    """The database."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations."""
    run(migrated(settings()))
    click.echo("database is up to date")


@db.command("backup")
@click.argument("file", type=click.Path(path_type=Path))
def db_backup(file: Path) -> None:
    """Copy the database to FILE, safely while the service runs (SQLite's backup API).
    For PostgreSQL, print the pg_dump command to use instead."""
    from bridge.store.backup import BackupRefused, backup_sqlite, pg_commands, sqlite_path

    config = settings()
    url = config.effective_database_url
    database = sqlite_path(url)
    if database is None:
        dump, _ = pg_commands(url, str(file))
        click.echo(dump)
        fail("the database is PostgreSQL: back it up with pg_dump, as printed above")
    try:
        backup_sqlite(database, file.expanduser().absolute())
    except BackupRefused as exc:
        fail(str(exc))
    key, source = _install_key(config)
    tail = f"; keep {source} with it" if key is not None else ""
    click.echo(f"backed up {database} to {file} ({file.stat().st_size} bytes){tail}")


@db.command("restore")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--force", is_flag=True, help="Restore even while io-bridge runs from this state folder."
)
def db_restore(file: Path, force: bool) -> None:
    """Put a backup made by `iobridge db backup` in place of the database. Refused while
    io-bridge runs from this state folder (unless --force), for a file that is not an
    io-bridge database, or whose PINs were hashed with another PIN key."""
    from bridge.runtime import holder
    from bridge.store import backup as backups

    config = settings()
    url = config.effective_database_url
    database = backups.sqlite_path(url)
    if database is None:
        _, restore = backups.pg_commands(url, str(file))
        click.echo(restore)
        fail("the database is PostgreSQL: restore it with pg_restore, as printed above")
    try:
        found = backups.read_backup(file.expanduser().absolute())
        backups.check_revision_known(found, url)
        backups.check_pin_key(found, *_install_key(config))
    except backups.BackupRefused as exc:
        fail(str(exc))
    running = next(
        (pid for pid in map(holder, (config.pid_file, config.service_pid_file)) if pid), None
    )
    if running and not force:
        fail(
            f"io-bridge runs from {config.state_dir} (pid {running}): stop it first, or "
            "restore with --force and restart it then (it holds the rooms in memory)"
        )
    kept = backups.restore_sqlite(found, database)
    click.echo(f"restored {database} from {file} (migration {found.revision})")
    if kept is not None:
        click.echo(f"the database it replaced is kept at {kept}")
    click.echo(
        "restart io-bridge now (it still holds the old rooms)"
        if running
        else "the next start applies any newer migrations"
    )


def _install_key(config: Settings) -> tuple[PinKey | None, str]:
    """This install's PIN key if it has one, and where it is; never makes one (a restore
    into a fresh state folder must not invent the key its PINs need)."""
    from bridge.domain.pins import PinKey

    if config.pin_key is not None:
        return PinKey(config.pin_key.get_secret_value().encode()), "IOBRIDGE_PIN_KEY"
    path = config.state_dir / "pin-key"
    if not path.is_file():
        return None, str(path)
    return PinKey(path.read_text().strip().encode()), str(path)
