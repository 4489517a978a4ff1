"""The push feed POSTed to the admin's webhooks (``IOBRIDGE_WEBHOOKS``, docs/admin.md).

Each webhook has an outbox: a bounded queue the feed drops events into without waiting
(full: the oldest goes, and ``iobridge_webhook_events_total{outcome="dropped"}`` counts
it), and one task of its own that sends them in order, each signed (``X-IOBridge-Signature``
over the timestamp and the body, ``bridge.domain.feed.signature``), each request bounded
by a timeout, a failed one tried again after 1, 2, 4 ... seconds up to ``ATTEMPTS`` times.
A receiver that hangs or fails slows its own outbox, nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from bridge.domain.feed import EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signature
from bridge.errors import StartupError
from bridge.service.feed import Published
from bridge.service.metrics import Metrics
from bridge.settings import Webhook
from bridge.web.keys import SERVICE

log = logging.getLogger(__name__)

QUEUE_SIZE = 1000  # events waiting per webhook; past it the oldest are dropped
ATTEMPTS = 5  # per event: the first try and four more
FIRST_RETRY = 1.0  # seconds; doubled after each failure
TIMEOUT = 5.0  # seconds for one request, from connecting to the answer's status
# Answers that say "later" rather than "never": tried again. Other 4xx are not.
RETRIED_STATUSES = {408, 425, 429}


class Outbox:
    def __init__(
        self,
        number: int,
        hook: Webhook,
        key: bytes,
        metrics: Metrics,
        *,
        queue_size: int = QUEUE_SIZE,
        attempts: int = ATTEMPTS,
        first_retry: float = FIRST_RETRY,
        timeout: float = TIMEOUT,
    ) -> None:
        self.number = number  # 1-based, in the order of the settings: the metrics' label
        self.url = hook.url
        self.kinds = frozenset(hook.events)  # empty: every kind
        self.host = (
            urlsplit(hook.url).hostname or "?"
        )  # the URL may carry a secret: logs get the host
        self._key = key
        self._metrics = metrics
        self._queue: deque[Published] = deque()
        self._size = queue_size
        self._attempts = attempts
        self._first_retry = first_retry
        self._timeout = timeout
        self._waiting = asyncio.Event()

    @property
    def pending(self) -> int:
        return len(self._queue)

    def offer(self, published: Published) -> None:
        """From the feed, never waiting: queued, or (full) queued in place of the oldest."""
        if self.kinds and str(published.event.kind) not in self.kinds:
            return
        if len(self._queue) >= self._size:
            self._queue.popleft()
            self._metrics.webhook_outcome(self.number, "dropped")
        self._queue.append(published)
        self._waiting.set()

    async def run(self, session: aiohttp.ClientSession) -> None:
        """Send what is queued, in order, until cancelled."""
        while True:
            while not self._queue:
                self._waiting.clear()
                await self._waiting.wait()
            await self._deliver(session, self._queue.popleft())

    async def _deliver(self, session: aiohttp.ClientSession, published: Published) -> None:
        body = json.dumps(published.as_json(), separators=(",", ":")).encode()
        why = ""
        for attempt in range(self._attempts):
            if attempt:
                self._metrics.webhook_outcome(self.number, "retried")
                await asyncio.sleep(self._first_retry * 2 ** (attempt - 1))
            why, again = await self._post(session, published, body)
            if not why:
                self._metrics.webhook_outcome(self.number, "delivered")
                return
            if not again:
                break
        self._metrics.webhook_outcome(self.number, "failed")
        log.warning(
            "webhook.failed webhook=%d host=%s kind=%s id=%s reason=%s",
            self.number, self.host, published.event.kind, published.id, why,
        )  # fmt: skip

    async def _post(
        self, session: aiohttp.ClientSession, published: Published, body: bytes
    ) -> tuple[str, bool]:
        """One request: ("", _) when the receiver took it, else why and whether to retry."""
        stamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(self._key, stamp, body),
            TIMESTAMP_HEADER: str(stamp),
            EVENT_HEADER: str(published.event.kind),
        }
        try:
            async with asyncio.timeout(self._timeout):
                async with session.post(
                    self.url, data=body, headers=headers, allow_redirects=False
                ) as answer:
                    status = answer.status
        except TimeoutError:
            return f"no answer in {self._timeout:g} s", True
        except aiohttp.ClientError as exc:
            return f"{type(exc).__name__}", True
        if 200 <= status < 300:
            return "", False
        return f"HTTP {status}", status >= 500 or status in RETRIED_STATUSES


def outboxes(hooks: list[Webhook], metrics: Metrics) -> list[Outbox]:
    """One outbox per webhook; a secret file that cannot be read stops the start."""
    found = []
    for number, hook in enumerate(hooks, 1):
        try:
            key = hook.key()
        except OSError as exc:
            raise StartupError(
                f"IOBRIDGE_WEBHOOKS[{number - 1}].secret_file: {hook.secret_file}: "
                f"{exc.strerror or exc}"
            ) from exc
        if not key:
            raise StartupError(f"IOBRIDGE_WEBHOOKS[{number - 1}]: the secret is empty")
        found.append(Outbox(number, hook, key, metrics))
    return found


async def deliver(app: web.Application) -> AsyncIterator[None]:
    """The app's webhooks: their outboxes fed by the push feed, and their tasks (a
    ``cleanup_ctx``: started with the app, stopped with it)."""
    service = app[SERVICE]
    boxes = outboxes(service.settings.webhooks, service.metrics)
    if not boxes:
        yield
        return
    session = aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=TIMEOUT),
        headers={"User-Agent": "io-bridge webhooks"},
    )
    tasks = []
    for box in boxes:
        service.feed.add_outbox(box.offer)
        tasks.append(asyncio.create_task(box.run(session), name=f"webhook-{box.number}"))
    try:
        yield
    finally:
        for box in boxes:
            service.feed.remove_outbox(box.offer)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await session.close()
