"""The FastAGI server: Asterisk's ``AGI(agi://127.0.0.1:PORT/SCRIPT,arg1,arg2...)`` calls in,
each handed to the route named by its script, with its arguments read into that route's
typed form.

The routes today, and the dialplan lines that call them (``dialplan/extensions.conf``):

| script | dialogue | module |
| --- | --- | --- |
| ``entry`` | the PIN on the shared number | ``bridge.asterisk.pin_dialogue`` |
| ``keys`` | a speaker stack key inside a room | ``bridge.asterisk.keypad`` |
| ``dialout`` | a callee called into a room: "press 1 to join" | ``bridge.asterisk.dialout`` |
| ``alert`` | an alert's callee: the message, then "press 1 to join" | ``bridge.asterisk.alert`` |

A new keypad dialogue is a ``Route`` (its script, how its arguments read, its dialogue)
added to the table the service runs (``bridge.runtime``). Whatever the route, the same doors
stand in front of it, and a connection turned away at any of them is closed without a word
(Asterisk's AGI() fails and the dialplan goes on):

- only loopback may connect, and only Asterisk knows the install's FastAGI secret
  (``Settings.ensure_agi_secret``, rendered into the 0600 dialplan): every request's script
  is ``SECRET/ROUTE`` (``agi://127.0.0.1:PORT/SECRET/entry``), compared in constant time
  before any route runs. Any other local process hears nothing;
- at most ``max_dialogues`` at once, and at most ``dialogues_per_second`` new ones (a
  bucket that holds one second's worth: a join storm at that rate goes through);
- the request's headers are read with a timeout; a script no route names is refused.

The secret is never logged: neither the script as Asterisk sends it nor ``agi_request``
(the whole URL).
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from panoramisk.fast_agi import Request

from bridge.asterisk.agi_channel import AgiChannel, CallerGone

log = logging.getLogger(__name__)

HEADER_TIMEOUT = 10.0  # seconds for Asterisk to send a request's headers
MAX_DIALOGUES = 500
DIALOGUES_PER_SECOND = 50.0

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


def split_script(network_script: str, secret: str) -> str | None:
    """The route named by ``SECRET/ROUTE``, or None unless it starts with the right secret
    (compared in constant time, so its length and first characters cannot be timed)."""
    given, sep, script = network_script.partition("/")
    if not sep or not hmac.compare_digest(given.encode(), secret.encode()):
        return None
    return script


class DialogueRate:
    """New dialogues a second, for all callers together: a bucket of ``per_second``
    tokens refilled continuously (so a burst of one second's worth passes at once)."""

    def __init__(self, per_second: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_second = per_second
        self.clock = clock
        self.tokens = per_second
        self.updated = clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.per_second, self.tokens + (now - self.updated) * self.per_second)
        self.updated = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


class FastAgiServer:
    """The route table and the doors in front of it; ``handle`` is the connection handler
    for ``asyncio.start_server``."""

    def __init__(
        self,
        routes: Iterable[Route[Any]],
        *,
        secret: str,
        max_dialogues: int = MAX_DIALOGUES,
        dialogues_per_second: float = DIALOGUES_PER_SECOND,
    ) -> None:
        if not secret:
            raise ValueError("the FastAGI server needs a secret")
        self.routes: dict[str, Route[Any]] = {}
        for route in routes:
            if route.script in self.routes:
                raise ValueError(f"two FastAGI routes for script {route.script!r}")
            self.routes[route.script] = route
        self.secret = secret
        self.max_dialogues = max_dialogues
        self.rate = DialogueRate(dialogues_per_second)
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
            script = split_script(headers.get("agi_network_script", ""), self.secret)
            if script is None:
                log.warning("agi.refused reason=no_secret peer=%s", peer[0])
                return
            if not self.rate.take():
                log.warning("agi.refused reason=too_fast limit=%g/s", self.rate.per_second)
                return
            route = self.routes.get(script)
            if route is None:
                log.warning("agi.refused reason=unknown_script script=%r", script[:40])
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
