"""``iobridge tokens``: bearer tokens for scripts that use the JSON API as a moderator, with
that moderator's rooms (``bridge.service.tokens``). They read and write the database
directly, so they work whether or not the stack runs."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import click

from bridge.cli.base import main, with_database

T = TypeVar("T")


def _with_tokens(work: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``work(ApiTokens)`` against this stack's (migrated) database."""
    from bridge.service.tokens import ApiTokens

    return with_database(lambda database, _: work(ApiTokens(database)))


def _when(at: datetime | None, never: str = "-") -> str:
    return at.astimezone().strftime("%Y-%m-%d %H:%M") if at else never


@main.group()
def tokens() -> None:
    """Tokens for scripts: the JSON API as a moderator, in that moderator's rooms."""


@tokens.command("create")
@click.option("--user", "username", required=True, help="The moderator the token acts as.")
@click.option(
    "--expires",
    "days",
    type=click.FloatRange(min=0, min_open=True, max=3660),
    default=90.0,
    show_default=True,
    help="Days until it expires (every token expires; make a new one before then).",
)
@click.option("--read-only", is_flag=True, help="It may read (GET), never act.")
@click.option(
    "--rooms",
    "room_list",
    default=None,
    metavar="A,B",
    help="Only these of the moderator's rooms (default: all of them).",
)
def tokens_create(username: str, days: float, read_only: bool, room_list: str | None) -> None:
    """Make a token; it is printed once, on its own line (keep it: it is not stored)."""
    rooms = None if room_list is None else frozenset(_split(room_list))
    made = _with_tokens(
        lambda tokens: tokens.create(username, days, read_only=read_only, rooms=rooms)
    )
    click.echo(made.token)
    ends = f"expires {_when(made.expires_at)}" if made.expires_at else "never expires"
    scope = f" ({_scope(read_only, rooms)})" if read_only or rooms is not None else ""
    click.echo(
        f"token {made.id} for {made.username}{scope}, {ends}; shown once, keep it now "
        f"(revoke: iobridge tokens revoke {made.id})",
        err=True,
    )


def _split(room_list: str) -> list[str]:
    return [room for room in room_list.replace(",", " ").split() if room]


def _scope(read_only: bool, rooms: frozenset[str] | None) -> str:
    """What a token may do, in a few words: ``read-only, rooms ga,wg``."""
    where = "all rooms" if rooms is None else "rooms " + ",".join(sorted(rooms))
    return ("read-only, " if read_only else "") + where


@tokens.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON document, for scripts.")
def tokens_list(as_json: bool) -> None:
    """Every token: whose, when made, until when, last used, and whether revoked."""
    from datetime import UTC

    rows = _with_tokens(lambda tokens: tokens.list())
    now = datetime.now(UTC)

    def state(row: Any) -> str:
        if row.revoked_at:
            return "revoked"
        return "expired" if row.expires_at and row.expires_at <= now else "live"

    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "id": row.id,
                        "user": row.username,
                        "state": state(row),
                        "read_only": row.read_only,
                        "rooms": None if row.rooms is None else sorted(row.rooms),
                        **{
                            name: (value.isoformat() if value else None)
                            for name, value in (
                                ("created_at", row.created_at),
                                ("expires_at", row.expires_at),
                                ("revoked_at", row.revoked_at),
                                ("last_used_at", row.last_used_at),
                            )
                        },
                    }
                    for row in rows
                ]
            )
        )
        return
    if not rows:
        click.echo("no tokens (make one: iobridge tokens create --user NAME)")
        return
    click.echo(
        f"{'ID':>4}  {'USER':<20} {'STATE':<8} {'CREATED':<17} {'EXPIRES':<17} "
        f"{'LAST USED':<17} SCOPE"
    )
    for row in rows:
        click.echo(
            f"{row.id:>4}  {row.username:<20} {state(row):<8} {_when(row.created_at):<17} "
            f"{_when(row.expires_at, 'never'):<17} {_when(row.last_used_at, 'never'):<17} "
            f"{_scope(row.read_only, row.rooms)}"
        )


@tokens.command("revoke")
@click.argument("token_id", type=int)
def tokens_revoke(token_id: int) -> None:
    """Revoke a token now: its next request is refused (401)."""
    row = _with_tokens(lambda tokens: tokens.revoke(token_id))
    click.echo(f"token {row.id} ({row.username}) revoked")
