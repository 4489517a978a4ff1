"""``iobridge alert NUMBER... --message FILE.wav [--room ROOM]``, ``iobridge alert show ID``
and ``iobridge alerts list``: a recorded message rung out to a list of numbers, by the
running service's API (``/api/v1/alerts``) with the admin token. The message and a
``--file``'s numbers are checked here first, so a wrong file is one line naming it."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from bridge.cli.base import call_api, fail, main, settings
from bridge.domain.alerts import BadMessage, check_message
from bridge.domain.dialout import DialRefused, read_callees


@main.command("alert")
@click.argument("numbers", nargs=-1)
@click.option(
    "--file",
    "csv_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="numbers from a file, one a line, a name after a comma (CSV).",
)
@click.option(
    "--message",
    "message_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="the message: a WAV file, 8000 Hz, mono, 16-bit.",
)
@click.option("--room", help='offer this room after the message: "press 1 to join the call now".')
@click.option("--trunk", help="the trunk to call through (default: the first that may).")
@click.option(
    "--retries", type=click.IntRange(0, 5), default=1, show_default=True,
    help="more attempts for a number busy, unanswered or failed.",
)  # fmt: skip
@click.option(
    "--retry-after", "retry_after", type=click.FloatRange(1, 3600), default=60.0,
    show_default=True, metavar="SECONDS", help="seconds between a number's attempts.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="print one JSON object.")
def alert_command(
    numbers: tuple[str, ...],
    csv_file: Path | None,
    message_file: Path | None,
    room: str | None,
    trunk: str | None,
    retries: int,
    retry_after: float,
    as_json: bool,
) -> None:
    """Ring NUMBER... with a recorded message: alert NUMBER... [--file FILE.csv] --message
    FILE.wav [--room ROOM] [--trunk NAME] [--retries N] [--retry-after SECONDS]; alert show
    ID [--json]; alert cancel ID."""
    config = settings()
    if numbers[:1] in (("show",), ("cancel",)):
        what = numbers[0]
        if len(numbers) != 2:
            fail(f"alert {what} takes one alert's id: iobridge alert {what} ID")
        if what == "cancel":
            shown = call_api(config, "POST", f"/api/v1/alerts/{numbers[1]}/cancel", {})
        else:
            shown = call_api(config, "GET", f"/api/v1/alerts/{numbers[1]}")
        click.echo(json.dumps(shown) if as_json else alert_text(shown))
        return
    lines = list(numbers)
    if csv_file is not None:
        try:
            listed = csv_file.read_text(encoding="utf-8").splitlines()
            read_callees(listed, where=str(csv_file))
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"--file {csv_file}: {getattr(exc, 'strerror', None) or exc}")
        except DialRefused as exc:
            fail(str(exc))
        lines += listed
    if not lines:
        fail("alert needs numbers: NUMBER... or --file FILE.csv")
    if message_file is None:
        fail("alert needs its message: --message FILE.wav")
    try:
        message = message_file.read_bytes()
        check_message(message)
    except OSError as exc:
        fail(f"--message {message_file}: {exc.strerror or exc}")
    except BadMessage as exc:
        fail(f"--message {message_file}: {exc}")
    body = {
        "numbers": lines,
        "message": base64.b64encode(message).decode(),
        "room": room,
        "trunk": trunk,
        "retries": retries,
        "retry_after": retry_after,
    }
    sent = call_api(config, "POST", "/api/v1/alerts", body)
    if as_json:
        click.echo(json.dumps(sent))
        return
    click.echo(
        f"{sent['id']}: {len(sent['numbers'])} number(s) queued (iobridge alert show {sent['id']})"
    )


@main.command("alerts")
@click.argument("what", type=click.Choice(["list"]))
@click.option("--json", "as_json", is_flag=True, help="print one JSON object.")
def alerts_command(what: str, as_json: bool) -> None:
    """The latest alerts, newest first: alerts list [--json]."""
    listed = call_api(settings(), "GET", "/api/v1/alerts")
    if as_json:
        click.echo(json.dumps(listed))
        return
    if not listed["alerts"]:
        click.echo("no alerts")
    for alert in listed["alerts"]:
        click.echo(_summary(alert))


def _at(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _summary(alert: dict[str, Any]) -> str:
    counts: dict[str, int] = {}
    for number in alert["numbers"]:
        counts[number["result"]] = counts.get(number["result"], 0) + 1
    results = ", ".join(f"{n} {result}" for result, n in sorted(counts.items()))
    room = f" room {alert['room']}" if alert["room"] else ""
    said = f"{alert['id']}  {_at(alert['asked_at'])}  by {alert['asked_by']}{room}: {results}"
    return f"{said} ({alert['summary']})"


def alert_text(alert: dict[str, Any]) -> str:
    lines = [_summary(alert)]
    for number in alert["numbers"]:
        lines.append(
            f"  {number['number']:<16} {number['result']:<10} attempts {number['attempts']}"
            + (", retry pending" if number["retry_pending"] else "")
            + (f"  {number['name']}" if number["name"] else "")
        )
    return "\n".join(lines)
