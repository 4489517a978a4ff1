"""A big room on several nodes, end to end: ``iobridge up --nodes 3``'s layout (a real
Kamailio, three real Asterisk nodes, the service) with ``max_callers_per_node: 2``. The room's
third caller joins it on a second node, joined to the home node by one link; talk crosses the
link both ways (an echoing caller, who sends back what it hears, is seen talking when the
other node's talker is heard); everyone is on the roster once; a dropped link comes back."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bridge.domain.cascade import endpoint
from bridge.runtime import Runtime
from bridge.service import BridgeService
from bridge.service.cascade import Cascade
from bridge.service.nodes import NodeLinks
from bridge.service.room_view import room_view
from bridge.settings import Settings
from bridge.sipcaller import Caller, CallPlan
from tests.callers import start_caller, when_asked
from tests.integration.conftest import nodes_on_loopback, unique_caller_id
from tests.support import eventually

ROOM, PIN = "e2e-open", "2468#"
_numbers = itertools.count(1)


class BigRoom:
    def __init__(self, settings: Settings, runtime: Runtime) -> None:
        self.settings, self.runtime = settings, runtime
        self.callers: list[Caller] = []

    @property
    def service(self) -> BridgeService:
        assert self.runtime.service is not None
        return self.runtime.service

    async def dial(
        self,
        tmp_path: Path,
        *,
        audio: bool = False,
        echo: bool = False,
        room: str = ROOM,
        pin: str = PIN,
    ) -> Caller:
        """A caller of ``room`` through Kamailio, in the room before this returns."""
        plan = CallPlan(
            target_host=self.settings.bind_host,
            target_port=self.settings.sip_port,
            extension=self.settings.entry_extension,
            keys=pin,
            stay=40,
            caller_id=unique_caller_id("big"),
            audio=audio,
            echo=echo,
        )
        caller = await start_caller(when_asked(plan), tmp_path / f"call-{next(_numbers)}")
        self.callers.append(caller)
        await eventually(lambda: self.person(caller, room) is not None, timeout=45)
        return caller

    def person(self, caller: Caller, room: str = ROOM) -> str | None:
        """The caller's channel in ``room`` (None: not in it)."""
        live = self.service.switchboard.room(room)
        found = [
            p.channel
            for p in (live.participants.values() if live else ())
            if p.caller_id == caller.plan.caller_id
        ]
        assert len(found) <= 1, f"{caller.plan.caller_id} is on the roster {len(found)} times"
        return found[0] if found else None

    def talking(self, caller: Caller) -> bool:
        live = self.service.switchboard.room(ROOM)
        channel = self.person(caller)
        return bool(live and channel and live.participants[channel].talking)

    def node_of(self, caller: Caller, room: str = ROOM) -> str:
        channel = self.person(caller, room)
        assert channel is not None
        return self.service.pbx_directory.node_of_channel(room, channel)


