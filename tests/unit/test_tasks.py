"""Tasks a service starts and does not await: kept while they run, a failure logged under
the service's event name, all cancelled together."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bridge.service.tasks import Tasks

log = logging.getLogger("tests.tasks")


async def test_a_failure_is_logged_and_the_task_let_go(caplog: pytest.LogCaptureFixture) -> None:
    tasks = Tasks(log, "thing.failed")

    async def fails() -> None:
        raise ValueError("boom")

    task = tasks.start(fails(), name="failing")
    await asyncio.wait([task])
    await asyncio.sleep(0)  # the done callback
    assert len(tasks) == 0
    [record] = [r for r in caplog.records if r.message == "thing.failed"]
    assert record.exc_info is not None and "boom" in str(record.exc_info[1])


async def test_cancel_stops_every_task_still_running() -> None:
    tasks = Tasks(log, "thing.failed")
    started = [tasks.start(asyncio.sleep(60)) for _ in range(3)]
    assert len(tasks) == 3
    tasks.cancel()
    await asyncio.wait(started)
    assert all(task.cancelled() for task in started)
    assert len(tasks) == 0
