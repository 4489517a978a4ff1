"""A running breakout's saved state: one row a room, written again on each change, read
back whole, and gone when the breakout ends."""

from __future__ import annotations

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
