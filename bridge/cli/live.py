"""Live rooms, through the running stack's HTTP API; recordings."""

from __future__ import annotations

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
def room_command(room: str, action: str, arguments: tuple[str, ...]) -> None:
    """Act on a live room: status, mute/unmute/kick CHANNEL, mute-all, lock, record, end ..."""
    from bridge.actions import ROOM_ACTIONS

    config = settings()
    if action == "status":
        _print_room_status(room, call_api(config, "GET", f"/api/rooms/{room}"))
        return
    wanted = ROOM_ACTIONS[action].argument_names
    if len(arguments) != len(wanted):
        needs = " ".join(name.upper() for name in wanted) or "nothing more"
        fail(f"'{action}' takes {needs} (see: iobridge room {room} status)")
    body = dict(zip(wanted, arguments, strict=True))
    result = call_api(config, "POST", f"/api/rooms/{room}/{action}", body)
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
def recordings_list() -> None:
    """List recordings with their duration and size."""
    from bridge.recordings import list_recordings

    found = list_recordings(settings().recordings_dir)
    if not found:
        click.echo("no recordings yet")
    for item in found:
        click.echo(f"{item.path.name:<44} {item.duration:>8.1f} s {item.size / 1024:>10.0f} KiB")
