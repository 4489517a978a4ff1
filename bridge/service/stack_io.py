"""Where the speaker stack's state and turns go: the database, behind two small interfaces
the stack service is given (so its tests can hand it others)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bridge.domain import speakers as domain
from bridge.domain.rooms import RoomSpec
from bridge.domain.speakers import SpeakerStack, TurnEnded, TurnStarted
from bridge.store import stacks, turns

# What the room does (joins, leaves, talk time) is saved at most this often; what a person
# does (a key, a moderator's command) is saved before they are answered.
SAVE_EVERY = 2.0


class StackStorage:
    """Each live call's stack in the database (``bridge.store.stacks``), and when to save it.

    A stack holds every member and their talk so far, so saving it costs in proportion to
    the room. Saved on every join, a storm of 400 callers wrote the stack 400 times, each
    longer than the last; saved at most every ``every`` seconds, it is written a few times
    a second whatever the storm. What a person does (a key, a moderator's command) is saved
    before they are answered; a restart loses at most ``every`` seconds of what the room
    did, and the resync with Asterisk brings back who is there."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        every: float = SAVE_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        # A save and a drop never overlap: a save updating a room's row as the drop deleted
        # it failed (StaleDataError) and lost the rooms it had still to save.
        self._writing = asyncio.Lock()
        self._every = every
        self._clock = clock
        self._saved_at = -every
        self.dirty: set[str] = set()  # rooms whose stack changed since it was saved

    async def load(self, room: str) -> dict[str, Any] | None:
        async with self._sessions() as session:
            return await stacks.load_stack(session, room)

    async def spoken_before(self, room: str) -> dict[str, domain.Record]:
        """What those no longer in play said in the room's call (the saved state has the rest)."""
        async with self._sessions() as session:
            return await stacks.spoken_before(session, room)

    def changed(self, room: str) -> None:
        self.dirty.add(room)

    def due_in(self, *, now: bool = False) -> float | None:
        """Seconds until the changed stacks are due to be saved (None: nothing changed);
        ``now``: a person waits for the save."""
        if not self.dirty:
            return None
        if now:
            return 0.0
        return max(0.0, self._saved_at + self._every - self._clock())

    async def save(self, live: Mapping[str, SpeakerStack]) -> None:
        """Save the changed stacks among ``live``."""
        dirty, self.dirty = self.dirty, set()
        self._saved_at = self._clock()
        async with self._writing:
            for room in dirty:
                stack = live.get(room)
                if stack is not None:
                    async with self._sessions.begin() as session:
                        await stacks.save_stack(session, room, stack.to_state())

    async def drop(self, room: str) -> None:
        """The call is over: its stack is saved no more, and its saved state goes."""
        self.dirty.discard(room)
        async with self._writing, self._sessions.begin() as session:
            await stacks.drop_stack(session, room)


class TurnSink(Protocol):
    """Every turn and every change to the stack, for the post-call report."""

    async def started(self, turn: TurnStarted) -> None: ...

    async def ended(self, turn: TurnEnded) -> None: ...

    async def noted(self, event: Noted) -> None: ...


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

    async def noted(self, event: Noted) -> None:
        async with self._sessions.begin() as session:
            await turns.record_stack_event(
                session,
                room=event.room,
                at=event.at,
                kind=event.kind,
                channel=event.channel,
                caller_id=event.caller_id,
                lane=event.lane,
                detail=event.detail,
            )


# ---- what the stack service carries out besides the domain's effects ------------------


class StackMetrics(Protocol):
    def turn_started(self, room: str, lane: str) -> None: ...

    def set_hands_raised(self, room: str, count: int) -> None: ...


@dataclass(frozen=True)
class Noted:
    """A change to the stack, for the call's report (a hand raised, an entry moved ...)."""

    room: str
    at: float
    kind: str
    channel: str
    caller_id: str
    lane: str
    detail: str


@dataclass(frozen=True)
class CallOver:
    """The room's call ended: drop its saved stack (after its last effects)."""

    room: str


Outgoing = domain.Effect | CallOver | Noted


def rules_of(spec: RoomSpec) -> domain.StackRules:
    return domain.StackRules(
        speaking_time_limit=float(spec.speaking_time_limit),
        auto_advance=spec.auto_advance,
        rejoin_grace=float(spec.rejoin_grace),
    )


def stack_for_room(spec: RoomSpec) -> SpeakerStack:
    return SpeakerStack(spec.name, spec.queue, rules_of(spec))


# What a caller's key did, kept among the call's stack events (with the lane it concerns).
NOTED_KEYS = {
    domain.Heard.HAND_RAISED: "stack",
    domain.Heard.DIRECT_RESPONSE: "direct",
    domain.Heard.POINT_OF_PROCESS: "process",
    domain.Heard.HAND_LOWERED: "",
    domain.Heard.TURN_DONE: "",
}
# What the speaker alone hears at these moments (io-bridge's prompts, asterisk-config/sounds).
WHISPERS = {
    "floor": "you-have-the-floor",
    "next": "you-are-next",
    "warning": "time-warning",
    "time_up": "time-up",
}
