"""``iobridge nodes``: the Asterisk nodes of several (the nodes file; docs/admin.md, "More
than one machine"), through the running service's API: their state, calls and rooms, and
draining one (no new room goes there; its rooms finish)."""

from __future__ import annotations

import json

import click

from bridge.cli.base import call_api, main, settings


@main.group("nodes")
def nodes_group() -> None:
    """The Asterisk nodes behind Kamailio (docs/admin.md, "More than one machine")."""


@nodes_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON document, for scripts.")
def nodes_list(as_json: bool) -> None:
    """Show every node: its addresses, state (up, down, draining), calls and rooms."""
    nodes = call_api(settings(), "GET", "/api/v1/nodes")["nodes"]
    if as_json:
        click.echo(json.dumps(nodes))
        return
    if not nodes:
        click.echo("one Asterisk: no nodes file (IOBRIDGE_NODES_FILE)")
    for node in nodes:
        rooms = ", ".join(node["rooms"]) or "no room"
        click.echo(
            f"{node['name']:<16} {node['state']:<9} SIP {node['sip']:<22} AMI {node['ami']:<22} "
            f"{node['calls']} calls, {rooms}"
        )


@nodes_group.command("drain")
@click.argument("name")
def nodes_drain(name: str) -> None:
    """Send no new room to node NAME; the rooms on it finish there."""
    answer = call_api(settings(), "POST", f"/api/v1/nodes/{name}/drain", {})
    rooms = ", ".join(answer["rooms"]) or "none"
    click.echo(f"node {answer['node']} drains: no new room goes there (its rooms: {rooms})")
