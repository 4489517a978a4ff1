"""Moderators' panels as the benchmarks drive them: each a moderator logged in to the web
panel with a room page open, holding what that page would show, and timing how long an
action takes to show there ("echo").

The protocol is the panel's own (``bridge/web/panel``), spoken as a browser does:

* log in: a form POST of ``username``, ``password`` and ``next`` to ``/login``, with an
  ``Origin`` header; the session cookie comes with the 303, and the page it leads to
  carries the session's CSRF token in ``<meta name="csrf-token" content="...">``;
* the room page's websocket ``/rooms/{room}/live`` (same ``Origin``): a ``snapshot`` of the
  whole room (``participants``, ``stack``), then ``delta`` messages that ``upsert`` or
  ``remove`` participants and may carry the whole ``stack`` again;
* an action: a POST of its JSON arguments to ``/rooms/{room}/actions/{action}`` with
  ``Origin`` and ``X-CSRF-Token``.

Each message is parsed as JSON when it arrives, as the page's script does, so a panel's
echo includes the parsing of what came before it. What the panels wait for is a ``Shows``:
a test of one panel's state (``shows_muted``, ``shows_speaker``, ``shows_queued``,
``shows_no_speaker``), checked after every message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

# The password of every moderator in bench/rooms.yaml: a bench-only account.
PASSWORD = "bench-panel-pw"

CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')

Shows = Callable[["Panel"], bool]


def shows_muted(channel: str, muted: bool) -> Shows:
    return lambda panel: panel.muted.get(channel) is muted


def shows_speaker(channel: str) -> Shows:
    return lambda panel: panel.speaker == channel


def shows_no_speaker() -> Shows:
    return lambda panel: panel.speaker is None


def shows_queued(channel: str) -> Shows:
    return lambda panel: channel in panel.queued


class Panel:
    """One moderator's open room page: the mute state of each participant, the speaker and
    the stack's queue, as the page's messages say; and when it first showed what the
    action under way is waiting for."""

    def __init__(self, base_url: str, room: str, username: str) -> None:
        self.base_url, self.room, self.username = base_url, room, username
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))  # an IP
        self.csrf = ""
        self.muted: dict[str, bool] = {}
        self.speaker: str | None = None
        self.queued: list[str] = []  # channels on the stack, in serving order
        self.sizes: list[int] = []  # of every message, in characters
        self.closed_by_server: int | None = None  # the websocket's close code, if it went
        self.filled = asyncio.Event()  # the first snapshot arrived
        self.echo: float | None = None  # seconds from ``sent`` until it showed
        self.echoed = asyncio.Event()
        self._waiting: tuple[Shows, float] | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None

    async def log_in(self, password: str) -> None:
        form = {"username": self.username, "password": password, "next": "/rooms"}
        headers = {"Origin": self.base_url}
        async with self.http.post(f"{self.base_url}/login", data=form, headers=headers) as r:
            found = CSRF.search(await r.text())
        if found is None:
            raise RuntimeError(f"{self.username} could not log in to {self.base_url}")
        self.csrf = found.group(1)

    async def open(self) -> None:
        """Open the room page's websocket and read it until closed."""
        url = f"{self.base_url}/rooms/{self.room}/live"
        self._ws = await self.http.ws_connect(url, origin=self.base_url)
        self._reader = asyncio.get_running_loop().create_task(self._read(self._ws))

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type is aiohttp.WSMsgType.TEXT:
                self.take(message.data)
        self.closed_by_server = ws.close_code

    def take(self, text: str) -> None:
        """One message of the live feed, applied as the page applies it."""
        message = json.loads(text)
        self.sizes.append(len(text))
        if message["type"] == "snapshot":
            self.muted = {p["channel"]: p["muted"] for p in message["participants"]}
        else:
            self.muted.update({p["channel"]: p["muted"] for p in message.get("upsert", ())})
            for channel in message.get("remove", ()):
                self.muted.pop(channel, None)
        if "stack" in message:
            speaker = message["stack"]["speaker"]
            self.speaker = None if speaker is None else speaker["channel"]
            self.queued = [entry["channel"] for entry in message["stack"]["queue"]]
        self.filled.set()
        if self._waiting is not None:
            shows, sent = self._waiting
            if shows(self):
                self.echo = time.perf_counter() - sent
                self._waiting = None
                self.echoed.set()

    def expect(self, shows: Shows, sent: float) -> None:
        """Wait for the next message after which ``shows`` holds; its echo is timed from
        ``sent`` (``time.perf_counter()``)."""
        self.echo = None
        self.echoed.clear()
        self._waiting = (shows, sent)

    def stop_waiting(self) -> None:
        """The action is over: a late echo no longer counts."""
        self._waiting = None

    async def post(self, action: str, arguments: dict[str, Any]) -> tuple[int, str]:
        """Run an action as this moderator: the response's status and body."""
        async with self.http.post(
            f"{self.base_url}/rooms/{self.room}/actions/{action}",
            json=arguments,
            headers={"Origin": self.base_url, "X-CSRF-Token": self.csrf},
        ) as response:
            return response.status, await response.text()

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._ws is not None:
            await self._ws.close()
        await self.http.close()


