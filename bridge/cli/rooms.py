"""Rooms and moderators from the rooms file."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from bridge.cli.base import call_api, existing, fail, main, migrated, run, settings

# ---- rooms ----------------------------------------------------------------


@main.group("rooms")
def rooms_group() -> None:
    """Rooms and moderators from the rooms file."""


def _load(path: Path, *, warn: bool = True) -> Any:
    """The rooms file, or its problems printed one a line and exit 1; its warnings (a short
    PIN) are printed and do not stop anything. With a trunk or IPv6 configured, a PIN
    shorter than 8 digits is a problem (``bridge.asterisk.exposure``); so is a room in a
    language whose Asterisk prompts are not installed."""
    from bridge.asterisk.exposure import long_pins_reason
    from bridge.asterisk.sound_languages import data_dirs_of, installed_languages
    from bridge.roomsfile import Problem, RoomsFileError, load_rooms_file

    warnings: list[Problem] = []
    languages = installed_languages(data_dirs_of(settings()))
    try:
        config = load_rooms_file(path, warnings, long_pins_reason(settings()), languages)
    except RoomsFileError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        sys.exit(1)
    for warning in warnings if warn else []:
        click.echo(warning.as_warning(), err=True)
    return config


@rooms_group.command("check")
@click.argument("file", type=click.Path(path_type=Path))
def rooms_check(file: Path) -> None:
    """Validate a rooms file without touching the database."""
    from bridge.roomsfile.capacity import capacity_warnings

    config = _load(file)
    ports = settings()
    for warning in capacity_warnings(config, (ports.rtp_port_start, ports.rtp_port_end)):
        click.echo(f"{file}: warning: {warning}", err=True)
    if (speech := _speech_warning(config)) is not None:
        click.echo(f"{file}: warning: {speech}", err=True)
    click.echo(f"{file}: OK ({config.summary()})")


def _speech_warning(config: Any) -> str | None:
    """Why rooms' titles cannot be spoken here, once, when the file has a trunk to call
    people in through and a room without a recorded title."""
    from bridge.asterisk.title_prompts import missing_synthesizer

    recorded = {name for name, _ in config.title_recordings}
    if not config.trunks or all(room.name in recorded for room in config.rooms):
        return None
    return missing_synthesizer()


@rooms_group.command("sync")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
@click.option(
    "--new-pin-key",
    is_flag=True,
    help="Hash every PIN with this state folder's PIN key, whatever key the database had "
    "(when that one is lost; retired rooms' PINs are forgotten).",
)
def rooms_sync(file: Path, dry_run: bool, new_pin_key: bool) -> None:
    """Make the database match a rooms file, in one transaction."""
    from bridge.store.db import Database
    from bridge.store.pin_key import install_pin_key
    from bridge.store.rooms import SyncRefused, sync_rooms

    config = _load(file)
    config_settings = settings()
    key = install_pin_key(config_settings)

    async def apply() -> list[str]:
        database = Database(await migrated(config_settings))
        try:
            async with database.sessions() as session, session.begin():
                report = await sync_rooms(session, config, pin_key=key, new_pin_key=new_pin_key)
                if dry_run:
                    await session.rollback()
            return report.lines()
        finally:
            await database.dispose()

    from bridge.asterisk.trunk_config import TrunkSecretMissing, render_trunks

    try:
        render_trunks(config_settings, config.trunks)  # every secret readable, before the sync
    except TrunkSecretMissing as exc:
        fail(f"{file}: sync refused, nothing changed: {exc}")
    try:
        lines = run(apply())
    except SyncRefused as exc:
        fail(f"{file}: sync refused, nothing changed: {exc}")
    for line in lines:
        click.echo(line)
    if not dry_run:
        _apply_trunks(config_settings, config.trunks)
        _make_titles(config_settings, config)
    click.echo(
        "(dry run: nothing changed)" if dry_run else f"synced {config.summary()} from {file}"
    )


@rooms_group.command("open")
@click.option("--title", required=True, help="What the call is about, as hosts see it.")
@click.option(
    "--copy-settings-from", "copy_from", metavar="ROOM", help="Take this room's settings."
)
@click.option(
    "--hours", type=float, default=4.0, show_default=True,
    help="It closes itself after this, once nobody is in it.",
)  # fmt: skip
def rooms_open(title: str, copy_from: str | None, hours: float) -> None:
    """Open a room on demand, with fresh PINs (shown once), through the running stack."""
    body = {"title": title, "hours": hours, "copy_settings_from": copy_from}
    opened = call_api(settings(), "POST", "/api/v1/rooms", body)
    click.echo(f"opened room {opened['name']}: {opened['title']}")
    click.echo(f"  participant PIN: {opened['pin']}")
    click.echo(f"  moderator PIN:   {opened['moderator_pin']}")
    click.echo(f"  closes at {opened['closes_at']} (or later, once nobody is in it)")
    click.echo("(the PINs are shown this once: the database keeps only their hashes)")


def _make_titles(config: Any, rooms: Any) -> None:
    """Each room's title as callers called in hear it, made again where it changed; only
    with a trunk to call them through."""
    from bridge.asterisk.title_prompts import make_title_prompts

    if not rooms.trunks:
        return

    recordings = {name: Path(file) for name, file in rooms.title_recordings}
    for line in make_title_prompts(config.recordings_dir, rooms.rooms, recordings):
        click.echo(line)


def _apply_trunks(config: Any, trunks: Any) -> None:
    """Write pjsip-trunks.conf, and reload PJSIP when this state folder's Asterisk runs."""
    import subprocess

    from bridge.asterisk.install import AsteriskInstallError, ensure_asterisk
    from bridge.asterisk.process import AsteriskProcess
    from bridge.asterisk.trunk_config import RELOAD, trunks_file, write_trunks

    if not trunks and not trunks_file(config).exists():
        return  # no trunks, before or now: nothing for Asterisk to change
    target = write_trunks(config, trunks)
    click.echo(f"wrote {target} ({len(trunks)} trunk(s))")
    if not (config.asterisk_dir / "run" / "asterisk.ctl").exists():
        return
    try:
        found = ensure_asterisk(
            config.cache_dir,
            binary=config.asterisk_binary,
            prefer_system=config.asterisk_prefer_system,
            progress=lambda _: None,
        )
        argv = AsteriskProcess(config, found).cli_argv("-x", RELOAD)
        done = subprocess.run(argv, capture_output=True, timeout=30, check=False)
    except (AsteriskInstallError, OSError, subprocess.TimeoutExpired) as exc:
        fail(f"wrote {target}, but could not reload PJSIP ({exc}): run {RELOAD} in Asterisk")
    if done.returncode != 0:
        fail(f"wrote {target}, but {RELOAD} failed: run it in Asterisk's console")
    click.echo(f"reloaded PJSIP ({RELOAD})")


