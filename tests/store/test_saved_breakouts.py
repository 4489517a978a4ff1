"""A running breakout's saved state: one row a room, written again on each change, read
back whole, and gone when the breakout ends."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bridge.service.breakout_store import SavedBreakouts
from bridge.store.breakouts import drop_breakout, save_breakout, saved_breakouts
from bridge.store.db import Database


async def test_a_breakout_is_saved_replaced_read_back_and_dropped(db: Database) -> None:
    first = {"room": "ga", "groups": [{"name": "group-1", "members": []}], "ends_at": 1.5}
    async with db.sessions.begin() as session:
        await save_breakout(session, "ga", first)
        await save_breakout(session, "gb", {"room": "gb"})
    async with db.sessions.begin() as session:
        await save_breakout(session, "ga", {**first, "ends_at": 2.5})  # extended
    async with db.sessions() as session:
        assert await saved_breakouts(session) == {
            "ga": {**first, "ends_at": 2.5},
            "gb": {"room": "gb"},
        }
    async with db.sessions.begin() as session:
        await drop_breakout(session, "ga")
        await drop_breakout(session, "nowhere")  # none saved: nothing to do
    async with db.sessions() as session:
        assert list(await saved_breakouts(session)) == ["gb"]


async def test_changes_in_a_row_are_saved_as_the_latest_state_and_an_end_deletes_it(
    db: Database,
) -> None:
    states: dict[str, dict[str, object]] = {"ga": {"ends_at": 1.0}}
    saved = SavedBreakouts(db.sessions)
    saved.follow(states.get)
    saved.changed("ga")
    states["ga"] = {"ends_at": 2.0}  # extended before the first write landed
    saved.changed("ga")
    await saved.flushed()
    async with db.sessions() as session:
        assert await saved_breakouts(session) == {"ga": {"ends_at": 2.0}}
    del states["ga"]  # ended
    saved.changed("ga")
    await saved.flushed()
    assert await saved.load() == {}


async def test_a_state_that_cannot_be_written_is_logged_as_an_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    unmigrated = Database(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")  # no such table
    try:
        saved = SavedBreakouts(unmigrated.sessions)
        saved.follow(lambda room: {"room": room})
        saved.changed("ga")
        await saved.flushed()
    finally:
        await unmigrated.dispose()
    [record] = [r for r in caplog.records if r.getMessage().startswith("breakout.not_saved")]
    assert record.levelno == logging.ERROR
