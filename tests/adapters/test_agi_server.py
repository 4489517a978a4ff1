"""The FastAGI server on a real socket: connections that are not requests are shrugged off
without ever blocking the event loop (panoramisk's own handler spins on them).

The server runs on a loop of its own in a thread, so a handler that spins freezes that
loop and not the test's: the test then sees the server loop stop answering and fails
within a second, instead of hanging until pytest's timeout."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from bridge.asterisk.fastagi import FastAgiServer
from bridge.asterisk.pin_dialogue import entry_route
from bridge.domain.entry import PinOutcome
from bridge.domain.guard import Gate, Source
from bridge.domain.trunks import TrunkNumber

# What Asterisk puts before every script (the dialplan's IOBRIDGE_AGI, from the agi-secret).
AGI_SECRET = "test-agi-secret-0123456789"


class NobodyAtTheDesk:
    """Records every call: none may come from a connection that is not a request."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def call_entered(self, channel: str, source: Source) -> bool:
        self.calls.append("call_entered")
        return True

    def dialogue_ended(self, channel: str) -> None:
        self.calls.append("dialogue_ended")

    def gate(
        self,
        source: Source,
        held_for: float = 0.0,
        channel: str = "",
        called_for: str | None = None,
    ) -> Gate:
        raise AssertionError("no prompt can have been asked for")

    async def try_pin(
        self,
        source: Source,
        digits: str,
        called_for: str | None = None,
        *,
        caller_id: str = "",
        channel: str = "",
    ) -> PinOutcome:
        raise AssertionError("no PIN can have been typed")

    def asking_pin(self, source: Source) -> None:
        raise AssertionError("no prompt can have been played")

    def no_pin(self, source: Source, called_for: str | None = None) -> None:
        raise AssertionError("no prompt can have been played")

    def abandon(self, source: Source, called_for: str | None = None) -> None:
        raise AssertionError("no prompt can have been played")

    async def number_dialled(self, source: Source, dialled: str | None) -> TrunkNumber | None:
        return None

    async def enter_room(self, room: str) -> PinOutcome:
        raise AssertionError("no room can have been entered")


class ServerThread:
    def __init__(self, desk: NobodyAtTheDesk) -> None:
        self.loop = asyncio.new_event_loop()
        self.desk = desk
        self.port = 0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            asyncio.start_server(
                FastAgiServer([entry_route(self.desk, 3)], secret=AGI_SECRET).handle, "127.0.0.1", 0
            )
        )
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self.loop.run_forever()
        server.close()

    def start(self) -> None:
        self._thread.start()
        assert self._ready.wait(5)

    def answers_within(self, seconds: float) -> bool:
        """Does the server's loop still run callbacks? A spinning handler stops it."""
        ran = threading.Event()
        self.loop.call_soon_threadsafe(ran.set)
        return ran.wait(seconds)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(2)


@pytest.fixture
def server() -> Iterator[ServerThread]:
    running = ServerThread(NobodyAtTheDesk())
    running.start()
    yield running
    running.stop()


def _send_and_close(port: int, data: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(data)


def test_a_connection_closed_before_its_headers_does_not_freeze_the_loop(
    server: ServerThread,
) -> None:
    for partial in (b"", b"agi_network_script: entry\n", b"agi_network_script: entry"):
        _send_and_close(server.port, partial)
        time.sleep(0.05)  # let the handler see the close
        assert server.answers_within(1.0), f"the AGI loop froze after {partial!r}"
    assert server.desk.calls == []


def test_a_request_for_an_unknown_script_is_closed_without_a_dialogue(
    server: ServerThread,
) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=2) as sock:
        sock.sendall(
            f"agi_network_script: {AGI_SECRET}/elsewhere\nagi_channel: PJSIP/x-1\n\n".encode()
        )
        assert sock.recv(100) == b""  # closed, nothing said
    assert server.answers_within(1.0)
    assert server.desk.calls == []