NO_PINS_IN_DB = (
    "the database keeps only keyed hashes of the PINs, which cannot be shown; "
    "show them from your rooms file: iobridge rooms list --pins-from FILE"
)
HIDDEN, DIFFERS = "****", "(not the file's)"


@rooms_group.command("list")
@click.option("--show-pins", is_flag=True, hidden=True, help="Gone: see --pins-from.")
@click.option(
    "--pins-from",
    type=click.Path(path_type=Path),
    help="Show each room's PINs from this rooms file, where the database has the same.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON document, for scripts.")
def rooms_list(show_pins: bool, pins_from: Path | None, as_json: bool) -> None:
    """List rooms, with live participant counts when the stack runs."""
    from bridge.store.db import Database
    from bridge.store.pin_key import install_pin_key
    from bridge.store.rooms import every_room

    if show_pins:
        fail(NO_PINS_IN_DB)
    config = settings()

    async def read() -> list[Any]:
        database = Database(await existing(config))
        try:
            async with database.sessions() as session:
                return [room for room in await every_room(session) if not room.retired]
        finally:
            await database.dispose()

    stored = sorted(run(read()), key=lambda room: room.spec.name)
    pins = _pins_shown(_load(pins_from, warn=False), install_pin_key(config)) if pins_from else None
    live = call_api(config, "GET", "/api/v1/rooms", quiet=True)
    counts = {room["name"]: room["participants"] for room in live.get("rooms", [])}
    if as_json:
        click.echo(json.dumps([_room_json(room, counts, bool(live), pins) for room in stored]))
        return
    click.echo(
        f"{'ROOM':<24} {'LIVE':>5} {'MAX':>5}  {'PIN':<12} {'MOD PIN':<12} {'QUEUE':<12} "
        f"{'FROM':<10} TITLE"
    )
    for room in stored:
        spec = room.spec
        count = counts.get(spec.name, 0) if live else "-"
        pin, mod_pin = _shown(room, pins)
        click.echo(
            f"{spec.name:<24} {count!s:>5} {spec.max_participants:>5}  {pin:<12} "
            f"{mod_pin or '-':<12} {spec.queue.value:<12} {_origin(room):<10} {spec.title}"
        )
    if any(room.on_demand for room in stored):
        click.echo("(on-demand: opened by a host, closes itself; a sync never touches it)")
    if not live:
        click.echo("(the stack is not running: live counts unknown)")


def _origin(room: Any) -> str:
    """Where a room comes from: the rooms file, or a host who opened it on demand."""
    return "on-demand" if room.on_demand else "file"


def _pins_shown(config: Any, key: Any) -> dict[str, str]:
    """Each PIN of the file by its hash: a stored hash shows the file's PIN it matches."""
    found: dict[str, str] = {}
    for spec in config.rooms:
        for pin in (spec.pin, spec.moderator_pin):
            if pin:
                found[key.hash(pin)] = pin
    return found


def _shown(room: Any, pins: dict[str, str] | None) -> tuple[str, str | None]:
    def one(pin_hash: str | None) -> str | None:
        if pin_hash is None:
            return None
        return HIDDEN if pins is None else pins.get(pin_hash, DIFFERS)

    return one(room.pin_hash) or HIDDEN, one(room.moderator_pin_hash)


def _room_json(
    room: Any, counts: dict[str, int], running: bool, pins: dict[str, str] | None
) -> dict[str, Any]:
    spec = room.spec
    count = counts.get(spec.name, 0) if running else None
    pin, moderator_pin = _shown(room, pins)
    return {
        "name": spec.name,
        "title": spec.title,
        "live": count,
        "max_participants": spec.max_participants,
        "queue": spec.queue.value,
        "origin": _origin(room),
        "closes_at": room.closes_at.isoformat() if room.closes_at else None,
        **({"pin": pin, "moderator_pin": moderator_pin} if pins is not None else {}),
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