@pytest.fixture(scope="module")
async def big(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[BigRoom]:
    state = tmp_path_factory.mktemp("big-state")
    async with nodes_on_loopback(state, nodes_file_extra="max_callers_per_node: 2\n") as (
        settings,
        nodes,
        _machine,
    ):
        runtime = Runtime(settings, progress=lambda _: None)
        room = BigRoom(settings, runtime)
        try:
            await runtime.start(with_pbx=False)
            links = room.service.node_links
            assert links is not None and links.max_callers_per_node == 2
            await eventually(lambda: all(links.is_up(n.name) for n in nodes), timeout=30)
            yield room
        finally:
            for caller in room.callers:
                with contextlib.suppress(Exception):
                    await caller.hangup()
            await runtime.stop()


async def test_a_big_room_spreads_to_a_second_node_and_talk_crosses_its_one_link(
    big: BigRoom, tmp_path: Path
) -> None:
    service = big.service
    links = service.node_links
    assert links is not None
    echo_home = await big.dial(tmp_path, echo=True)
    silent_home = await big.dial(tmp_path)
    home = links.directory.node_of(ROOM)
    assert big.node_of(echo_home) == big.node_of(silent_home) == home

    # The third caller: the home node holds 2 of the room's callers, so another node.
    talker_away = await big.dial(tmp_path, audio=True)
    away = big.node_of(talker_away)
    assert away != home
    await eventually(
        lambda: [(k.node, str(k.state)) for k in links.cascade.links_of(ROOM)] == [(away, "up")],
        timeout=15,
    )
    # Talk on the other node is the remote person's, and the home node hears it.
    await eventually(lambda: big.talking(talker_away), timeout=15)
    await eventually(lambda: big.talking(echo_home), timeout=15)

    # The other way: a talker at home, heard by an echoing caller on the other node.
    echo_away = await big.dial(tmp_path, echo=True)
    assert big.node_of(echo_away) == away  # the room's node with room to spare: no new link
    await talker_away.hangup()
    await echo_home.hangup()
    await eventually(lambda: big.person(echo_home) is None and big.person(talker_away) is None)
    talker_home = await big.dial(tmp_path, audio=True)
    assert big.node_of(talker_home) == home
    await eventually(lambda: big.talking(echo_away), timeout=15)

    # One room, one view: every person once, no link among them; the room's nodes.
    view = room_view(service, await service.find_room(ROOM))
    ids = sorted(p.caller_id for p in view.participants)
    wanted = [silent_home, echo_away, talker_home]
    assert ids == sorted(c.plan.caller_id for c in wanted)
    assert view.nodes == (home, away)
    assert view.links == ({"node": away, "state": "up"},)
    assert len(links.cascade.links_of(ROOM)) == 1

    # A dropped link is dialled again (within 2 s on a quiet box: printed, timed by no test);
    # the view says so meanwhile.
    (link,) = links.cascade.links_of(ROOM)
    dropped = link.channel
    assert dropped is not None
    await links.directory.nodes[home].hang_up(dropped)
    started = time.monotonic()
    await eventually(lambda: link.channel is None or link.channel != dropped, timeout=15)
    await eventually(lambda: link.channel not in (None, dropped), timeout=15, every=0.05)
    print(f"the link came back in {time.monotonic() - started:.2f} s")
    await eventually(lambda: big.talking(echo_away), timeout=15)  # heard again
    assert len(links.cascade.links_of(ROOM)) == 1


async def link_ends(links: NodeLinks, room: str, node: str) -> list[str]:
    """The link channels in ``room``'s conference on ``node``, as its own list shows them."""
    snapshot = await links.directory.nodes[node].snapshot()
    return [channel for seen in snapshot.rooms if seen.room == room for channel in seen.links]


async def test_a_restarted_service_adopts_the_links_up_and_hangs_up_a_second_one(
    big: BigRoom, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """What a restart (or the standby taking over) finds: a big room live, its link up, and
    a service that knows no link. A fresh cascade learns the link from the resync and keeps
    exactly one per other node, whichever way a second one came."""
    room, pin = "e2e-live", "3333#"
    links = big.service.node_links
    assert links is not None
    callers = [await big.dial(tmp_path, room=room, pin=pin) for _ in range(3)]
    home = links.directory.node_of(room)
    (away,) = {big.node_of(caller, room) for caller in callers} - {home}
    await eventually(lambda: [str(k.state) for k in links.cascade.links_of(room)] == ["up"])
    (first,) = await link_ends(links, room, home)

    async def restarted() -> Cascade:
        """A service that knows no link: a cascade of its own, running."""
        links.cascade = Cascade(links.directory, links.room_callers)
        running.append(asyncio.create_task(links.cascade.run()))
        return links.cascade

    running: list[asyncio.Task[None]] = []
    original = links.cascade
    try:
        fresh = await restarted()
        await big.service.roster.resync()
        assert [(k.node, k.channel) for k in fresh.links_of(room)] == [(away, first)]
        assert await link_ends(links, room, home) == [first]

        # A second link dialled while the first is known: hung up as soon as it joins.
        with caplog.at_level(logging.WARNING, logger="bridge.service.cascade"):
            await links.directory.nodes[home].link(room, endpoint(home, away))
            await eventually(lambda: "cascade.second_link" in caplog.text, timeout=15)
        await eventually(async_equals(lambda: link_ends(links, room, home), [first]), timeout=15)
        assert [(k.node, k.channel) for k in fresh.links_of(room)] == [(away, first)]

        # Another restart, and a second link that comes up before the resync (dialled by the
        # service that died, say): both are found; the resync keeps one and hangs up the other.
        again = await restarted()
        await links.directory.nodes[home].link(room, endpoint(home, away))
        await eventually(lambda: again.links_of(room) != [], timeout=15)
        second = again.links_of(room)[0].channel
        assert second is not None and second != first
        assert sorted(await link_ends(links, room, home)) == sorted([first, second])
        await big.service.roster.resync()
        await eventually(async_equals(lambda: link_ends(links, room, home), [second]), timeout=15)
        await eventually(async_equals(lambda: link_ends(links, room, away), [ANY_ONE]), timeout=15)
        assert [(k.node, k.channel, str(k.state)) for k in again.links_of(room)] == [
            (away, second, "up")
        ]
    finally:
        links.cascade = original
        for task in running:
            task.cancel()
        for caller in callers:
            await caller.hangup()


ANY_ONE = object()  # any single channel


def async_equals(
    read: Callable[[], Awaitable[list[str]]], wanted: list[Any]
) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        got = await read()
        return len(got) == len(wanted) and all(
            w is ANY_ONE or w == g for w, g in zip(wanted, got, strict=True)
        )

    return check


async def test_callers_arriving_together_respect_the_limit_on_every_node(
    big: BigRoom, tmp_path: Path
) -> None:
    """Five callers dialled at once, two at most on a node: each counts on the node chosen
    for them from the moment their PIN is accepted, not only once they are in."""
    room, pin = "e2e-faults", "6666#"
    links = big.service.node_links
    assert links is not None
    callers = await asyncio.gather(*(big.dial(tmp_path, room=room, pin=pin) for _ in range(5)))
    try:
        on_each = Counter(big.node_of(caller, room) for caller in callers)
        assert sorted(on_each.values()) == [1, 2, 2], on_each
        home = links.directory.node_of(room)
        assert on_each[home] == 2
        others = sorted(set(on_each) - {home})
        await eventually(
            lambda: (
                [(k.node, str(k.state)) for k in links.cascade.links_of(room)]
                == [(node, "up") for node in others]
            ),
            timeout=15,
        )
        assert links.reservations.of(room, time.monotonic()) == {}, "every one joined"
    finally:
        for caller in callers:
            await caller.hangup()
