"""Tasks a service starts and does not await: each kept until it is done (the event loop
holds only a weak reference to a task, so one nobody holds may vanish mid-run), a failure
logged rather than lost, and all of them cancelled together when the service stops."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
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
