"""The database, rooms and moderators from the rooms file, and lockouts."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from bridge.cli.base import call_api, fail, main, run, settings

# ---- database and rooms ----------------------------------------------------------------


@main.group()
def db() -> None:
    """The database."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations."""
    from bridge.store.db import upgrade

    run(upgrade(settings().effective_database_url))
    click.echo("database is up to date")


@main.group("rooms")
def rooms_group() -> None:
    """Rooms and moderators from the rooms file."""


def _load(path: Path) -> Any:
    from bridge.roomsfile import RoomsFileError, load_rooms_file

    try:
        return load_rooms_file(path)
    except RoomsFileError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        sys.exit(1)


@rooms_group.command("check")
@click.argument("file", type=click.Path(path_type=Path))
def rooms_check(file: Path) -> None:
    """Validate a rooms file without touching the database."""
    from bridge.roomsfile.capacity import capacity_warnings

    config = _load(file)
    ports = settings()
    for warning in capacity_warnings(config, (ports.rtp_port_start, ports.rtp_port_end)):
        click.echo(f"{file}: warning: {warning}", err=True)
    click.echo(f"{file}: OK ({config.summary()})")


@rooms_group.command("sync")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
def rooms_sync(file: Path, dry_run: bool) -> None:
    """Make the database match a rooms file, in one transaction."""
    from bridge.store.db import Database, upgrade
    from bridge.store.rooms import SyncRefused, sync_rooms

    config = _load(file)
    url = settings().effective_database_url

    async def apply() -> list[str]:
        await upgrade(url)
        database = Database(url)
        try:
            async with database.sessions() as session, session.begin():
                report = await sync_rooms(session, config)
                if dry_run:
                    await session.rollback()
            return report.lines()
        finally:
            await database.dispose()

    try:
        lines = run(apply())
    except SyncRefused as exc:
        fail(f"{file}: sync refused, nothing changed: {exc}")
    for line in lines:
        click.echo(line)
    click.echo(
        "(dry run: nothing changed)" if dry_run else f"synced {config.summary()} from {file}"
    )


@rooms_group.command("list")
@click.option("--show-pins", is_flag=True, help="Show PINs (hidden by default).")
@click.option("--json", "as_json", is_flag=True, help="One JSON document, for scripts.")
def rooms_list(show_pins: bool, as_json: bool) -> None:
    """List rooms, with live participant counts when the stack runs."""
    from bridge.store.db import Database, upgrade
    from bridge.store.rooms import active_rooms

    config = settings()

    async def read() -> list[Any]:
        await upgrade(config.effective_database_url)
        database = Database(config.effective_database_url)
        try:
            async with database.sessions() as session:
                return await active_rooms(session)
        finally:
            await database.dispose()

    specs = run(read())
    live = call_api(config, "GET", "/api/v1/rooms", quiet=True)
    counts = {room["name"]: room["participants"] for room in live.get("rooms", [])}
    if as_json:
        click.echo(json.dumps([_room_json(spec, counts, bool(live), show_pins) for spec in specs]))
        return
    click.echo(
        f"{'ROOM':<24} {'LIVE':>5} {'MAX':>5}  {'PIN':<12} {'MOD PIN':<12} {'QUEUE':<12} TITLE"
    )
    for spec in specs:
        count = counts.get(spec.name, 0) if live else "-"
        pin = spec.pin if show_pins else "****"
        mod_pin = (spec.moderator_pin if show_pins else "****") if spec.moderator_pin else "-"
        click.echo(
            f"{spec.name:<24} {count!s:>5} {spec.max_participants:>5}  {pin:<12} {mod_pin:<12} "
            f"{spec.queue.value:<12} {spec.title}"
        )
    if not live:
        click.echo("(the stack is not running: live counts unknown)")


def _room_json(spec: Any, counts: dict[str, int], running: bool, pins: bool) -> dict[str, Any]:
    count = counts.get(spec.name, 0) if running else None
    return {
        "name": spec.name,
        "title": spec.title,
        "live": count,
        "max_participants": spec.max_participants,
        "queue": spec.queue.value,
        **({"pin": spec.pin, "moderator_pin": spec.moderator_pin} if pins else {}),
    }


@main.group()
def moderators() -> None:
    """Moderator accounts."""


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


@moderators.command("hash-password")
@click.option("--password", default=None, hidden=True, help="Deprecated: visible to others.")
def hash_password(password: str | None) -> None:
    """Print an argon2id hash for a moderator's password_hash field. The password is asked
    twice without echo, or read from stdin (one line) when stdin is not a terminal."""
    from argon2 import PasswordHasher

    if password is not None:
        click.echo(
            "iobridge: warning: a password on the command line is seen by other users "
            "(ps, shell history); pipe it on stdin instead",
            err=True,
        )
    elif stdin_is_terminal():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        fail("an empty password cannot be hashed")
    click.echo(PasswordHasher().hash(password))


@main.group("lockouts")
def lockouts_group() -> None:
    """Callers locked out for guessing PINs."""


def _with_session(work: Any) -> Any:
    from bridge.store.db import Database, upgrade

    url = settings().effective_database_url

    async def go() -> Any:
        await upgrade(url)
        database = Database(url)
        try:
            async with database.sessions.begin() as session:
                return await work(session)
        finally:
            await database.dispose()

    return run(go())


@lockouts_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON document, for scripts.")
def lockouts_list(as_json: bool) -> None:
    """Show callers who are locked out now."""
    from bridge.store.lockouts import list_lockouts

    rows = _with_session(lambda s: list_lockouts(s, datetime.now(UTC)))
    if as_json:
        click.echo(
            json.dumps(
                [
                    {"caller_id": r.caller_id, "until": r.until.isoformat(), "failures": r.failures}
                    for r in rows
                ]
            )
        )
        return
    if not rows:
        click.echo("no caller is locked out")
    for row in rows:
        click.echo(
            f"{row.caller_id:<24} until {row.until.astimezone():%Y-%m-%d %H:%M:%S} "
            f"({row.failures} wrong PINs)"
        )


@lockouts_group.command("clear")
@click.argument("caller_id")
def lockouts_clear(caller_id: str) -> None:
    """Lift a caller's lockout (use 'anonymous' for withheld numbers)."""
    from bridge.domain.entry import lockout_bucket
    from bridge.store.lockouts import clear_lockout

    bucket = lockout_bucket(caller_id)
    cleared = _with_session(lambda s: clear_lockout(s, bucket))
    click.echo(f"lockout of {bucket} lifted" if cleared else f"{bucket} was not locked out")