@dataclass(frozen=True)
class Echo:
    """One action as the panels saw it. Times in seconds from just before the POST."""

    action: str
    status: int  # of the POST; a refused action is not waited for
    answer: str  # the POST's body, to say why it was refused
    answered: float  # the POST's response came
    sent_at: float  # time.time() when the POST went, to compare with Asterisk's clock
    echoes: tuple[float | None, ...]  # per panel; None: it never showed (a lost echo)

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def seen(self) -> list[float]:
        return [echo for echo in self.echoes if echo is not None]

    @property
    def lost(self) -> int:
        return sum(1 for echo in self.echoes if echo is None) if self.ok else 0

    @property
    def everywhere(self) -> float | None:
        """Until the last panel showed it; None when one never did."""
        return None if self.lost or not self.ok else max(self.seen, default=None)


class Panels:
    """A room page open in the panel of each of these moderators; actions are sent as one
    of them after another (rotating), and timed until every panel shows their outcome."""

    def __init__(
        self, base_url: str, room: str, usernames: Sequence[str], password: str = PASSWORD
    ) -> None:
        if not usernames:
            raise ValueError("no moderators to open panels for")
        self.base_url, self.room, self.password = base_url, room, password
        self.panels = [Panel(base_url, room, name) for name in usernames]
        self._turn = 0

    async def __aenter__(self) -> Panels:
        try:
            await self.open()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self, timeout: float = 30.0) -> None:
        """Log every moderator in (one after another: each login is an argon2 check in the
        service), open every page, and return once each holds the whole room."""
        for panel in self.panels:
            await panel.log_in(self.password)
        for panel in self.panels:
            await panel.open()
        await asyncio.wait_for(asyncio.gather(*(p.filled.wait() for p in self.panels)), timeout)

    @property
    def first(self) -> Panel:
        return self.panels[0]

    async def act(
        self, action: str, arguments: dict[str, Any], shows: Shows, timeout: float = 5.0
    ) -> Echo:
        """Send ``action`` as the next moderator in turn; wait (up to ``timeout``) until
        every panel shows what ``shows`` tests for."""
        actor = self.panels[self._turn % len(self.panels)]
        self._turn += 1
        sent, sent_at = time.perf_counter(), time.time()
        for panel in self.panels:
            panel.expect(shows, sent)
        status, answer = await actor.post(action, arguments)
        answered = time.perf_counter() - sent
        if status == 200:
            with contextlib.suppress(TimeoutError):
                waits = (panel.echoed.wait() for panel in self.panels)
                await asyncio.wait_for(asyncio.gather(*waits), timeout)
        for panel in self.panels:
            panel.stop_waiting()
        echoes = tuple(panel.echo for panel in self.panels)
        return Echo(action, status, answer, answered, sent_at, echoes)

    def message_sizes(self) -> list[int]:
        return [size for panel in self.panels for size in panel.sizes]

    def dropped(self) -> int:
        """Panels whose websocket the server closed (a panel too slow to keep up is)."""
        return sum(1 for panel in self.panels if panel.closed_by_server is not None)

    async def close(self) -> None:
        for panel in self.panels:
            await panel.close()
