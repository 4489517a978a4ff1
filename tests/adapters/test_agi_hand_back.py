"""The last command of a dialogue hands the caller back with it: on a real socket, the
command is followed by the end of the service's side (a half-close) before Asterisk has
answered, so Asterisk, after running it and answering, reads the end and leaves AGI without
waiting for the service. Any other command leaves the socket open for the next one.

The peer here plays Asterisk's side of the wire only as far as bytes go (what res_agi reads
and writes); joins through a real Asterisk with this hand-over are every entry test in
tests/integration."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
from panoramisk.fast_agi import Request

from bridge.asterisk.agi_channel import AgiChannel

SECOND = 1.0


Dialogue = Callable[[AgiChannel], Awaitable[None]]


@dataclass
class Wire:
    """Asterisk's end of one AGI socket; ``ended`` is set when the service's dialogue on the
    other end has returned."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    ended: asyncio.Event


OpenWire = Callable[[Dialogue], Awaitable[Wire]]


@pytest.fixture
async def wire() -> AsyncIterator[OpenWire]:
    servers: list[asyncio.Server] = []
    wires: list[Wire] = []

    async def open_wire(dialogue: Dialogue) -> Wire:
        ended = asyncio.Event()

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await dialogue(AgiChannel(Request(None, {}, reader, writer)))
            ended.set()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        servers.append(server)
        reader, writer = await asyncio.open_connection(*server.sockets[0].getsockname()[:2])
        wires.append(opened := Wire(reader, writer, ended))
        return opened

    yield open_wire
    for opened in wires:
        opened.writer.close()
    for server in servers:
        server.close()


async def test_the_last_command_is_followed_by_the_end_of_the_socket_before_any_answer(
    wire: OpenWire,
) -> None:
    async def admitted(agi: AgiChannel) -> None:
        await agi.set_all({"IOBRIDGE_ROOM": "ga-national"}, last=True)

    asterisk = await wire(admitted)
    line = await asyncio.wait_for(asterisk.reader.readline(), SECOND)
    assert line == b'EXEC MSet "IOBRIDGE_ROOM=ga-national"\n'
    # Nothing answered yet, and the service's side has already ended: Asterisk would leave
    # AGI as soon as it has run the command and answered.
    assert await asyncio.wait_for(asterisk.reader.read(), SECOND) == b""
    assert not asterisk.ended.is_set()
    asterisk.writer.write(b"200 result=0\n")
    await asyncio.wait_for(asterisk.ended.wait(), SECOND)  # the answer is still read


async def test_a_command_that_is_not_the_last_leaves_the_socket_open_for_the_next(
    wire: OpenWire,
) -> None:
    async def asks_a_name_next(agi: AgiChannel) -> None:
        await agi.set_all({"IOBRIDGE_ROOM": "ga-national"})
        await agi.command('STREAM FILE vm-rec-name ""')

    asterisk = await wire(asks_a_name_next)
    assert await asyncio.wait_for(asterisk.reader.readline(), SECOND) == (
        b'EXEC MSet "IOBRIDGE_ROOM=ga-national"\n'
    )
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asterisk.reader.read(1), 0.2)  # not ended: waiting for us
    asterisk.writer.write(b"200 result=0\n")
    assert await asyncio.wait_for(asterisk.reader.readline(), SECOND) == (
        b'STREAM FILE vm-rec-name ""\n'
    )
    asterisk.writer.write(b"200 result=0 endpos=0\n")
    await asyncio.wait_for(asterisk.ended.wait(), SECOND)
