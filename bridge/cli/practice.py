"""``iobridge practice ROOM [--callers N] [--scenario NAME|FILE.yaml] [--speed 1.0]``,
``iobridge practice ROOM stop``, ``iobridge practice ROOM status [--json]`` and
``iobridge practice scenarios``: a practice room filled with simulated callers, through the
running service's API (the actions ``practice`` and ``practice-stop``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from bridge.cli.base import call_api, fail, main, settings

SCENARIOS = "scenarios"


@main.command("practice")
@click.argument("room")
@click.argument("what", required=False, type=click.Choice(["start", "stop", "status"]))
@click.option(
    "--callers", type=click.IntRange(1, 300), help="How many (the scenario's own by default)."
)
@click.option(
    "--scenario",
    default="general-assembly",
    show_default=True,
    help="A shipped scenario's name (iobridge practice scenarios) or a scenario FILE.yaml.",
)
@click.option("--speed", type=click.FloatRange(0.1, 10.0), default=1.0, show_default=True,
              help="2.0 runs the scenario's times twice as fast.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def practice_command(
    room: str,
    what: str | None,
    callers: int | None,
    scenario: str,
    speed: float,
    as_json: bool,
) -> None:
    """Rehearse moderating: simulated callers join ROOM (a room with practice: true) and
    raise hands, ask for direct responses and points of process, talk, drop and call back,
    on a scenario's script. `iobridge practice scenarios` lists the shipped scenarios."""
    if room == SCENARIOS and what is None:
        _list_scenarios(as_json)
        return
    config = settings()
    if what == "stop":
        result = call_api(config, "POST", f"/api/v1/rooms/{room}/actions/practice-stop", {})
    elif what == "status":
        result = {"practice": call_api(config, "GET", f"/api/v1/rooms/{room}").get("practice")}
        if result["practice"] is None:
            fail(f"room '{room}' has had no practice since the service started")
    else:
        body: dict[str, Any] = {"speed": speed, **_scenario_body(scenario)}
        if callers is not None:
            body["callers"] = callers
        result = call_api(config, "POST", f"/api/v1/rooms/{room}/actions/practice", body)
    practice = result["practice"]
    click.echo(json.dumps(practice) if as_json else _text(practice))


def _scenario_body(scenario: str) -> dict[str, Any]:
    """A shipped scenario goes by name; a file is checked here (its problems with their
    lines) and sent whole."""
    from bridge.scenarios import BadScenario, read_scenario_file, shipped

    if scenario in shipped():
        return {"scenario": scenario}
    path = Path(scenario)
    if not path.exists():
        names = ", ".join(shipped())
        fail(f"no scenario '{scenario}' (shipped: {names}; or give a file.yaml)")
    try:
        read_scenario_file(path)
    except BadScenario as exc:
        fail(str(exc))
    return {"scenario_text": path.read_text(encoding="utf-8")}


def _list_scenarios(as_json: bool) -> None:
    from bridge.scenarios import read_scenario_file, shipped

    found = []
    for name, path in shipped().items():
        scenario = read_scenario_file(path)
        found.append(
            {
                "name": name,
                "callers": scenario.callers,
                "minutes": scenario.minutes,
                "description": scenario.description,
            }
        )
    if as_json:
        click.echo(json.dumps(found))
        return
    for item in found:
        click.echo(
            f"{item['name']:<18} {item['callers']:>3} callers {item['minutes']:>4g} min  "
            f"{item['description']}"
        )


def _text(practice: dict[str, Any]) -> str:
    state = "running" if practice["running"] else "stopped"
    parts = ", ".join(f"{n} {name}" for name, n in practice["parts"].items())
    return (
        f"{practice['room']}: practice {state}: scenario {practice['scenario']}, "
        f"{practice['callers']} simulated callers at speed {practice['speed']:g} ({parts}); "
        f"{practice['on_the_line']} on the line, {practice['placed']} calls placed, "
        f"{practice['failed']} failed"
    )
