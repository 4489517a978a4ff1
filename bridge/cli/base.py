"""What every command shares: the ``iobridge`` group, settings, and failing in one line:
the group's one handler turns what an admin can cause into a line that names the setting
or the thing and what to do; ``--debug`` shows the traceback instead."""

from __future__ import annotations

import importlib
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click
from pydantic import ValidationError

from bridge.settings import Settings

if TYPE_CHECKING:
    from bridge.store.db import Database

T = TypeVar("T")


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"iobridge: {message}", err=True)
    sys.exit(code)


def run(coro: Coroutine[Any, Any, T]) -> T:
    import asyncio  # here: a command that only calls the API does without it

    return asyncio.run(coro)


def settings() -> Settings:
    return Settings()


def warn_unread_variables() -> None:
    """At start: an ``IOBRIDGE_*`` variable no setting reads is most likely a typo."""
    import os

    from bridge.settings import unread_variables

    for warning in unread_variables(os.environ):
        click.echo(f"iobridge: warning: {warning}", err=True)


async def migrated(config: Settings) -> str:
    """The database's URL, once migrated to this version (its PINs hashed with this
    install's key, which migration 0007 needs for a database from before it)."""
    from bridge.store.db import upgrade
    from bridge.store.pin_key import install_pin_key

    url = config.effective_database_url
    await upgrade(url, pin_key=install_pin_key(config))
    return url


async def existing(config: Settings) -> str:
    """``migrated``, for the commands that read or change what is there (rooms list,
    calls, tokens, lockouts): a state folder with no database is most likely the wrong
    one, so they say so rather than make an empty database and a new PIN key in it.
    (``db upgrade``, ``rooms sync``, ``up`` and ``serve`` make them.)"""
    from bridge.store.db import has_io_bridge_tables

    url = config.effective_database_url
    if not await has_io_bridge_tables(url):
        where = (
            f"in {config.state_dir} (IOBRIDGE_STATE_DIR)"
            if not config.database_url
            else "in IOBRIDGE_DATABASE_URL's database"
        )
        fail(
            f"no io-bridge database {where}: is it the one io-bridge runs with? "
            "(a new one is made by iobridge db upgrade, rooms sync or up)"
        )
    return await migrated(config)


def with_database(work: Callable[[Database, Settings], Awaitable[T]]) -> T:
    """Run ``work`` against this stack's database (which must exist), migrated; a
    ``BridgeError`` is the command's one-line failure."""
    from bridge.errors import BridgeError
    from bridge.store.db import Database

    config = settings()

    async def go() -> T:
        database = Database(await existing(config))
        try:
            return await work(database, config)
        finally:
            await database.dispose()

    try:
        return run(go())
    except BridgeError as exc:
        fail(str(exc))


def one_line(exc: Exception) -> str:
    """What an admin reads instead of a traceback."""
    from bridge.asterisk.process import AsteriskProcessError
    from bridge.domain.pins import PinKeyMismatch
    from bridge.errors import StartupError
    from bridge.runtime import pin_key_mismatch_message
    from bridge.store.db import DatabaseUnusable

    if isinstance(exc, ValidationError) and exc.title == Settings.__name__:
        return "; ".join(_bad_setting(error) for error in exc.errors())
    if type(exc).__name__ == "SettingsError":  # pydantic-settings: a value that is not JSON
        return f"{exc} (a list or an object is given as JSON)"
    if isinstance(exc, PinKeyMismatch):
        return pin_key_mismatch_message(settings())
    if isinstance(exc, StartupError | DatabaseUnusable | AsteriskProcessError):
        return str(exc)
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: {exc.strerror or exc} (check {_folder_setting(exc.filename)})"
    text = str(exc).strip().splitlines()
    return (
        f"unexpected error: {type(exc).__name__}: {text[0] if text else ''} "
        "(run with --debug for the traceback)"
    )


def _folder_setting(filename: Any) -> str:
    """The setting that names the folder a failed file is in, for the admin to check."""
    from pathlib import Path

    config = settings()
    if Path(str(filename)).resolve().is_relative_to(config.cache_dir):
        return "IOBRIDGE_CACHE_DIR and its owner"
    return "IOBRIDGE_STATE_DIR and its owner"


def _bad_setting(error: Any) -> str:
    name = str(error["loc"][0]) if error["loc"] else "?"
    message = str(error["msg"]).removeprefix("Value error, ")
    if len(error["loc"]) > 1:  # inside a list or an object (a webhook): where, never what
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"][1:])
        return f"IOBRIDGE_{name.upper()}{where}: {message}"
    if "secret" in name or name.endswith("key"):
        return f"IOBRIDGE_{name.upper()}: {message}"
    return f"IOBRIDGE_{name.upper()}={error['input']}: {message}"


# The module (``bridge.cli.<module>``) that defines each command. ``iobridge X`` imports
# only X's module, and each module imports what is heavy (the service, the database, aiohttp)
# inside the commands that use it: a moderator's ``iobridge stack ROOM next`` starts in a
# fraction of the time. ``iobridge --help`` imports them all, to list every command's help.
COMMAND_MODULES = {
    "up": "runtime",
    "serve": "runtime",
    "health": "runtime",
    "asterisk": "runtime",
    "call": "runtime",
    "stack": "speaker_stack",
    "room": "live",
    "recordings": "live",
    "calls": "calls",
    "history": "calls",
    "lockouts": "lockouts",
    "db": "database",
    "rooms": "rooms",
    "moderators": "rooms",
    "tokens": "tokens",
    "poll": "polls",
    "practice": "practice",
    "dialout": "dialout",
    "breakout": "breakouts",
    "nodes": "nodes",
    "directory": "directory",
    "alert": "alerts",
    "alerts": "alerts",
}


class OneLineErrors(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMAND_MODULES, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMAND_MODULES.get(cmd_name)
        if module is not None:
            # Its decorators register it; always imported, as a group may be spread over two
            # modules (``db``: ``rooms`` has upgrade, ``database`` backup and restore).
            importlib.import_module(f"bridge.cli.{module}")
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            if ctx.params.get("debug"):
                raise
            fail(one_line(exc))


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(package_name="io-bridge", prog_name="iobridge")
def main(debug: bool) -> None:
    """io-bridge: a conference bridge for organisers, on a real Asterisk."""


def call_api(
    config: Settings,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    quiet: bool = False,
) -> dict[str, Any]:
    """One request to the running stack's API (``/api/v1``) with the admin token; fails in
    one line."""
    from bridge.runtime_file import read_runtime_file

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
        fail(_api_failure(exc))
    except OSError as exc:
        if quiet:
            return {}
        fail(f"the stack does not answer at {base} ({exc}); is it running? (iobridge up)")


def _api_failure(exc: urllib.error.HTTPError) -> str:
    """The API's own message (``{"error": {"code", "message"}}``), or the HTTP status."""
    try:
        error = json.loads(exc.read() or b"{}").get("error")
    except (ValueError, AttributeError):
        error = None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    return f"HTTP {exc.code} {exc.reason}"
