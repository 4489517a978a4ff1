"""Moderator panels for the action benchmark: N websocket clients that each report when a
participant's mute state reaches them.

PENDING THE PANEL: the websocket hub is being built in another branch. Until it lands, the
benchmark measures the same action up to Asterisk's own echo (the ConfbridgeMute/Unmute event
on an AMI client) and marks its figures ``pending_panel``. When it lands, pass its URL (and a
login) and ``WebsocketPanels`` connects: it logs in with a POST of {"username", "password"}
to ``login_url`` (the session cookie is kept), opens N websockets, and treats as the echo the
first JSON message that names the channel with the expected ``muted`` value, anywhere in it.
Adjust ``_mentions`` if the hub's messages say it otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass
from typing import Any

import aiohttp


@dataclass(frozen=True)
class PanelTarget:
    ws_url: str
    login_url: str | None = None
    username: str = ""
    password: str = ""


def _mentions(message: Any, channel: str, muted: bool) -> bool:
    """Does this JSON value say, somewhere, that ``channel`` is (un)muted?"""
    if isinstance(message, dict):
        if message.get("channel") == channel and message.get("muted") is muted:
            return True
        return any(_mentions(v, channel, muted) for v in message.values())
    if isinstance(message, list):
        return any(_mentions(v, channel, muted) for v in message)
    return False


class WebsocketPanels:
    def __init__(self, target: PanelTarget, clients: int) -> None:
        self.target, self.clients = target, clients
        self.inboxes: list[list[tuple[float, Any]]] = [[] for _ in range(clients)]
        self._session: aiohttp.ClientSession | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def connect(self) -> None:
        self._session = aiohttp.ClientSession()
        t = self.target
        if t.login_url:
            body = {"username": t.username, "password": t.password}
            async with self._session.post(t.login_url, json=body) as reply:
                reply.raise_for_status()
        loop = asyncio.get_running_loop()
        for i in range(self.clients):
            ws = await self._session.ws_connect(t.ws_url, heartbeat=20)
            self._tasks.append(loop.create_task(self._read(ws, self.inboxes[i])))

    async def _read(self, ws: aiohttp.ClientWebSocketResponse, inbox: list[Any]) -> None:
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                with contextlib.suppress(ValueError):
                    inbox.append((time.time(), json.loads(msg.data)))

    async def echoes(
        self, channel: str, muted: bool, since: float, timeout: float = 5.0
    ) -> list[float | None]:
        """Per client: seconds from ``since`` until it heard the change (None: never)."""
        deadline = time.monotonic() + timeout
        found: list[float | None] = [None] * self.clients
        while time.monotonic() < deadline:
            for i, inbox in enumerate(self.inboxes):
                if found[i] is None:
                    for at, message in inbox:
                        if at >= since and _mentions(message, channel, muted):
                            found[i] = at - since
                            break
            if all(f is not None for f in found):
                break
            await asyncio.sleep(0.002)
        return found

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._session is not None:
            await self._session.close()
