"""``iobridge``: the admin's command line. Every failure is one line and a non-zero exit:
the group's one handler turns what an admin can cause into a line that names the setting
or the thing and what to do; ``--debug`` shows the traceback instead."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import urllib.error
import urllib.request
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from pydantic import ValidationError

from bridge.asterisk.install import AsteriskInstallError, ensure_asterisk
from bridge.logs import setup_logging
from bridge.settings import Settings

T = TypeVar("T")


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"iobridge: {message}", err=True)
    sys.exit(code)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def settings() -> Settings:
    return Settings()


def one_line(exc: Exception) -> str:
    """What an admin reads instead of a traceback."""
    from bridge.asterisk.pbx import PbxError
    from bridge.stack import StackError
    from bridge.store.db import DatabaseUnusable

    if isinstance(exc, ValidationError) and exc.title == Settings.__name__:
        return "; ".join(_bad_setting(error) for error in exc.errors())
    if isinstance(exc, StackError | DatabaseUnusable | PbxError):
        return str(exc)
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: {exc.strerror or exc} (check IOBRIDGE_STATE_DIR and its owner)"
    text = str(exc).strip().splitlines()
    return (
        f"unexpected error: {type(exc).__name__}: {text[0] if text else ''} "
        "(run with --debug for the traceback)"
    )


def _bad_setting(error: Any) -> str:
    name = str(error["loc"][0]) if error["loc"] else "?"
    message = str(error["msg"]).removeprefix("Value error, ")
    if "secret" in name:
        return f"IOBRIDGE_{name.upper()}: {message}"
    return f"IOBRIDGE_{name.upper()}={error['input']}: {message}"


class OneLineErrors(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            if ctx.params.get("debug"):
                raise
            fail(one_line(exc))


@click.group(cls=OneLineErrors)
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(package_name="io-bridge", prog_name="iobridge")
def main(debug: bool) -> None:
    """io-bridge: a conference bridge for organisers, on a real Asterisk."""


# ---- the stack -------------------------------------------------------------------------


@main.command()
@click.option(
    "--host", help="Address for SIP and the panel (default 127.0.0.1; 0.0.0.0 in a container)."
)
def up(host: str | None) -> None:
    """Bring the whole stack up: Asterisk, and the bridge service supervised beside it."""
    from bridge.supervisor import ServiceDidNotStart, Supervisor

    config = settings()
    if host:
        config.bind_host = host
    setup_logging(config.log_level)

    async def supervise() -> None:
        supervisor = Supervisor(config, progress=lambda line: click.echo(line))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await supervisor.start()
        except ServiceDidNotStart:
            sys.exit(1)  # the service has said why, in one line
        click.echo(f"io-bridge is up. Dial {config.dial_target} (any SIP phone, or: iobridge call)")
        click.echo(f"Panel: http://{config.bind_host}:{config.http_port}/   Stop with Ctrl-C.")
        try:
            await stop.wait()
        finally:
            click.echo("stopping io-bridge ...")
            await supervisor.stop()
            click.echo("stopped.")

    run(supervise())


@main.command()
@click.option("--lifeline", is_flag=True, hidden=True, help="Run under up: stdin is its pipe.")
def serve(lifeline: bool) -> None:
    """Run the bridge service alone, for an Asterisk run by someone else (its AMI on
    IOBRIDGE_AMI_PORT, its dialplan pointing at IOBRIDGE_AGI_PORT). Stopping it leaves
    every call up; the next start picks them up again."""
    from bridge import stack

    config = settings()
    setup_logging(config.log_level)
    run(
        stack.serve(
            config,
            progress=lambda line: click.echo(line),
            lifeline=lifeline,
        )
    )


@main.command()
def health() -> None:
    """Exit 0 when the running stack answers and is connected to Asterisk (HEALTHCHECK)."""
    config = settings()
    state = _api(config, "GET", "/healthz")
    if state.get("pbx") != "connected":
        fail(f"the bridge service answers but Asterisk's AMI is {state.get('pbx', 'unknown')}")
    click.echo("ok: the bridge service answers and is connected to Asterisk")


@main.group()
def asterisk() -> None:
    """Find or build Asterisk; talk to the running one."""


@asterisk.command("ensure")
def asterisk_ensure() -> None:
    """Use the system Asterisk (>= 20), or build a private Asterisk 22 from Debian's packages."""
    config = settings()
    try:
        found = ensure_asterisk(
            config.cache_dir,
            mirror=config.debian_mirror,
            suite=config.debian_suite,
            binary=config.asterisk_binary,
            prefer_system=config.asterisk_prefer_system,
            progress=lambda line: click.echo(line),
        )
    except AsteriskInstallError as exc:
        fail(str(exc))
    click.echo(f"Asterisk {found.version}: {found.binary}")


