"""Where the speaker stack's state and turns go: the database, behind two small interfaces
the stack service is given (so its tests can hand it others)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bridge.domain.speakers import TurnEnded, TurnStarted
from bridge.store import stacks, turns


class StackStorage:
    """Each live call's stack, saved on every change (see ``bridge.store.stacks``)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def load(self, room: str) -> dict[str, Any] | None:
        async with self._sessions() as session:
            return await stacks.load_stack(session, room)

    async def save(self, room: str, state: dict[str, Any]) -> None:
        async with self._sessions.begin() as session:
            await stacks.save_stack(session, room, state)

    async def drop(self, room: str) -> None:
        async with self._sessions.begin() as session:
            await stacks.drop_stack(session, room)


class TurnSink(Protocol):
    """Every turn, for the post-call report."""

    async def started(self, turn: TurnStarted) -> None: ...

    async def ended(self, turn: TurnEnded) -> None: ...


class HistoryTurns:
    """Turns into the call's history (``bridge.store.turns``), each with the talk time the
    roster heard from the speaker during it."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], talk_time: Callable[[str, float], float]
    ) -> None:
        self._sessions = sessions
        self._talk_time = talk_time  # (channel, at) -> the roster's talk time so far
        self._at_start: dict[str, float] = {}  # channel -> talk time when the turn began

    async def started(self, turn: TurnStarted) -> None:
        self._at_start[turn.channel] = self._talk_time(turn.channel, turn.at)

    async def ended(self, turn: TurnEnded) -> None:
        before = self._at_start.pop(turn.channel, 0.0)
        heard = max(0.0, self._talk_time(turn.channel, turn.ended_at) - before)
        async with self._sessions.begin() as session:
            await turns.record_turn(
                session,
                room=turn.room,
                channel=turn.channel,
                caller_id=turn.caller_id,
                lane="called" if turn.lane is None else str(turn.lane),  # type: ignore[arg-type]
                started_at=turn.started_at,
                ended_at=turn.ended_at,
                talk_time=round(heard, 2),
                ended_by=str(turn.why),
            )
