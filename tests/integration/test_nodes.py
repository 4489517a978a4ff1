"""Several nodes on loopback, end to end: a real Kamailio on 127.0.0.1 in front of three real
Asterisk nodes (127.0.0.2, .3, .4) and the service driving them all (``iobridge up --nodes
3``'s layout); SIPp callers, through Kamailio (they follow its Record-Route) or straight to a
node, so that every node answers a caller of the same room."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from bridge.cli import main
from bridge.cluster import NodesOnOneMachine
from bridge.domain.nodes import NodeSpec
from bridge.runtime import Runtime
from bridge.service import BridgeService
from bridge.service.room_view import room_view
from bridge.settings import Settings
from bridge.sipcaller import Caller, CallPlan
from bridge.web.panel.state import room_snapshot
from tests.callers import start_caller, when_asked
from tests.integration.conftest import nodes_on_loopback, unique_caller_id
from tests.support import eventually

ROOM, PIN = "e2e-open", "2468#"
_numbers = itertools.count(1)


class Cluster:
    def __init__(self, settings: Settings, nodes: tuple[NodeSpec, ...], machine: NodesOnOneMachine):
        self.settings, self.nodes, self.machine = settings, nodes, machine
        self.runtime: Runtime | None = None
        self.callers: list[Caller] = []

    async def cli(self, *args: str) -> str:
        """``iobridge ARGS`` against this stack, as a script runs it; its output."""
        env = {
            "IOBRIDGE_STATE_DIR": str(self.settings.state_dir),
            "IOBRIDGE_HTTP_PORT": str(self.settings.http_port),
        }
        result = await asyncio.to_thread(CliRunner().invoke, main, list(args), env=env)
        assert result.exit_code == 0, result.output
        return result.stdout

    @property
    def service(self) -> BridgeService:
        assert self.runtime is not None and self.runtime.service is not None
        return self.runtime.service

    async def dial(
        self,
        tmp_path: Path,
        host: str,
        keys: str = PIN,
        *,
        extension: str | None = None,
        local_ip: str = "127.0.0.1",
        later_keys: tuple[str, ...] = (),
        headers: tuple[str, ...] = (),
    ) -> Caller:
        """A caller of ``host`` (Kamailio's address, or a node's own)."""
        plan = CallPlan(
            target_host=host,
            target_port=self.settings.sip_port,
            extension=extension or self.settings.entry_extension,
            keys=keys,
            stay=60,
            caller_id=unique_caller_id("node"),
            local_ip=local_ip,
            later_keys=later_keys,
            headers=headers,
        )
        caller = await start_caller(when_asked(plan), tmp_path / f"call-{next(_numbers)}")
        self.callers.append(caller)
        return caller


@pytest.fixture(scope="module")
async def cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    state = tmp_path_factory.mktemp("nodes-state")
    async with nodes_on_loopback(state) as (settings, nodes, machine):
        cluster = Cluster(settings, nodes, machine)
        try:
            cluster.runtime = Runtime(settings, progress=lambda _: None)
            await cluster.runtime.start(with_pbx=False)
            links = cluster.service.node_links
            assert links is not None
            await eventually(lambda: all(links.is_up(n.name) for n in nodes), timeout=30)
            yield cluster
        finally:
            for caller in cluster.callers:
                with contextlib.suppress(Exception):
                    await caller.hangup()
            if cluster.runtime is not None:
                await cluster.runtime.stop()


async def test_callers_of_one_room_on_every_node_meet_once_in_one_room_and_keys_reach_the_stack(
    cluster: Cluster, tmp_path: Path
) -> None:
    service = cluster.service
    started = time.monotonic()
    through_proxy = await cluster.dial(tmp_path, cluster.settings.bind_host)
    await eventually(lambda: (room := service.switchboard.room(ROOM)) and room.count == 1, 40)
    print(f"a caller through Kamailio in the room in {time.monotonic() - started:.2f} s")
    links = service.node_links
    assert links is not None
    home = links.directory.node_of(ROOM)
    # One caller straight to each node: every node answers a caller of the room, and the two
    # that are not its home hand theirs over.
    direct = [
        await cluster.dial(tmp_path, node.sip.host, later_keys=("*9",), local_ip="127.0.5.9")
        for node in cluster.nodes
    ]
    callers = [through_proxy, *direct]
    ids = sorted(caller.plan.caller_id for caller in callers)

    def roster() -> list[str]:
        live = service.switchboard.room(ROOM)
        return sorted(p.caller_id for p in live.participants.values()) if live else []

    await eventually(lambda: roster() == ids, timeout=30)
    print(f"three callers straight to the nodes in the room in {time.monotonic() - started:.2f} s")
    assert links.directory.node_of(ROOM) == home
    assert not service.switchboard.entry_calls  # handed over: nobody left "typing a PIN"

    # A hand raised by a caller whose call a node other than the room's answered.
    stranger = next(c for c, n in zip(direct, cluster.nodes, strict=True) if n.name != home)
    await stranger.press("*9")

    live = service.switchboard.room(ROOM)
    assert live is not None
    (channel,) = [
        p.channel for p in live.participants.values() if p.caller_id == stranger.plan.caller_id
    ]
    assert f"iobridge-{home}-" in channel  # the room's node's leg of the hand-over

    async def in_stack() -> bool:
        queue = (await service.speakers.show(ROOM))["queue"]
        return [entry["channel"] for entry in queue] == [channel]

    await eventually(in_stack, timeout=15)

    # What scripts read: the room's node, and every node with its calls and rooms.
    status = json.loads(await cluster.cli("room", ROOM, "status", "--json"))
    assert status["nodes"] == [home]
    listed = {
        node["name"]: node for node in json.loads(await cluster.cli("nodes", "list", "--json"))
    }
    assert list(listed) == [node.name for node in cluster.nodes]
    spec = next(node for node in cluster.nodes if node.name == home)
    assert listed[home] == {
        "name": home,
        "sip": str(spec.sip),
        "ami": str(spec.ami),
        "state": "up",
        "calls": 4,
        "rooms": [ROOM],
    }
    for caller in callers:
        await caller.hangup()
    await eventually(lambda: roster() == [], timeout=15)


async def test_the_node_to_node_join_cannot_be_dialled_from_outside(
    cluster: Cluster, tmp_path: Path
) -> None:
    """From the proxy's address (without Kamailio's header) and from any other address, a
    call to a node's join extension, with the headers a node would send, joins no room."""
    service = cluster.service
    node = cluster.nodes[1]
    forged = (f"X-IOBridge-Room: {ROOM}", "X-IOBridge-Role: moderator")
    callers = [
        await cluster.dial(
            tmp_path, node.sip.host, "", extension="iobridge-join", local_ip=ip, headers=forged
        )
        for ip in ("127.0.0.1", "127.0.6.7")
    ]
    results = await asyncio.gather(*(asyncio.wait_for(c.wait(), 30) for c in callers[:1]))
    assert not results[0].answered  # the proxy's address without its header: refused
    await asyncio.sleep(2)
    live = service.switchboard.room(ROOM)
    assert live is None or not any(
        p.caller_id in {c.plan.caller_id for c in callers} for p in live.participants.values()
    )


