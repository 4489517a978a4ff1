"""``iobridge dialout ROOM start|show|cancel``: calling phones into a room through a trunk,
by the running service's API (the actions ``dialout-start`` and ``dialout-cancel`` of the
shared table; ``show`` reads the room's view)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from bridge.cli.base import call_api, fail, main, settings


@main.command("dialout")
@click.argument("room")
@click.argument("what", type=click.Choice(["start", "show", "cancel"]))
@click.argument("numbers", nargs=-1)
@click.option(
    "--file",
    "csv_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="start: numbers from a file, one a line, a name after a comma (CSV).",
)
@click.option("--trunk", help="start: the trunk to call through (default: the first that may).")
@click.option(
    "--confirm", is_flag=True, help='start: the callee hears "press 1 to join" and joins on 1.'
)
@click.option(
    "--retries", type=click.IntRange(0, 5), default=1, show_default=True,
    help="start: more attempts for a busy or unanswered number, --retry-after apart.",
)  # fmt: skip
@click.option(
    "--retry-after", "retry_after", type=click.FloatRange(1, 3600), default=None,
    help="start: seconds between a number's attempts (default: the bridge's "
    "IOBRIDGE_DIALOUT_RETRY_SECONDS, 60 unless the admin set it).",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="show: print one JSON object.")
def dialout_command(
    room: str,
    what: str,
    numbers: tuple[str, ...],
    csv_file: Path | None,
    trunk: str | None,
    confirm: bool,
    retries: int,
    retry_after: float | None,
    as_json: bool,
) -> None:
    """Call phones into ROOM: start NUMBER... [--file FILE.csv] [--trunk NAME] [--confirm]
    [--retries N] [--retry-after SECONDS]; show [--json]; cancel [NUMBER]."""
    config = settings()
    if what == "show":
        if numbers:
            fail("show takes no number")
        state = call_api(config, "GET", f"/api/v1/rooms/{room}")
        shown = {"room": state["room"], "calls": state.get("calls_out", [])}
        click.echo(json.dumps(shown) if as_json else _calls_text(shown))
        return
    if what == "cancel":
        if len(numbers) > 1:
            fail("cancel takes one number, or none for every call not yet in the room")
        body: dict[str, Any] = {"number": numbers[0] if numbers else None}
        result = call_api(config, "POST", f"/api/v1/rooms/{room}/actions/dialout-cancel", body)
        click.echo(f"{room}: {len(result['calls'])} call(s) cancelled")
        return
    lines = list(numbers)
    if csv_file is not None:
        try:
            lines += csv_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"--file {csv_file}: {getattr(exc, 'strerror', None) or exc}")
    if not lines:
        fail("start needs numbers: NUMBER... or --file FILE.csv")
    body = {"numbers": lines, "trunk": trunk, "confirm": confirm, "retries": retries}
    if retry_after is not None:  # otherwise the bridge's own setting
        body["retry_after"] = retry_after
    result = call_api(config, "POST", f"/api/v1/rooms/{room}/actions/dialout-start", body)
    click.echo(f"{room}: {len(result['calls'])} number(s) queued (iobridge dialout {room} show)")


def _calls_text(shown: dict[str, Any]) -> str:
    if not shown["calls"]:
        return f"{shown['room']}: nobody called out"
    lines = [f"{shown['room']}:"]
    for call in shown["calls"]:
        at = datetime.fromtimestamp(call["updated_at"], UTC).strftime("%H:%M:%S")
        lines.append(
            f"  {call['number']:<16} {call['state']:<10} attempts {call['attempts']}  {at} UTC"
            + (f"  {call['name']}" if call["name"] else "")
        )
    return "\n".join(lines)
