"""Fan-out of live changes to subscribers (panels, the CLI's watchers, tests).

Publishing never waits: each subscriber has a bounded queue, and one that falls behind
is dropped and told so, rather than slowing the AMI reader that publishes.
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


class Subscription(Generic[T]):
    def __init__(self, name: str, size: int) -> None:
        self.name = name
        self.queue: asyncio.Queue[T] = asyncio.Queue(size)
        self.dropped = False

    async def get(self, timeout: float | None = None) -> T:
        if self.dropped and self.queue.empty():
            raise SubscriberDropped(self.name)
        return await asyncio.wait_for(self.queue.get(), timeout)


class Hub(Generic[T]):
    def __init__(self, queue_size: int = 1024) -> None:
        self.queue_size = queue_size
        self._subscribers: set[Subscription[T]] = set()

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
        sub: Subscription[T] = Subscription(name, self.queue_size)
        self._subscribers.add(sub)
        try:
            yield sub
        finally:
            self._subscribers.discard(sub)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)
