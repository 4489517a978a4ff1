"""A flood of idle HTTP connections fills the panel's caps, not the process: the bridge
keeps answering FastAGI, and a caller with the right PIN gets into their room."""

from __future__ import annotations

import asyncio
import contextlib

from bridge.runtime import Runtime
from bridge.settings import Settings
from tests.integration.conftest import Dial, unique_caller_id
from tests.support import AmiWatcher, event

ROOM, PIN = "e2e-limits", "3535#"
GET = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"


async def _ask(port: int, client: str) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(client, 0))
    writer.write(GET)
    try:
        return await asyncio.wait_for(reader.readuntil(b"\r\n"), 5)
    finally:
        writer.close()


async def test_a_caller_gets_in_while_idle_http_connections_fill_every_cap(
    runtime: Runtime, runtime_settings: Settings, ami: AmiWatcher, dial: Dial
) -> None:
    port = runtime_settings.http_port
    per_client = runtime_settings.http_max_connections_per_client
    clients = [
        f"127.0.1.{n}" for n in range(1, runtime_settings.http_max_connections // per_client + 3)
    ]
    held: list[asyncio.StreamWriter] = []
    try:
        for client in clients:
            for _ in range(per_client + 5):  # a few more than each address may have
                _, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(client, 0))
                held.append(writer)
        await asyncio.sleep(0.2)
        assert runtime.http_connections is not None
        # Anyone's share is full, and the moderators' share holds connections waiting to
        # show a session (these never will, and are closed after the keep-alive).
        counted = runtime.http_connections
        assert counted.total == counted.limits.open_to_anyone
        assert counted.total + counted.waiting == runtime_settings.http_max_connections
        assert (await _ask(port, "127.0.2.1")).startswith(b"HTTP/1.1 503")

        # Within the keep-alive (the idle connections are still held): a caller gets in.
        caller_id = unique_caller_id("flood")
        mark = ami.mark()
        await dial(PIN, caller_id=caller_id, stay=5)
        joined = await ami.wait_for(
            event("ConfbridgeJoin", CallerIDNum=caller_id), since=mark, timeout=14
        )
        assert joined["Conference"] == ROOM
    finally:
        for writer in held:
            with contextlib.suppress(Exception):
                writer.close()
    await asyncio.sleep(0.3)
    assert runtime.http_connections.total < runtime_settings.http_max_connections
    assert (await _ask(port, "127.0.2.1")).startswith(b"HTTP/1.1 200")
