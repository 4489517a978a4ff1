"""The FastAGI route table on a real socket: a script no route names is refused, every route
gets its arguments typed, and the doors in front of the table (loopback only, so many
dialogues at once) hold for a route added later just as for ``entry``: here a route the
test adds, standing for the keypad dialogues to come."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bridge.asterisk.agi_channel import AgiChannel
from bridge.asterisk.fastagi import BadArguments, FastAgiServer, Route
from bridge.asterisk.keypad import Answer, keys_route
from bridge.asterisk.pin_dialogue import entry_route
from tests.adapters.test_agi_limits import _outside_address
from tests.adapters.test_agi_server import AGI_SECRET, NobodyAtTheDesk


@dataclass(frozen=True)
class Vote:
    """A poll key's arguments, as a route to come would read them."""

    poll: str
    choice: int

    @classmethod
    def of(cls, agi: AgiChannel) -> Vote:
        poll, choice = agi.argument(1), agi.argument(2)
        if not poll or not (choice or "").isdigit():
            raise BadArguments("vote needs POLL,CHOICE")
        return cls(poll, int(choice or 0))


@dataclass
class PollBooth:
    """The test's route: keeps each vote and holds the dialogue open until released."""

    votes: list[Vote] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def dialogue(self, agi: AgiChannel, vote: Vote) -> None:
        self.votes.append(vote)
        await self.release.wait()

    def route(self) -> Route[Vote]:
        return Route("vote", Vote.of, self.dialogue)


class NoKeyExpected:
    async def key_pressed(self, room: str, channel: str, caller_id: str, key: str) -> Answer:
        raise AssertionError("a request the route cannot read must not reach the service")

    def answered(self, channel: str) -> None:
        raise AssertionError("nor be answered")


async def closed_at_once(reader: asyncio.StreamReader) -> bool:
    """Closed within a second, unanswered (a reset counts: the request was never read)."""
    try:
        return await asyncio.wait_for(reader.read(), 1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def request(script: str, *arguments: str) -> bytes:
    headers = [
        f"agi_network_script: {AGI_SECRET}/{script}",
        "agi_channel: PJSIP/anonymous-00000001",
        "agi_callerid: 5550100",
        *(f"agi_arg_{n}: {value}" for n, value in enumerate(arguments, start=1)),
    ]
    return ("\n".join(headers) + "\n\n").encode()


@dataclass
class Served:
    fastagi: FastAgiServer
    booth: PollBooth
    server: asyncio.Server
    address: str

    @property
    def port(self) -> int:
        return int(self.server.sockets[0].getsockname()[1])

    async def send(self, payload: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection(self.address, self.port)
        writer.write(payload)
        await writer.drain()
        return reader, writer


async def serve(address: str = "127.0.0.1", max_dialogues: int = 500) -> Served:
    booth = PollBooth()
    fastagi = FastAgiServer(
        [
            entry_route(NobodyAtTheDesk(), 3),
            keys_route(NoKeyExpected(), Path("/nowhere")),
            booth.route(),
        ],
        secret=AGI_SECRET,
        max_dialogues=max_dialogues,
    )
    server = await asyncio.start_server(fastagi.handle, address, 0)
    return Served(fastagi, booth, server, address)


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    running = await serve(max_dialogues=2)
    yield running
    running.booth.release.set()
    running.server.close()


async def test_a_script_no_route_names_is_refused_with_the_connection_closed(
    served: Served,
) -> None:
    reader, writer = await served.send(request("poll-results", "ga"))
    assert await closed_at_once(reader)
    assert served.booth.votes == []
    writer.close()


async def test_a_route_gets_the_dialplans_arguments_typed(served: Served) -> None:
    _, writer = await served.send(request("vote", "budget", "2"))
    await asyncio.sleep(0.05)
    assert served.booth.votes == [Vote("budget", 2)]
    writer.close()


async def test_arguments_a_route_cannot_read_are_refused_before_its_dialogue(
    served: Served,
) -> None:
    for payload in (request("vote", "budget", "yes"), request("keys")):
        reader, writer = await served.send(payload)
        assert await closed_at_once(reader)
        writer.close()
    assert served.booth.votes == []


async def test_the_cap_on_dialogues_counts_every_route_and_a_place_freed_is_taken_again(
    served: Served,
) -> None:
    held = [await served.send(request("vote", "budget", str(n))) for n in (1, 2)]
    await asyncio.sleep(0.05)
    assert served.fastagi.open_dialogues == 2
    for script in ("entry", "vote", "keys"):
        reader, writer = await served.send(request(script, "budget", "3"))
        assert await closed_at_once(reader), f"{script} got past the cap"
        writer.close()
    served.booth.release.set()
    for reader, writer in held:
        assert await closed_at_once(reader)  # each vote's dialogue ended, its place freed
        writer.close()
    served.booth.release.clear()
    _, writer = await served.send(request("vote", "budget", "4"))
    await asyncio.sleep(0.05)
    assert served.booth.votes[-1] == Vote("budget", 4)
    writer.close()


async def test_a_route_added_later_is_closed_to_callers_off_loopback_too() -> None:
    address = _outside_address()
    if address is None:
        pytest.skip("this machine has no address besides loopback")
    running = await serve(address)
    try:
        reader, writer = await running.send(request("vote", "budget", "1"))
        assert await closed_at_once(reader)
        assert running.booth.votes == []
        writer.close()
    finally:
        running.server.close()


def test_two_routes_for_one_script_are_refused_when_the_table_is_built() -> None:
    with pytest.raises(ValueError, match="two FastAGI routes for script 'vote'"):
        FastAgiServer([PollBooth().route(), PollBooth().route()], secret=AGI_SECRET)
