"""The panel's HTTP server on a real socket: idle and slow connections are closed, and open
connections are capped per client address and in all, with a 503 for the one over."""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from bridge.web.limits import ConnectionCounter, HttpLimits, client_of, serve

LIMITS = HttpLimits(max_connections=5, max_connections_per_client=3, keepalive_seconds=0.5)
GET = b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="hello")


def _has_session(head: bytes) -> bool:
    return b"Cookie: iobridge_session=live" in head


@asynccontextmanager
async def running(limits: HttpLimits = LIMITS) -> AsyncIterator[tuple[int, ConnectionCounter]]:
    app = web.Application()
    app.router.add_get("/hello", hello)
    runner = web.AppRunner(app, access_log=None, **limits.server_options())
    await runner.setup()
    assert runner.server is not None
    server, counter = await serve(runner.server, "127.0.0.1", 0, limits, has_session=_has_session)
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


def test_an_ipv6_client_is_its_whole_64() -> None:
    counter = ConnectionCounter(LIMITS)
    assert all(counter.admit(f"2001:db8:0:1::{n}") for n in range(1, 4))
    assert not counter.admit("2001:db8:0:1:ffff::9")  # another address, the same /64
    assert counter.admit("2001:db8:0:2::1")
    assert client_of("2001:db8:0:1::5") == "2001:db8:0:1::/64"
    assert client_of("::ffff:192.0.2.1") == "192.0.2.1"


def test_a_trusted_proxy_is_held_only_to_the_total() -> None:
    behind_proxy = HttpLimits(
        max_connections=5,
        max_connections_per_client=3,
        keepalive_seconds=0.5,
        trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),),
    )
    counter = ConnectionCounter(behind_proxy)
    assert all(counter.admit("127.0.0.1") for _ in range(5))
    assert not counter.admit("127.0.0.1")


RESERVED = HttpLimits(
    max_connections=4, max_connections_per_client=10, keepalive_seconds=0.5, reserved_share=0.5
)


async def test_a_share_of_the_connections_is_kept_for_logged_in_moderators() -> None:
    async with running(RESERVED) as (port, counter):
        held = [await connect(port, f"127.0.0.{n}") for n in (2, 3)]
        await asyncio.sleep(0.05)
        assert counter.total == 2  # anyone's share is full
        assert (await ask(port, "127.0.0.4")).startswith(b"HTTP/1.1 503")
        forged = GET.replace(b"\r\n\r\n", b"\r\nCookie: iobridge_session=made-up\r\n\r\n")
        reader, writer = await connect(port, "127.0.0.5")
        writer.write(forged)
        assert (await asyncio.wait_for(reader.readuntil(b"\r\n"), 2)).startswith(b"HTTP/1.1 503")
        writer.close()
        moderator = GET.replace(b"\r\n\r\n", b"\r\nCookie: iobridge_session=live\r\n\r\n")
        reader, writer = await connect(port, "127.0.0.6")
        writer.write(moderator)
        assert (await asyncio.wait_for(reader.readuntil(b"hello"), 2)).startswith(b"HTTP/1.1 200")
        assert counter.total == 3
        writer.close()
        for _, other in held:
            other.close()
        await asyncio.sleep(0.05)
        assert counter.total == 0 and counter.waiting == 0 and not counter.per_client


async def test_a_connection_that_never_shows_a_session_is_closed_after_the_keep_alive() -> None:
    async with running(RESERVED) as (port, counter):
        held = [await connect(port, f"127.0.0.{n}") for n in (2, 3)]
        reader, writer = await connect(port, "127.0.0.4")
        await asyncio.sleep(0.05)
        assert counter.waiting == 1
        assert (await asyncio.wait_for(reader.read(), 2)).startswith(b"HTTP/1.1 503")
        await asyncio.sleep(0.05)
        assert counter.waiting == 0 and counter.per_client["127.0.0.4"] == 0
        writer.close()
        for _, other in held:
            other.close()
