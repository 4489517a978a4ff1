"""The FastAGI server takes only Asterisk on this machine, and only so many dialogues at
once: the connection over the bound is closed at once, not queued."""

from __future__ import annotations

import asyncio
import socket

import pytest

from bridge.asterisk.fastagi import FastAgiServer
from bridge.asterisk.pin_dialogue import entry_route
from tests.adapters.test_agi_server import AGI_SECRET, NobodyAtTheDesk


async def closed_at_once(reader: asyncio.StreamReader) -> bool:
    try:
        return await asyncio.wait_for(reader.read(), 1) == b""
    except TimeoutError:
        return False


async def test_a_connection_over_the_bound_is_closed_at_once() -> None:
    handler = FastAgiServer(
        [entry_route(NobodyAtTheDesk(), 3)], secret=AGI_SECRET, max_dialogues=2
    ).handle
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        # Two connections that never send their headers hold both places (for 10 s).
        held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(2)]
        await asyncio.sleep(0.05)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await closed_at_once(reader)
        assert not await closed_at_once(held[0][0])  # still waiting for its headers
        writer.close()
        held[0][1].close()
        await asyncio.sleep(0.05)
        # A place is free again: the next connection is read, not closed.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert not await closed_at_once(reader)
        for _, w in [*held, (reader, writer)]:
            w.close()


def _outside_address() -> str | None:
    """An address of this machine that is not loopback, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET: nothing is sent
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") else address


async def test_a_connection_from_off_loopback_is_closed_at_once() -> None:
    address = _outside_address()
    if address is None:
        pytest.skip("this machine has no address besides loopback")
    server = await asyncio.start_server(
        FastAgiServer([entry_route(NobodyAtTheDesk(), 3)], secret=AGI_SECRET).handle, address, 0
    )
    port = server.sockets[0].getsockname()[1]
    async with server:
        reader, writer = await asyncio.open_connection(address, port)
        assert await closed_at_once(reader)
        writer.close()
