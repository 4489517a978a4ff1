"""The FastAGI server: Asterisk's ``AGI(agi://127.0.0.1:PORT/SCRIPT,arg1,arg2...)`` calls in,
each handed to the route named by its script, with its arguments read into that route's
typed form.

The routes today, and the dialplan lines that call them (``dialplan/extensions.conf``):

| script | dialogue | module |
| --- | --- | --- |
| ``entry`` | the PIN on the shared number | ``bridge.asterisk.pin_dialogue`` |
| ``keys`` | a speaker stack key inside a room | ``bridge.asterisk.keypad`` |

A new keypad dialogue is a ``Route`` (its script, how its arguments read, its dialogue)
added to the table the service runs (``bridge.runtime``). Whatever the route, the same doors
stand in front of it: only Asterisk on this machine may connect, at most ``max_dialogues``
at once (a connection over that is closed: Asterisk's AGI() fails and the dialplan goes
on), the request's headers are read with a timeout, and a script no route names is
refused the same way.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from panoramisk.fast_agi import Request

from bridge.asterisk.agi_channel import AgiChannel, CallerGone

log = logging.getLogger(__name__)

HEADER_TIMEOUT = 10.0  # seconds for Asterisk to send a request's headers
MAX_DIALOGUES = 500

Arguments = TypeVar("Arguments")


class BadArguments(ValueError):
    """The dialplan called a script with arguments its route cannot read."""


@dataclass(frozen=True)
class Route(Generic[Arguments]):
    """One FastAGI script: ``arguments`` reads the dialplan's arguments into the typed form
    ``dialogue`` takes (raising ``BadArguments`` when they do not fit)."""

    script: str
    arguments: Callable[[AgiChannel], Arguments]
    dialogue: Callable[[AgiChannel, Arguments], Awaitable[None]]

    async def run(self, agi: AgiChannel) -> None:
        await self.dialogue(agi, self.arguments(agi))


async def read_request(reader: asyncio.StreamReader) -> dict[str, str] | None:
    """The FastAGI request headers, or None for a connection that is not a request.

    panoramisk's own handler reads in a loop that spins forever on a connection closed
    before the blank line (a port scan is enough to freeze the event loop): hence this."""
    try:
        async with asyncio.timeout(HEADER_TIMEOUT):
            raw = await reader.readuntil(b"\n\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, OSError):
        return None
    lines = raw.decode("utf-8", errors="replace").split("\n")  # not splitlines: U+2028
    return dict(line.split(": ", 1) for line in lines if ": " in line)


class FastAgiServer:
    """The route table and the doors in front of it; ``handle`` is the connection handler
    for ``asyncio.start_server``."""

    def __init__(self, routes: Iterable[Route[Any]], max_dialogues: int = MAX_DIALOGUES) -> None:
        self.routes: dict[str, Route[Any]] = {}
        for route in routes:
            if route.script in self.routes:
                raise ValueError(f"two FastAGI routes for script {route.script!r}")
            self.routes[route.script] = route
        self.max_dialogues = max_dialogues
        self.open_dialogues = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        if not (peer and ipaddress.ip_address(peer[0]).is_loopback):
            log.warning("agi.refused reason=not_loopback peer=%s", peer and peer[0])
            writer.close()
            return
        if self.open_dialogues >= self.max_dialogues:
            log.warning("agi.refused reason=too_many_dialogues limit=%d", self.max_dialogues)
            writer.close()
            return
        self.open_dialogues += 1
        script = None
        try:
            headers = await read_request(reader)
            if headers is None:
                return
            script = headers.get("agi_network_script")
            route = self.routes.get(script or "")
            if route is None:
                log.warning("agi.refused reason=unknown_script script=%s", script)
                return
            await route.run(AgiChannel(Request(None, headers, reader, writer)))
        except CallerGone:
            log.info("agi.caller_hung_up script=%s", script)
        except BadArguments as exc:
            log.warning("agi.refused reason=bad_arguments script=%s detail=%s", script, exc)
        except Exception:
            log.exception("agi.dialogue_failed script=%s", script)
        finally:
            self.open_dialogues -= 1
            writer.close()
