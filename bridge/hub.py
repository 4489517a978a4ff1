"""Fan-out of live changes to subscribers (panels, the CLI's watchers, tests).

Publishing never waits: each subscriber has a bounded queue, and one that falls behind
is dropped and told so, rather than slowing the AMI reader that publishes. A hub that
closes (its service stopping) ends every subscription at once, and takes no new one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class SubscriberDropped(Exception):
    """This subscriber fell too far behind and was cut off; resubscribe and re-read state."""


class HubClosed(Exception):
    """The hub closed (its service is stopping): nothing more will come."""


class _End:
    """What a closing hub puts in each queue, to wake a subscriber waiting on it."""


_END = _End()


class Subscription(Generic[T]):
    def __init__(self, name: str, size: int) -> None:
        self.name = name
        self.queue: asyncio.Queue[T | _End] = asyncio.Queue(size)
        self.dropped = False

    async def get(self, timeout: float | None = None) -> T:
        if self.dropped and self.queue.empty():
            raise SubscriberDropped(self.name)
        item = await asyncio.wait_for(self.queue.get(), timeout)
        if isinstance(item, _End):
            self.queue.put_nowait(item)  # and for every later get
            raise HubClosed(self.name)
        return item

    def end(self) -> None:
        """Wake this subscriber with ``HubClosed``; what it has not read yet is dropped
        (it reads the state again wherever it goes next)."""
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(_END)


class Hub(Generic[T]):
    def __init__(self, queue_size: int = 1024) -> None:
        self.queue_size = queue_size
        self._subscribers: set[Subscription[T]] = set()
        self.closed = False

    def close(self) -> None:
        """End every subscription now (each one's next ``get`` raises ``HubClosed``), and
        refuse new ones: what a stopping service does, so that no reader holds it open."""
        self.closed = True
        for sub in list(self._subscribers):
            sub.end()
        self._subscribers.clear()

    def publish(self, item: T) -> None:
        for sub in list(self._subscribers):
            try:
                sub.queue.put_nowait(item)
            except asyncio.QueueFull:
                sub.dropped = True
                self._subscribers.discard(sub)
                log.warning(
                    "hub.subscriber_dropped name=%s queue_size=%d", sub.name, self.queue_size
                )

    @asynccontextmanager
    async def subscribe(self, name: str) -> AsyncIterator[Subscription[T]]:
        if self.closed:
            raise HubClosed(name)
        sub: Subscription[T] = Subscription(name, self.queue_size)
        self._subscribers.add(sub)
        try:
            yield sub
        finally:
            self._subscribers.discard(sub)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)
