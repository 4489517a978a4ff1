"""The first-time speakers' share of the talk, live, per room (``FirstTimeShare``,
``bridge.domain.speakers.share``): fed by the turns as the speaker stack's courier carries
them out (this is the courier's ``TurnSink``, passing each turn on to history) and by the
roster's leaves; read by the live-room view."""

from __future__ import annotations

import time
from collections.abc import Callable

from bridge.domain.events import DomainEvent, ParticipantLeft, RoomEnded
from bridge.domain.roster import Switchboard
from bridge.domain.speakers import TurnEnded, TurnStarted, person_of
from bridge.domain.speakers.share import FirstTimeShare
from bridge.service.stack_io import Noted, TurnSink


class FirstTimeShares:
    def __init__(
        self,
        history: TurnSink,
        switchboard: Switchboard,
        talk_time: Callable[[str, float], float],
    ) -> None:
        self._history = history
        self._switchboard = switchboard
        self._talk_time = talk_time  # (channel, at) -> the roster's talk time so far
        self._rooms: dict[str, FirstTimeShare] = {}

    # ---- the courier's TurnSink ------------------------------------------------------------

    async def started(self, turn: TurnStarted) -> None:
        talked = self._talk_time(turn.channel, turn.at)
        share = self._rooms.setdefault(turn.room, FirstTimeShare())
        share.turn_started(person_of(turn.channel, turn.caller_id), turn.channel, talked)
        await self._history.started(turn)

    async def ended(self, turn: TurnEnded) -> None:
        if (share := self._rooms.get(turn.room)) is not None:
            share.turn_ended(turn.channel, self._talk_time(turn.channel, turn.ended_at))
        await self._history.ended(turn)

    async def noted(self, event: Noted) -> None:
        await self._history.noted(event)

    # ---- the roster (after each event) -----------------------------------------------------

    def on_event(self, event: DomainEvent) -> None:
        match event:
            case ParticipantLeft():
                if (share := self._rooms.get(event.room)) is not None:
                    share.left(self._talk_time(event.channel, event.at))
            case RoomEnded():
                self._rooms.pop(event.room, None)

    # ---- the live-room view ----------------------------------------------------------------

    def share(self, room: str, at: float | None = None) -> float | None:
        """The share so far (0 to 1); None: no turn yet in this call, or no talk."""
        share = self._rooms.get(room)
        live = self._switchboard.room(room)
        if share is None or live is None:
            return None
        at = time.time() if at is None else at
        present = sum(p.talk_time_at(at) for p in live.participants.values())
        return share.share(present, lambda channel: self._talk_time(channel, at))
