"""Room placements in the database: saved, moved, read back, dropped."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bridge.domain.events import ParticipantJoined, Role
from bridge.domain.nodes import PortRange, nodes_on_one_machine
from bridge.domain.roster import Switchboard
from bridge.service.metrics import Metrics
from bridge.service.nodes import NodeLinks
from bridge.settings import Settings
from bridge.store.db import Database
from bridge.store.placements import drop_placements, load_placements, save_placement

T0 = datetime(2026, 12, 6, 18, 0, tzinfo=UTC)


async def test_placements_are_read_back_as_saved_moved_and_dropped(db: Database) -> None:
    async with db.sessions.begin() as session:
        await save_placement(session, "ga", "node-1", T0)
        await save_placement(session, "wg", "node-2", T0)
    async with db.sessions.begin() as session:
        await save_placement(session, "ga", "node-3", T0)
        await drop_placements(session, {"wg"})
    async with db.sessions() as session:
        assert await load_placements(session) == {"ga": "node-3"}


def node_links(db: Database, monkeypatch: pytest.MonkeyPatch, board: Switchboard) -> NodeLinks:
    monkeypatch.setenv("TEST_NODE_SECRET", "not-used-here")
    nodes = nodes_on_one_machine(3, "127.0.0", 5060, 5038, PortRange(20000, 23999))
    nodes = tuple(replace(node, secret_env="TEST_NODE_SECRET") for node in nodes)

    async def ignore(node: str, up: bool) -> None:
        return None

    links = NodeLinks(Settings(), db.sessions, nodes, lambda: board, lambda m: None, ignore)
    for ami in links.links.values():
        ami.connected.set()  # as if each node's AMI link were up (no Asterisk here)
    return links


async def test_a_restarted_service_keeps_rooms_on_the_nodes_they_are_live_on(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    board = Switchboard()
    first = node_links(db, monkeypatch, board)
    assert await first.place("ga") == "node-1"
    board.apply(ParticipantJoined("ga", "PJSIP/a-1", "5551234", Role.PARTICIPANT, False, 1.0))
    assert await first.place("wg") == "node-2"  # node-1 holds a call now
    assert await first.place("ga") == "node-1"

    again = node_links(db, monkeypatch, Switchboard())
    await again.restore()
    assert again.directory.placed() == {"ga": "node-1", "wg": "node-2"}
    # The first resync reads the nodes: ga is live on node-3 (say, placed by hand), wg is
    # live nowhere.
    await again.check_placements({"node-1": set(), "node-2": set(), "node-3": {"ga"}})
    assert again.directory.placed() == {"ga": "node-3"}
    async with db.sessions() as session:
        assert await load_placements(session) == {"ga": "node-3"}


async def test_the_metrics_give_each_nodes_state_calls_and_rooms(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    board = Switchboard()
    links = node_links(db, monkeypatch, board)
    await links.place("ga")
    board.apply(ParticipantJoined("ga", "PJSIP/a-1", "5551234", Role.PARTICIPANT, False, 1.0))
    links.drain("node-2")
    links.links["node-3"].connected.clear()  # its AMI link lost
    metrics = Metrics(lambda: board, lambda: True)
    metrics.watch_nodes(links.listing)
    text = metrics.render().decode()
    for line in (
        'iobridge_node_up{node="node-1"} 1.0',
        'iobridge_node_up{node="node-3"} 0.0',
        'iobridge_node_draining{node="node-2"} 1.0',
        'iobridge_node_calls{node="node-1"} 1.0',
        'iobridge_node_rooms{node="node-1"} 1.0',
        'iobridge_node_rooms{node="node-2"} 0.0',
    ):
        assert line in text
