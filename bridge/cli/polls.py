"""``iobridge poll ROOM open|show|close``: a room's temperature check, through the running
service's API (the actions ``poll-open`` and ``poll-close`` of the shared table)."""

from __future__ import annotations

import json
from typing import Any

import click

from bridge.cli.base import call_api, fail, main, settings


@main.command("poll")
@click.argument("room")
@click.argument("what", type=click.Choice(["open", "show", "close"]))
@click.option("--question", default="", help="open: the question, as the panel shows it.")
@click.option(
    "--options",
    default="agree,unsure,disagree",
    show_default=True,
    help="open: the answers, keys 1, 2, 3 ... in this order (1 to 8, commas between).",
)
@click.option("--block", is_flag=True, help="open: key 9 blocks.")
@click.option("--json", "as_json", is_flag=True, help="show: print one JSON object.")
def poll_command(
    room: str, what: str, question: str, options: str, block: bool, as_json: bool
) -> None:
    """Ask a live room a question answered on the keypad: open [--question TEXT]
    [--options agree,unsure,disagree] [--block], show [--json], close."""
    config = settings()
    if what == "show":
        poll = call_api(config, "GET", f"/api/v1/rooms/{room}").get("poll")
        if poll is None:
            fail(f"room '{room}' has had no poll in this call")
        click.echo(json.dumps(poll) if as_json else _tally_text(poll))
        return
    if what == "open":
        body: dict[str, Any] = {
            "question": question,
            "options": [o.strip() for o in options.split(",")] if options.strip() else [],
            "block": block,
        }
        result = call_api(config, "POST", f"/api/v1/rooms/{room}/actions/poll-open", body)
    else:
        result = call_api(config, "POST", f"/api/v1/rooms/{room}/actions/poll-close", {})
    click.echo(_tally_text(result["poll"]))


def _tally_text(poll: dict[str, Any]) -> str:
    state = "open" if poll["open"] else "closed"
    lines = [
        f"{poll['room']}: poll {state}" + (f": {poll['question']}" if poll["question"] else "")
    ]
    for option in poll["options"]:
        lines.append(f"  {option['key']}  {option['label']:<20} {option['count']:>5}")
    lines.append(f"  {poll['voters']} answered out of {poll['present']} present")
    for blocker in poll["blocks"]:
        who = blocker["name"] or blocker["caller_id"] or blocker["channel"]
        lines.append(f"  blocked by {who} ({blocker['channel']})")
    return "\n".join(lines)
