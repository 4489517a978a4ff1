"""The panel's HTTP server on a real socket: idle and slow connections are closed, and open
connections are capped per client address and in all, with a 503 for the one over."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from bridge.web.limits import ConnectionCounter, HttpLimits, serve

LIMITS = HttpLimits(max_connections=5, max_connections_per_client=3, keepalive_seconds=0.5)
GET = b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="hello")


@asynccontextmanager
async def running(limits: HttpLimits = LIMITS) -> AsyncIterator[tuple[int, ConnectionCounter]]:
    app = web.Application()
    app.router.add_get("/hello", hello)
    runner = web.AppRunner(app, access_log=None, **limits.server_options())
    await runner.setup()
    assert runner.server is not None
    server, counter = await serve(runner.server, "127.0.0.1", 0, limits)
    try:
        yield server.sockets[0].getsockname()[1], counter
    finally:
        server.close()
        await runner.cleanup()


async def connect(
    port: int, client: str = "127.0.0.1"
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(client, 0))


async def ask(port: int, client: str = "127.0.0.1") -> bytes:
    reader, writer = await connect(port, client)
    writer.write(GET)
    try:
        return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
    finally:
        writer.close()


async def closed_by_server(reader: asyncio.StreamReader, within: float) -> bool:
    try:
        return await asyncio.wait_for(reader.read(), within) == b""
    except TimeoutError:
        return False


async def test_one_address_gets_no_more_than_its_share_and_hears_why() -> None:
    async with running() as (port, counter):
        held = [await connect(port) for _ in range(3)]
        await asyncio.sleep(0.05)
        assert counter.per_client["127.0.0.1"] == 3
        assert (await ask(port)).startswith(b"HTTP/1.1 503")
        # Another address is still served.
        assert (await ask(port, "127.0.0.2")).startswith(b"HTTP/1.1 200")
        held[0][1].close()
        await asyncio.sleep(0.05)
        assert (await ask(port)).startswith(b"HTTP/1.1 200")
        for _, writer in held[1:]:
            writer.close()


async def test_all_addresses_together_get_no_more_than_the_total() -> None:
    async with running() as (port, counter):
        held = [await connect(port, f"127.0.0.{2 + i // 2}") for i in range(5)]
        await asyncio.sleep(0.05)
        assert counter.total == 5
        assert (await ask(port, "127.0.0.9")).startswith(b"HTTP/1.1 503")
        for _, writer in held:
            writer.close()
        await asyncio.sleep(0.05)
        assert counter.total == 0 and not counter.per_client


async def test_an_idle_connection_is_closed_after_the_keep_alive() -> None:
    async with running() as (port, counter):
        reader, writer = await connect(port)
        writer.write(GET)
        await reader.readuntil(b"hello")
        started = time.monotonic()
        assert await closed_by_server(reader, within=3)
        assert time.monotonic() - started < 2
        writer.close()
        await asyncio.sleep(0.05)
        assert counter.total == 0


async def test_headers_sent_slowly_are_cut_off_after_the_keep_alive() -> None:
    async with running() as (port, _):
        reader, writer = await connect(port)
        for part in (b"GET /hel", b"lo HTTP/1.1\r\n", b"Host: x\r\n"):  # never the blank line
            writer.write(part)
            await asyncio.sleep(0.2)
        assert await closed_by_server(reader, within=3)
        writer.close()


async def test_a_header_line_over_the_limit_is_refused() -> None:
    async with running() as (port, _):
        reader, writer = await connect(port)
        writer.write(b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n")
        status_line = await asyncio.wait_for(reader.readuntil(b"\r\n"), 2)
        assert b" 400 " in status_line
        writer.close()


def test_the_counter_releases_what_it_admitted() -> None:
    counter = ConnectionCounter(LIMITS)
    assert all(counter.admit("a") for _ in range(3))
    assert not counter.admit("a")
    assert counter.admit("b") and counter.admit("c")
    assert not counter.admit("d")  # 5 in all
    counter.release("a")
    assert counter.admit("d")
    for client in ("a", "a", "b", "c", "d"):
        counter.release(client)
    assert counter.total == 0 and not counter.per_client
