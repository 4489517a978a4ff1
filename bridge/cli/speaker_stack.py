"""``iobridge stack ROOM ...``: the speaker stack of a live room, through the running stack's
API (the actions are the shared table's, ``bridge.actions.STACK_ACTIONS``)."""

from __future__ import annotations

import json
from typing import Any

import click

from bridge.cli.base import call_api, fail, main, settings


def _stack_action_names() -> list[str]:
    from bridge.actions import STACK_ACTIONS

    return ["show", *STACK_ACTIONS]


@main.command("stack")
@click.argument("room")
@click.argument("action", type=click.Choice(_stack_action_names()))
@click.argument("arguments", nargs=-1)
@click.option("--lane", type=click.Choice(["stack", "direct", "process"]), help="For add.")
@click.option("--json", "as_json", is_flag=True, help="For show: print one JSON object.")
def stack_command(
    room: str, action: str, arguments: tuple[str, ...], lane: str | None, as_json: bool
) -> None:
    """Run a room's speaker stack: show [--json], next, call CHANNEL, end-turn,
    move CHANNEL PLACE, remove CHANNEL, add CHANNEL [--lane LANE], clear [LANE],
    priority CHANNEL on|off, policy fifo|progressive, limit SECONDS|off (the speaking time
    limit for the rest of this call), auto-advance on|off."""
    from bridge.actions import STACK_ACTIONS

    config = settings()
    if action == "show":
        state = call_api(config, "GET", f"/api/v1/rooms/{room}")["stack"]
        if as_json:
            click.echo(json.dumps(state))
        else:
            _print_stack(state)
        return
    fields = STACK_ACTIONS[action].arguments.model_fields
    names = list(fields)
    required = [name for name, info in fields.items() if info.is_required()]
    body: dict[str, Any] = dict(zip(names, arguments, strict=False))
    if lane is not None:
        if "lane" not in fields:
            fail(f"'{action}' takes no --lane")
        body["lane"] = lane
    if len(arguments) > len(names) or any(name not in body for name in required):
        usage = " ".join(n.upper() if n in required else f"[{n.upper()}]" for n in names)
        fail(f"'{action}' takes {usage or 'nothing more'}")
    result = call_api(config, "POST", f"/api/v1/rooms/{room}/stack/{action}", body)
    speaker = f" (speaker: {result['speaker']})" if result.get("speaker") else ""
    click.echo(f"{room}: {action} done{speaker}")


def _print_stack(state: dict[str, Any]) -> None:
    click.echo(f"{state['room']}: {state['policy']} stack")
    speaker = state.get("speaker")
    limit = state.get("speaking_time_limit")
    rules = f"limit {limit} s" if limit else "no limit"
    click.echo(f"  {rules}, auto-advance {'on' if state.get('auto_advance') else 'off'}")
    if speaker:
        left = speaker.get("seconds_left")
        clock = f", {left} s left" if left is not None else ""
        click.echo(f"  speaking: {speaker['caller_id']} ({speaker['channel']}{clock})")
    else:
        click.echo("  nobody has the floor")
    if not state["queue"]:
        click.echo("  no hands raised")
    for entry in state["queue"]:
        mark = "!" if entry["priority"] else " "
        click.echo(
            f"  {entry['place']:>3}{mark} {entry['lane']:<8} {entry['caller_id']:<16} "
            f"{entry['channel']:<34} {entry['reason']}"
        )
