"""``iobridge breakout ROOM start|show|extend|move|end|broadcast``: a room's breakout groups,
through the running service's API (the ``breakout-*`` actions of the shared table).

``--by list --file FILE.yaml`` reads a list file here, before anything is sent::

    group-1: ["+15551230001", "+15551230002"]   # caller IDs or channels
    pairs: ["PJSIP/anonymous-0000002a"]

A mistake in it is one line (``FILE:LINE: what``) and nothing starts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import yaml

from bridge.cli.base import call_api, fail, main, settings

WHAT = ("start", "show", "extend", "move", "end", "broadcast")


@main.command("breakout")
@click.argument("room")
@click.argument("what", type=click.Choice(WHAT))
@click.argument("values", nargs=-1)
@click.option("--groups", type=int, help="start: how many groups.")
@click.option("--size", type=int, help="start: how many callers per group.")
@click.option("--minutes", type=float, default=10.0, show_default=True, help="start: how long.")
@click.option(
    "--by",
    type=click.Choice(["random", "stack", "list"]),
    default="random",
    show_default=True,
    help="start: who goes where: by chance, in the speaker stack's order, or a list file.",
)
@click.option(
    "--file", "list_file", type=click.Path(path_type=Path), help="--by list: the list file."
)
@click.option("--json", "as_json", is_flag=True, help="show: print one JSON object.")
def breakout_command(
    room: str,
    what: str,
    values: tuple[str, ...],
    groups: int | None,
    size: int | None,
    minutes: float,
    by: str,
    list_file: Path | None,
    as_json: bool,
) -> None:
    """Split a live room into timed groups and bring everyone back: start (--groups N |
    --size K) [--minutes M] [--by random|stack|list --file FILE.yaml], show [--json],
    extend MINUTES, move CHANNEL GROUP, broadcast on|off, end."""
    wanted = {"extend": 1, "move": 2, "broadcast": 1}.get(what, 0)
    if len(values) != wanted:
        usage = {
            "extend": "extend MINUTES",
            "move": "move CHANNEL GROUP",
            "broadcast": "broadcast on|off",
        }
        fail(f"{what} takes {usage.get(what, 'no arguments')}, got {' '.join(values) or 'none'}")
    config = settings()
    if what == "show":
        breakout = call_api(config, "GET", f"/api/v1/rooms/{room}").get("breakout")
        if breakout is None:
            fail(f"room '{room}' has no breakout running")
        shown = {key: breakout[key] for key in ("room", "started_at", "ends_at", "groups")}
        click.echo(json.dumps(shown) if as_json else _text(breakout))
        return
    body: dict[str, Any] = {}
    if what == "start":
        body = {"minutes": minutes, "by": by}
        body.update({k: v for k, v in (("groups", groups), ("size", size)) if v is not None})
        if by == "list":
            if list_file is None:
                fail("--by list needs --file FILE.yaml")
            body["listed"] = read_list(list_file)
        elif list_file is not None:
            fail("--file goes with --by list")
    elif what == "extend":
        body = {"minutes": _number(values[0])}
    elif what == "move":
        body = {"channel": values[0], "group": values[1]}
    elif what == "broadcast":
        if values[0] not in ("on", "off"):
            fail(f"broadcast takes on or off, got '{values[0]}'")
        body = {"state": values[0]}
    result = call_api(config, "POST", f"/api/v1/rooms/{room}/actions/breakout-{what}", body)
    click.echo(_text(result["breakout"]) if what != "end" else f"{room}: everyone back")


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        fail(f"MINUTES must be a number, got '{text}'")


def read_list(path: Path) -> dict[str, list[str]]:
    """A list file: each group's name and whom it holds, as text. ``fail`` names the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"{path}: cannot read: {exc.strerror}")
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        fail(f"{path}{line}: not YAML: {getattr(exc, 'problem', exc)}")
    if not isinstance(root, yaml.MappingNode) or not root.value:
        fail(f"{path}:1: must be a mapping of group names to lists of caller IDs or channels")
    groups: dict[str, list[str]] = {}
    for key, value in root.value:
        where = f"{path}:{key.start_mark.line + 1}"
        if not isinstance(key, yaml.ScalarNode) or not isinstance(value, yaml.SequenceNode):
            fail(f'{where}: each group is a name and a list, like group-1: ["+15551230001"]')
        people = []
        for item in value.value:
            if not isinstance(item, yaml.ScalarNode) or not item.value:
                fail(f"{path}:{item.start_mark.line + 1}: {key.value}: a caller ID or channel")
            people.append(str(item.value))  # as written: 0049... keeps its zeros
        groups[str(key.value)] = people
    return groups


def _text(breakout: dict[str, Any]) -> str:
    lines = [f"{breakout['room']}: {len(breakout['groups'])} groups"]
    for group in breakout["groups"]:
        asked = "  (wants a moderator)" if group["wants_moderator"] else ""
        lines.append(f"  {group['name']}: {len(group['members'])}{asked}")
        for member in group["members"]:
            who = member["name"] or member["caller_id"] or member["channel"]
            lines.append(f"    {who} ({member['channel']})")
    return "\n".join(lines)