@asterisk.command("run")
def asterisk_run() -> None:
    """Run Asterisk in the foreground with io-bridge's configuration, as its own process
    (the iobridge-asterisk systemd unit): the bridge service (iobridge serve) can then stop,
    crash or restart without touching a call."""
    from bridge.asterisk.pbx import busy_ports, render_config

    config = settings()
    taken = [p for p in busy_ports(config) if p.purpose in ("SIP", "AMI")]
    if taken:
        fail(str(taken[0]))
    try:
        found = ensure_asterisk(
            config.cache_dir,
            mirror=config.debian_mirror,
            suite=config.debian_suite,
            binary=config.asterisk_binary,
            prefer_system=config.asterisk_prefer_system,
            progress=lambda line: click.echo(line),
        )
    except AsteriskInstallError as exc:
        fail(str(exc))
    argv = found.command("-f", "-n", "-C", str(render_config(config, found)))
    click.echo(f"starting Asterisk {found.version} for {config.state_dir}", err=True)
    sys.stdout.flush()
    os.execv(argv[0], argv)


@asterisk.command("cli", context_settings={"ignore_unknown_options": True})
@click.option("-x", "command", help="Run one CLI command and print its output (as asterisk -rx).")
def asterisk_cli(command: str | None) -> None:
    """Open the Asterisk console of the running stack."""
    from bridge.asterisk.pbx import Pbx

    config = settings()
    if not (config.run_dir / "run" / "asterisk.ctl").exists():
        fail(f"no running Asterisk for {config.state_dir} (start it with: iobridge up)")
    try:
        found = ensure_asterisk(
            config.cache_dir,
            binary=config.asterisk_binary,
            prefer_system=config.asterisk_prefer_system,
            progress=lambda _: None,
        )
    except AsteriskInstallError as exc:
        fail(str(exc))
    argv = Pbx(config, found).cli_argv(*(["-x", command] if command else []))
    os.execv(argv[0], argv)


# ---- test calls ------------------------------------------------------------------------


@main.command()
@click.option("--keys", default="", help="Keys to type once answered, e.g. 424242#.")
@click.option("--audio/--no-audio", default=False, help="Play speech-like audio while in the room.")
@click.option("--stay", default=10.0, show_default=True, help="Seconds to stay after typing.")
@click.option("--caller-id", default="iobridge-call", show_default=True)
@click.option("--host", default=None, help="Bridge SIP address (default: this stack's).")
@click.option("--port", type=int, default=None, help="Bridge SIP port (default: this stack's).")
def call(
    keys: str, audio: bool, stay: float, caller_id: str, host: str | None, port: int | None
) -> None:
    """Dial the bridge with a SIPp test caller: type keys, optionally talk, hang up."""
    from bridge.sipcaller import CallPlan, SippMissing, place_call
    from bridge.stack import read_runtime_file

    config = settings()
    running = read_runtime_file(config) or {}
    plan = CallPlan(
        target_host=host or str(running.get("sip_host", config.local_host)),
        target_port=port or int(str(running.get("sip_port", config.sip_port))),
        extension=config.entry_extension,
        keys=keys,
        audio=audio,
        stay=stay,
        caller_id=caller_id,
    )
    workdir = config.state_dir / "calls"
    workdir.mkdir(parents=True, exist_ok=True)
    click.echo(f"calling sip:{plan.extension}@{plan.target_host}:{plan.target_port} ...")
    try:
        result = run(place_call(plan, workdir))
    except SippMissing as exc:
        fail(str(exc))
    if not result.answered:
        fail(
            "the call was not answered: "
            + (result.log.strip().splitlines()[-1] if result.log.strip() else "no answer")
        )
    click.echo(f"call answered, lasted {result.duration:.1f} s, ended by the {result.ended_by}")


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
    config = _load(file)
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
    live = _api(config, "GET", "/api/status", quiet=True)
    live_rooms = live.get("rooms", {}) if live else {}
    if as_json:
        click.echo(
            json.dumps([_room_json(spec, live_rooms, bool(live), show_pins) for spec in specs])
        )
        return
    click.echo(
        f"{'ROOM':<24} {'LIVE':>5} {'MAX':>5}  {'PIN':<12} {'MOD PIN':<12} {'QUEUE':<12} TITLE"
    )
    for spec in specs:
        count = len(live_rooms.get(spec.name, {}).get("participants", [])) if live else "-"
        pin = spec.pin if show_pins else "****"
        mod_pin = (spec.moderator_pin if show_pins else "****") if spec.moderator_pin else "-"
        click.echo(
            f"{spec.name:<24} {count!s:>5} {spec.max_participants:>5}  {pin:<12} {mod_pin:<12} "
            f"{spec.queue.value:<12} {spec.title}"
        )
    if not live:
        click.echo("(the stack is not running: live counts unknown)")


