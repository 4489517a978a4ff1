"""The FastAGI server on a real socket: connections that are not requests are shrugged off
without ever blocking the event loop (panoramisk's own handler spins on them)."""

from __future__ import annotations

import asyncio

from bridge.asterisk.agi import PinOutcome, agi_handler


class NobodyAtTheDesk:
    def call_entered(self, channel: str, caller_id: str) -> None:
        raise AssertionError("no dialogue should start")

    def dialogue_ended(self, channel: str) -> None:
        raise AssertionError("no dialogue should start")

    async def is_locked_out(self, caller_id: str) -> bool:
        raise AssertionError("no dialogue should start")

    async def try_pin(self, caller_id: str, digits: str) -> PinOutcome:
        raise AssertionError("no dialogue should start")


async def _server() -> tuple[asyncio.Server, int]:
    server = await asyncio.start_server(agi_handler(NobodyAtTheDesk(), 3), "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def test_a_connection_closed_before_its_headers_does_not_freeze_the_loop() -> None:
    server, port = await _server()
    async with server:
        for partial in (b"", b"agi_network_script: entry\n"):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(partial)
            await writer.drain()
            writer.close()
        # If the handler spun, this timer would never fire.
        await asyncio.wait_for(asyncio.sleep(0.2), timeout=2)


async def test_a_request_for_an_unknown_script_is_closed() -> None:
    server, port = await _server()
    async with server:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"agi_network_script: elsewhere\nagi_channel: PJSIP/x-1\n\n")
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), timeout=2) == b""
        writer.close()
