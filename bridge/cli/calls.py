"""Call history for the admin: the list of calls, one call's report, a call's purge, and
the retention purge. They read the database directly (a report is wanted after the call, when the
stack may be down); the admin sees caller IDs in full."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from bridge.cli.base import fail, main, settings, with_database

T = TypeVar("T")


def _with_reports(work: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``work(CallReports)`` against this stack's (migrated) database."""
    from bridge.service.reports import CallReports

    return with_database(
        lambda database, config: work(
            CallReports(
                database,
                config.recordings_dir,
                config.history_retention_days,
                config.recording_retention_days,
            )
        )
    )


@main.group()
def calls() -> None:
    """Calls that happened: who came, who spoke, for how long."""


@calls.command("list")
@click.option("--room", default=None, help="Only this room's calls.")
@click.option("--limit", default=50, show_default=True, help="How many, newest first.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: {'calls': [...]}.")
@click.option("--practice", is_flag=True, help="Only practice rooms' calls (left out otherwise).")
def calls_list(room: str | None, limit: int, as_json: bool, practice: bool) -> None:
    """List calls, newest first (practice rooms' calls only with --practice or --room)."""
    from bridge.reports.text import clock, duration

    items = _with_reports(
        lambda reports: reports.list_calls(room, max(1, limit), practice=practice)
    )
    if as_json:
        click.echo('{"calls": [' + ", ".join(i.model_dump_json() for i in items) + "]}")
        return
    if not items:
        click.echo("no calls yet" + (f" in room {room}" if room else ""))
        return
    click.echo(f"{'CALL':>6}  {'ROOM':<24} {'STARTED':<24} {'LENGTH':>8} {'LEGS':>5} {'TALK':>8}")
    for item in items:
        length = duration(item.duration) + ("" if item.ended_at else "+")
        click.echo(
            f"{item.id:>6}  {item.room:<24} {clock(item.started_at):<24} {length:>8} "
            f"{item.legs:>5} {duration(item.talk_time):>8}"
        )


@calls.command("report")
@click.argument("call_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="The report as JSON (as the API serves it).")
@click.option("--csv", "as_csv", is_flag=True, help="The report as CSV.")
def calls_report(call_id: int, as_json: bool, as_csv: bool) -> None:
    """One call's report: people, talk time and shares, turns, stack, recordings."""
    from bridge.reports import report_csv
    from bridge.reports.text import report_lines

    if as_json and as_csv:
        fail("--json and --csv: choose one")
    report = _with_reports(lambda reports: reports.report(call_id, redact_caller_ids=False))
    if as_json:
        click.echo(report.model_dump_json(indent=2))
    elif as_csv:
        click.echo(report_csv(report), nl=False)
    else:
        for line in report_lines(report):
            click.echo(line)


@calls.command("purge")
@click.argument("call_id", type=int)
@click.option("--yes", is_flag=True, help="Do not ask for a confirmation.")
def calls_purge(call_id: int, yes: bool) -> None:
    """Delete one ended call's history and recordings now (the call's number stays, with
    when it was purged; the audit trail says who purged it)."""
    from bridge.reports.text import clock

    if not yes:
        click.confirm(
            f"Purge call {call_id}: delete its history and recordings for good?", abort=True
        )
    done = _with_reports(lambda reports: reports.purge_call(call_id, "admin"))
    purged = done.call
    click.echo(
        f"call {purged.call_id} (room {purged.room}) purged at {clock(done.at)}: "
        f"{purged.legs} stays, {purged.turns} turns, {purged.stack_events} stack events, "
        f"{purged.audit_rows} audit rows and {len(done.recordings)} recordings deleted"
    )
    for name in done.recordings:
        click.echo(f"  deleted {name}")


@main.group()
def history() -> None:
    """The call history's retention (IOBRIDGE_HISTORY_RETENTION_DAYS)."""


@history.command("purge")
def history_purge() -> None:
    """Redact caller IDs of calls older than the retention period, now (the running
    service does this by itself every hour)."""
    from bridge.reports.text import clock

    result = _with_reports(lambda reports: reports.purge())
    days = settings().history_retention_days
    click.echo(f"retention {days} days: redacting calls that ended before {clock(result.cutoff)}")
    for line in result.lines():
        click.echo(f"  {line}")
    if result.nothing_done:
        click.echo("nothing to redact")