def _room_json(spec: Any, live_rooms: dict[str, Any], running: bool, pins: bool) -> dict[str, Any]:
    count = len(live_rooms.get(spec.name, {}).get("participants", [])) if running else None
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


# ---- live rooms (through the running service's API) ------------------------------------


def _api(
    config: Settings,
    method: str,
    path: str,
    body: dict[str, str] | None = None,
    quiet: bool = False,
) -> dict[str, Any]:
    from bridge.stack import read_runtime_file

    token_file = config.state_dir / "admin-token"
    running = read_runtime_file(config)
    if running is None or not token_file.exists():
        if quiet:
            return {}
        fail(f"no running stack for {config.state_dir} (start it with: iobridge up)")
    base = str(running.get("http", f"http://{config.local_host}:{config.http_port}"))
    url = f"{base}{path}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token_file.read_text().strip()}")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return dict(json.load(response))
    except urllib.error.HTTPError as exc:
        try:
            detail = json.loads(exc.read() or b"{}").get("error", exc.reason)
        except ValueError:
            detail = f"HTTP {exc.code} {exc.reason}"
        fail(str(detail))
    except OSError as exc:
        if quiet:
            return {}
        fail(f"the stack does not answer at {base} ({exc}); is it running? (iobridge up)")


@main.command("room")
@click.argument("room")
@click.argument(
    "action",
    type=click.Choice(
        [
            "status",
            "mute",
            "unmute",
            "kick",
            "mute-all",
            "unmute-all",
            "lock",
            "unlock",
            "record",
            "stop-record",
            "end",
        ]
    ),
)
@click.argument("channel", required=False)
@click.option("--json", "as_json", is_flag=True, help="status: one JSON document, for scripts.")
def room_command(room: str, action: str, channel: str | None, as_json: bool) -> None:
    """Act on a live room: status, mute/unmute/kick CHANNEL, mute-all, lock, record, end ..."""
    config = settings()
    if action == "status":
        state = _api(config, "GET", f"/api/rooms/{room}")
        if as_json:
            click.echo(json.dumps(state))
            return
        if not state.get("live"):
            click.echo(f"{room}: nobody is in the room")
            return
        flags = [f for f in ("locked", "recording") if state.get(f)]
        click.echo(f"{room}: {len(state['participants'])} in the room {' '.join(flags)}".rstrip())
        for p in state["participants"]:
            marks = ("M" if p["role"] == "moderator" else " ") + (
                "muted" if p["muted"] else "     "
            )
            marks += " talking" if p["talking"] else ""
            click.echo(
                f"  {p['channel']:<34} {p['caller_id']:<16} {marks:<20} talk {p['talk_time']:.1f}s"
            )
        return
    if action in ("mute", "unmute", "kick") and not channel:
        fail(f"'{action}' needs a participant's channel (see: iobridge room {room} status)")
    result = _api(config, "POST", f"/api/rooms/{room}/{action}", {"channel": channel or ""})
    click.echo(f"{room}: {action} done" + (f" ({result['file']})" if "file" in result else ""))


@main.group()
def recordings() -> None:
    """Recorded calls."""


@recordings.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON document, for scripts.")
def recordings_list(as_json: bool) -> None:
    """List recordings with their duration and size."""
    from bridge.recordings import list_recordings

    found = list_recordings(settings().recordings_dir)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {"file": str(item.path), "seconds": item.duration, "bytes": item.size}
                    for item in found
                ]
            )
        )
        return
    if not found:
        click.echo("no recordings yet")
    for item in found:
        click.echo(f"{item.path.name:<44} {item.duration:>8.1f} s {item.size / 1024:>10.0f} KiB")
