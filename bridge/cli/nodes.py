"""``iobridge nodes``: the Asterisk nodes of several (the nodes file; docs/admin.md, "More
than one machine"), through the running service's API: their state, calls and rooms, and
draining one (no new room goes there; its rooms finish)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from bridge.cli.base import call_api, fail, main, settings


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


@nodes_group.command("proxy-config")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--listen",
    required=True,
    metavar="HOST:PORT",
    help="Kamailio's address: the shared number's (e.g. 203.0.113.5:5060).",
)
def nodes_proxy_config(folder: Path, listen: str) -> None:
    """Write Kamailio's kamailio.cfg and dispatcher.list for the nodes file into FOLDER."""
    from bridge.kamailio import KamailioError, render_proxy
    from bridge.nodesfile import NodesFileError, address_of, load_nodes_file

    config = settings()
    if config.nodes_file is None:
        fail('no nodes file: set IOBRIDGE_NODES_FILE (docs/admin.md, "More than one machine")')
    try:
        nodes = load_nodes_file(config.nodes_file)
        written = render_proxy(folder.absolute(), address_of(listen), nodes)
    except (NodesFileError, KamailioError, ValueError) as exc:
        fail(f"--listen: {exc}" if isinstance(exc, ValueError) else str(exc))
    click.echo(f"wrote {written} and {written.with_name('dispatcher.list')} ({len(nodes)} nodes)")
