"""Tasks a service starts and does not await: each kept until it is done (the event loop
holds only a weak reference to a task, so one nobody holds may vanish mid-run), a failure
logged rather than lost, and all of them cancelled together when the service stops; and
the one task that writes down what a part of the service keeps for later (``Writer``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any


class Tasks:
    def __init__(self, log: logging.Logger, failed: str) -> None:
        """``failed``: the log's event name when one of them raises."""
        self._log, self._failed = log, failed
        self._running: set[asyncio.Task[None]] = set()

    def start(self, work: Coroutine[Any, Any, None], name: str | None = None) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._running.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            self._log.error(self._failed, exc_info=error)

    def cancel(self) -> None:
        for task in list(self._running):
            task.cancel()

    def __len__(self) -> int:
        return len(self._running)


class Writer:
    """One task that writes down what waits (``drain``: until nothing does), started when
    something comes and none runs: rows go in the order they came, never two writers at
    once on the database, and nobody waits for the disk but who asks (``flushed``)."""

    def __init__(self, drain: Callable[[], Coroutine[Any, Any, None]], name: str) -> None:
        self._drain, self._name = drain, name
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def wake(self) -> None:
        """Something waits to be written: the writer runs, if it does not already."""
        if not self.running:
            self._task = asyncio.get_running_loop().create_task(self._drain(), name=self._name)

    async def flushed(self) -> None:
        """Until what waited so far is written (or a writer started meanwhile is done)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    def cancel(self) -> bool:
        """Stop writing; whether anything was still being written."""
        if not self.running:
            return False
        assert self._task is not None
        self._task.cancel()
        return True
