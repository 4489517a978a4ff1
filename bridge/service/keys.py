"""Every key a caller presses in a room, to the feature it belongs to: ``poll1``..``poll9``
(the digits alone) to the room's poll, ``moderator`` (*0) to the room's breakout, the rest
(``hand``, ``direct``, ``process``, ``place``, ``mute``) to the speaker stack. The ``keys``
FastAGI route asks this."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from bridge.asterisk.keypad import SILENCE, Answer
from bridge.domain.events import DomainEvent, ParticipantLeft, RoomEnded
from bridge.domain.labels import CallerMarked
from bridge.domain.polls import BLOCK_KEY
from bridge.domain.roster import Switchboard
from bridge.errors import NoSuchParticipant
from bridge.service.breakouts import RoomBreakouts
from bridge.service.polls import RoomPolls
from bridge.service.speakers import SpeakerFloor

log = logging.getLogger(__name__)

POLL_KEY = "poll"  # the menu's name for digit N is pollN
MODERATOR_KEY = "moderator"  # *0: a caller in a breakout group asks for a moderator
# Longest a breakout move waits for a caller's key dialogue to end: the answer is short.
DIALOGUE_WAIT = 6.0  # seconds


class RoomKeys:
    def __init__(
        self,
        speakers: SpeakerFloor,
        polls: RoomPolls,
        breakouts: RoomBreakouts,
        switchboard: Switchboard,
        publish: Callable[[str, CallerMarked], None],
    ) -> None:
        self.speakers = speakers
        self.polls = polls
        self.breakouts = breakouts
        self.switchboard = switchboard
        self._publish = publish
        self._paused: dict[str, set[str]] = {}  # room -> channels whose keys do nothing
        # Channels in a key dialogue: ConfBridge runs it as a dialplan inside the caller's
        # channel, and an AMI Redirect landing there would end the call (``settled``).
        self._answering: dict[str, asyncio.Event] = {}

    def set_keys(self, room: str, channel: str, on: bool) -> None:
        """A moderator pauses one caller's keys (``on=False``: their hand, point of process,
        direct response and poll keys do nothing, and they hear why) or gives them back."""
        live = self.switchboard.room(room)
        if live is None or channel not in live.participants:
            raise NoSuchParticipant(room, channel)
        paused = self._paused.setdefault(room, set())
        if on:
            paused.discard(channel)
        else:
            paused.add(channel)
        self._publish(room, CallerMarked(room))

    def paused(self, room: str) -> frozenset[str]:
        return frozenset(self._paused.get(room, ()))

    def on_event(self, event: DomainEvent) -> None:
        match event:
            case ParticipantLeft():
                self._paused.get(event.room, set()).discard(event.channel)
            case RoomEnded():
                self._paused.pop(event.room, None)

    def answered(self, channel: str) -> None:
        done = self._answering.pop(channel, None)
        if done is not None:
            done.set()

    async def settled(self, channel: str, timeout: float = DIALOGUE_WAIT) -> None:
        """Once ``channel`` is out of its key dialogue (at once when in none)."""
        done = self._answering.get(channel)
        if done is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), timeout)

    async def key_pressed(self, room: str, channel: str, caller_id: str, key: str) -> Answer:
        self._answering.setdefault(channel, asyncio.Event())
        if channel in self._paused.get(room, ()):
            log.info("keys.paused room=%s channel=%s key=%s", room, channel, key)
            return Answer("keys_paused")
        if key == MODERATOR_KEY:
            if self.breakouts.ask_moderator(room, channel) is None:
                return Answer("key_not_available")  # in no group: nobody to call
            return Answer("moderator_asked")
        digit = key.removeprefix(POLL_KEY)
        if digit == key:
            return await self.speakers.key_pressed(room, channel, caller_id, key)
        chose = self.polls.press(room, channel, digit)
        log.debug("poll.key room=%s key=%s counted=%s", room, digit, chose is not None)
        if chose is None:
            return Answer(SILENCE)  # no poll open, or no such option: the key does nothing
        if digit == BLOCK_KEY:
            return Answer("poll_block")
        return Answer("poll_answer", int(digit))
