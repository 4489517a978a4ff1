"""Live rooms, through the running stack's HTTP API; recordings."""

from __future__ import annotations

import json
from typing import Any

import click

from bridge.cli.base import call_api, fail, main, settings

# ---- live rooms (through the running service's API) ------------------------------------


def _room_action_names() -> list[str]:
    from bridge.actions import ROOM_ACTIONS

    return ["status", *ROOM_ACTIONS]


@main.command("room")
@click.argument("room")
@click.argument("action", type=click.Choice(_room_action_names()))
@click.argument("arguments", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="status: one JSON document, for scripts.")
@click.option(
    "--minutes",
    type=click.IntRange(min=1),
    help="bar: for this long (default: until the call ends).",
)
def room_command(
    room: str, action: str, arguments: tuple[str, ...], as_json: bool, minutes: int | None
) -> None:
    """Act on a live room: status, mute/unmute/kick CHANNEL, mute-all, lock, record, end,
    bar CHANNEL [--minutes N], keys CHANNEL on|off ..."""
    from bridge.actions import ROOM_ACTIONS

    config = settings()
    if action == "status":
        state = call_api(config, "GET", f"/api/v1/rooms/{room}")
        if as_json:
            click.echo(json.dumps(state))
        else:
            _print_room_status(room, state)
        return
    fields = ROOM_ACTIONS[action].arguments.model_fields
    wanted = tuple(fields)
    required = sum(1 for f in fields.values() if f.is_required())
    if not required <= len(arguments) <= len(wanted):
        needs = " ".join(
            name.upper() if field.is_required() else f"[{name.upper()}]"
            for name, field in fields.items()
        )
        fail(f"'{action}' takes {needs or 'nothing more'} (see: iobridge room {room} status)")
    body: dict[str, Any] = dict(zip(wanted, arguments, strict=False))
    if minutes is not None:
        if "minutes" not in fields:
            fail(f"'{action}' takes no --minutes")
        if "minutes" in body:
            fail("give the minutes once: as MINUTES or as --minutes")
        body["minutes"] = minutes
    result = call_api(config, "POST", f"/api/v1/rooms/{room}/actions/{action}", body)
    click.echo(f"{room}: {action} done" + (f" ({result['file']})" if "file" in result else ""))


def _print_room_status(room: str, state: dict[str, Any]) -> None:
    if not state.get("live"):
        click.echo(f"{room}: nobody is in the room")
        return
    flags = [f for f in ("locked", "recording") if state.get(f)]
    click.echo(f"{room}: {len(state['participants'])} in the room {' '.join(flags)}".rstrip())
    for p in state["participants"]:
        marks = ("M" if p["role"] == "moderator" else " ") + ("muted" if p["muted"] else "     ")
        marks += " talking" if p["talking"] else ""
        click.echo(
            f"  {p['channel']:<34} {p['caller_id']:<16} {marks:<20} talk {p['talk_time']:.1f}s"
        )


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
