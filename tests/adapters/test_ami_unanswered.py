"""An AMI action Asterisk does not answer in time fails with PbxUnconfirmed (unavailable,
and perhaps carried out all the same), and the link forgets it: panoramisk keeps every
sent action until its reply completes it, and a reply that comes after the timeout (or
never) would otherwise keep it for the link's lifetime."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from bridge.asterisk.ami import AmiClient
from bridge.errors import PbxUnavailable, PbxUnconfirmed


async def _asterisk_that_ignores_slow(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """A minimal AMI: logs in, says FullyBooted, answers every action but ``Slow`` late."""
    writer.write(b"Asterisk Call Manager/9.0.0\r\n")
    while block := await reader.readuntil(b"\r\n\r\n"):
        fields = dict(line.split(": ", 1) for line in block.decode().split("\r\n") if ": " in line)
        reply = f"Response: Success\r\nActionID: {fields.get('ActionID', '')}\r\n\r\n"
        if fields.get("Action") == "Login":
            reply += "Event: FullyBooted\r\nStatus: Fully Booted\r\n\r\n"
        if fields.get("Action") == "Slow":
            await asyncio.sleep(0.3)  # after the client's timeout
        writer.write(reply.encode())


@pytest.fixture
async def client() -> AsyncIterator[AmiClient]:
    server = await asyncio.start_server(_asterisk_that_ignores_slow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]

    async def link(up: bool) -> None:
        return None

    ami = AmiClient("127.0.0.1", port, "iobridge", SecretStr("x"), lambda _: None, link)
    running = asyncio.create_task(ami.run())
    try:
        await asyncio.wait_for(ami.connected.wait(), 5)
        yield ami
    finally:
        await ami.close()
        running.cancel()
        server.close()


async def test_an_action_answered_too_late_is_forgotten(client: AmiClient) -> None:
    for _ in range(5):
        with pytest.raises(PbxUnconfirmed, match="no answer to Slow") as raised:
            await client.send({"Action": "Slow"}, timeout=0.05)
        assert isinstance(raised.value, PbxUnavailable)  # a 503 to whoever asked
    await asyncio.sleep(0.5)  # the late replies have all arrived
    assert await client.send({"Action": "Ping"})
    assert client.actions_in_flight() == 0
