"""``iobridge lockouts``: the sources the guard holds back for guessing PINs (an address on
the internet endpoint, a trunk's caller ID), and lifting a hold. From the running service
when there is one (its count is the one that decides), else from the database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from bridge.cli.base import call_api, existing, fail, main, run, settings


@main.group("lockouts")
def lockouts_group() -> None:
    """Sources held back for guessing PINs (docs/admin.md, "Guessing a PIN")."""


@lockouts_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON document, for scripts.")
def lockouts_list(as_json: bool) -> None:
    """Show the sources refused or slowed right now."""
    config = settings()
    answer = call_api(config, "GET", "/api/v1/lockouts", quiet=True)
    held: list[dict[str, Any]] = answer["held_back"] if answer else run(_from_database())
    if as_json:
        click.echo(json.dumps(held))
        return
    if not held:
        click.echo("no source is held back")
    for row in held:
        until = datetime.fromisoformat(row["until"]).astimezone()
        state = "refused until" if row["refused"] else "slowed until"
        click.echo(
            f"{row['source']:<40} {state} {until:%Y-%m-%d %H:%M:%S} ({row['failures']} failed PINs)"
        )


@lockouts_group.command("clear")
@click.argument("source")
def lockouts_clear(source: str) -> None:
    """Lift a source's hold: an address (203.0.113.7), or a source as 'list' shows it."""
    from bridge.domain.guard import parse_source

    try:
        parsed = parse_source(source)
    except ValueError as exc:
        fail(str(exc))
    config = settings()
    answer = call_api(config, "POST", "/api/v1/lockouts/clear", {"source": str(parsed)}, quiet=True)
    cleared = bool(answer["cleared"]) if answer else run(_forget(str(parsed)))
    click.echo(f"hold on {parsed} lifted" if cleared else f"{parsed} was not held back")


async def _from_database() -> list[dict[str, Any]]:
    """What the guard holds now, replayed from the stored failures (the service is down)."""
    from bridge.domain.guard import Guard
    from bridge.service.entry import guard_policy, replay
    from bridge.store import pin_failures
    from bridge.store.db import Database
    from bridge.web.render import held_back

    config = settings()
    guard = Guard(guard_policy(config))
    now = datetime.now(UTC)
    database = Database(await existing(config))
    try:
        async with database.sessions() as session:
            since = now - timedelta(seconds=guard.policy.window)
            replay(guard, await pin_failures.failures_since(session, since))
    finally:
        await database.dispose()
    return [held_back(h) for h in guard.held_back(now.timestamp())]


async def _forget(source: str) -> bool:
    from bridge.store import pin_failures
    from bridge.store.db import Database

    database = Database(await existing(settings()))
    try:
        async with database.sessions.begin() as session:
            return await pin_failures.forget_source(session, source) > 0
    finally:
        await database.dispose()


@lockouts_group.command("figures")
def lockouts_figures() -> None:
    """How fast a PIN can be guessed at most with these settings (a Markdown table; the
    one in docs/admin.md is for the defaults)."""
    from bridge.domain.guessing import figures_table
    from bridge.service.entry import guard_policy

    click.echo(figures_table(guard_policy(settings())), nl=False)
