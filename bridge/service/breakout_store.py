"""Each running breakout's state in the database (``bridge.store.breakouts``), so that a
restarted service carries it on (``RoomBreakouts.restore``).

A change is saved off the caller's path: the room is marked, and one writer saves the
rooms marked, each with the breakout's state as it is when written (several changes in a
row are one write, and no older state can land after a newer one). A room whose breakout
ended has its row deleted. A write that fails is logged at ERROR; the next change writes
the whole state again."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bridge.service.tasks import Writer
from bridge.store.breakouts import drop_breakout, save_breakout, saved_breakouts

log = logging.getLogger(__name__)

StateOf = Callable[[str], dict[str, Any] | None]  # room -> its running breakout's state


class SavedBreakouts:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._state_of: StateOf = lambda room: None
        self._marked: dict[str, None] = {}  # rooms changed since written, in order
        self._writer = Writer(self._write, "breakouts-saved")

    def follow(self, state_of: StateOf) -> None:
        """Where the running breakouts' states are read when written."""
        self._state_of = state_of

    def changed(self, room: str) -> None:
        self._marked[room] = None
        self._writer.wake()

    async def _write(self) -> None:
        while self._marked:
            room = next(iter(self._marked))
            del self._marked[room]
            state = self._state_of(room)  # the latest: changes made meanwhile are in it
            try:
                async with self._sessions.begin() as session:
                    if state is None:
                        await drop_breakout(session, room)
                    else:
                        await save_breakout(session, room, state)
            except Exception:
                log.exception("breakout.not_saved room=%s running=%s", room, state is not None)

    async def load(self) -> dict[str, dict[str, Any]]:
        """Room -> the state saved for it (nothing when the database cannot say), once
        the changes so far are written (a breakout that just ended is not read back)."""
        await self.flushed()
        try:
            async with self._sessions() as session:
                return await saved_breakouts(session)
        except Exception:
            log.exception("breakout.saved_not_read")
            return {}

    async def flushed(self) -> None:
        """Every change so far written (the service waits for it on stop)."""
        await self._writer.flushed()

    def stop(self) -> None:
        if self._writer.cancel():
            log.error("breakout.unsaved_at_stop rooms=%d", len(self._marked) + 1)
