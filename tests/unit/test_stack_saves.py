"""When the speaker stacks are saved: what a person did at once, what the room did at most
every SAVE_EVERY seconds (``StackStorage.due_in``)."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.service.stack_io import StackStorage


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class NoSessions:
    """Sessions that no test here opens."""

    def __call__(self) -> Any:
        raise AssertionError("no database in these tests")

    begin = __call__


def storage(clock: Clock) -> StackStorage:
    return StackStorage(NoSessions(), every=0.5, clock=clock)  # type: ignore[arg-type]


async def test_nothing_changed_nothing_is_due() -> None:
    assert storage(Clock()).due_in() is None
    assert storage(Clock()).due_in(now=True) is None


async def test_the_first_change_is_due_at_once_then_changes_wait_out_the_interval() -> None:
    clock = Clock()
    saves = storage(clock)
    saves.changed("assembly")
    assert saves.due_in() == 0.0
    await saves.save({})  # the room is not live: nothing to write, but the save is done
    assert saves.due_in() is None
    clock.now += 0.1
    saves.changed("assembly")
    assert saves.due_in() == pytest.approx(0.4)
    assert saves.due_in(now=True) == 0.0, "a person waiting for the save does not wait"
    clock.now += 0.5
    assert saves.due_in() == 0.0