async def test_a_drained_node_takes_no_new_room(cluster: Cluster, tmp_path: Path) -> None:
    drained = cluster.nodes[0].name
    said = await cluster.cli("nodes", "drain", drained)
    assert said.startswith(f"node {drained} drains")
    listed = json.loads(await cluster.cli("nodes", "list", "--json"))
    assert [node["state"] for node in listed] == ["draining", "up", "up"]
    links = cluster.service.node_links
    assert links is not None
    await cluster.dial(tmp_path, cluster.settings.bind_host, "1111#")  # e2e-lobby

    def placed() -> str | None:
        return links.directory.placed().get("e2e-lobby")

    await eventually(lambda: placed() is not None, timeout=40)
    assert placed() != drained


async def test_a_hung_node_is_seen_down_skipped_by_kamailio_and_back_when_it_wakes(
    cluster: Cluster, tmp_path: Path
) -> None:
    """A machine that stops answering keeps its TCP connections open: only the pings (the
    service's on AMI, Kamailio's OPTIONS) find it. SIGSTOP is that machine."""
    service, room = cluster.service, "e2e-small"
    links = service.node_links
    assert links is not None
    first = await cluster.dial(tmp_path, cluster.settings.bind_host, "5555#")
    await eventually(lambda: first.plan.caller_id in roster_of(service, room), timeout=40)
    home = links.directory.node_of(room)
    pid = cluster.machine.asterisks[home].pid
    assert pid is not None

    os.kill(pid, signal.SIGSTOP)
    try:
        stopped = time.monotonic()
        await eventually(lambda: not links.is_up(home), timeout=15, every=0.05)
        print(f"hung node {home} seen down after {time.monotonic() - stopped:.2f} s")
        # Kamailio skips it for new calls (its probe, or the INVITE's 2 s timer and the
        # next node), and the room is placed anew on a live node for them.
        newcomer = await cluster.dial(tmp_path, cluster.settings.bind_host, "5555#")
        await eventually(
            lambda: newcomer.plan.caller_id in roster_of(service, room), timeout=30, every=0.1
        )
        assert links.directory.node_of(room) != home
        await first.hangup()  # its BYE waits in the hung node's socket
    finally:
        os.kill(pid, signal.SIGCONT)
    await eventually(lambda: links.is_up(home), timeout=20, every=0.1)


async def test_a_node_killed_is_seen_down_and_new_callers_of_its_room_still_get_in(
    cluster: Cluster, tmp_path: Path
) -> None:
    service, room = cluster.service, "e2e-live"
    links = service.node_links
    assert links is not None
    first = await cluster.dial(tmp_path, cluster.settings.bind_host, "3333#")
    await eventually(lambda: (live := service.switchboard.room(room)) and live.count == 1, 20)
    home = links.directory.node_of(room)
    pid = cluster.machine.asterisks[home].pid
    assert pid is not None

    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    await eventually(lambda: not links.is_up(home), timeout=15, every=0.05)
    print(f"node {home} seen down after {time.monotonic() - killed:.2f} s")  # reported
    # Its calls are gone, and its room is placed anew for the next caller: the service does
    # both as it hears of the link (moments after, on a loaded box).
    await eventually(
        lambda: (
            first.plan.caller_id not in roster_of(service, room)
            and room not in links.directory.placed()
        ),
        timeout=15,
        every=0.05,
    )
    # The panel names it, /readyz stays ready on the others.
    spec = await service.find_room(room)
    assert room_snapshot(room_view(service, spec), [])["room"]["nodes_down"] == [home]
    assert (await service.readiness()).ready

    # A new caller of the lost node's room gets in on another node. How soon is a figure
    # (7.7 s on a quiet box, most of it a first caller's own PIN dialogue and ConfBridge's
    # "only person" prompt: docs/admin.md), reported here, not asserted: on a loaded CI box
    # the same dialogue takes longer.
    newcomer = await cluster.dial(tmp_path, cluster.settings.bind_host, "3333#")
    await eventually(
        lambda: newcomer.plan.caller_id in roster_of(service, room), timeout=30, every=0.1
    )
    print(f"a new caller in {time.monotonic() - killed:.2f} s after the kill")  # reported


def roster_of(service: BridgeService, room: str) -> list[str]:
    live = service.switchboard.room(room)
    return [p.caller_id for p in live.participants.values()] if live else []
