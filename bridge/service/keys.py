"""Every key a caller presses in a room, to the feature it belongs to: ``poll1``..``poll9``
(the digits alone) to the room's poll, ``moderator`` (*0) to the room's breakout, the rest
(``hand``, ``direct``, ``process``, ``place``, ``mute``) to the speaker stack. The ``keys``
FastAGI route asks this."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from bridge.asterisk.keypad import SILENCE, Answer
from bridge.domain.events import DomainEvent, ParticipantLeft, RoomEnded
from bridge.domain.labels import CallerMarked
from bridge.domain.polls import BLOCK_KEY
from bridge.domain.rooms import DEFAULT_PROCESS_KEY_INTERVAL, RoomSpec
from bridge.domain.roster import Switchboard
from bridge.domain.speakers import person_of
from bridge.domain.speakers.throttle import ProcessThrottle
from bridge.errors import NoSuchParticipant
from bridge.service.breakouts import RoomBreakouts
from bridge.service.polls import RoomPolls
from bridge.service.speakers import SpeakerFloor

log = logging.getLogger(__name__)

POLL_KEY = "poll"  # the menu's name for digit N is pollN
MODERATOR_KEY = "moderator"  # *0: a caller in a breakout group asks for a moderator
# Longest a breakout move waits for a caller's key dialogue to end: the answer is short.
DIALOGUE_WAIT = 6.0  # seconds
PROCESS_KEY = "process"  # *7


class RoomKeys:
    def __init__(
        self,
        speakers: SpeakerFloor,
        polls: RoomPolls,
        breakouts: RoomBreakouts,
        switchboard: Switchboard,
        publish: Callable[[str, CallerMarked], None],
        find_room: Callable[[str], Awaitable[RoomSpec | None]],
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
        self._find_room = find_room
        self._process = ProcessThrottle()

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
                self.answered(event.channel)  # gone mid-dialogue: nobody waits for it
            case RoomEnded():
                self._paused.pop(event.room, None)
                self._process.forget(event.room)

    def opened(self, channel: str) -> None:
        """``channel`` is in a key dialogue (out of its conference, in the dialplan) until
        ``answered``. One at a time: a channel runs one dialplan application at once."""
        self._answering.setdefault(channel, asyncio.Event())

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
        if channel in self._paused.get(room, ()):
            log.info("keys.paused room=%s channel=%s key=%s", room, channel, key)
            return Answer("keys_paused")
        if key == MODERATOR_KEY:
            if self.breakouts.ask_moderator(room, channel) is None:
                return Answer("key_not_available")  # in no group: nobody to call
            return Answer("moderator_asked")
        if key == PROCESS_KEY:
            return await self._point_of_process(room, channel, caller_id)
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

    async def _point_of_process(self, room: str, channel: str, caller_id: str) -> Answer:
        """*7, at most once per the room's ``process_key_interval`` for one caller (a caller
        who presses it again and again to jump the stack hears why nothing happens);
        withdrawing one is never held back. Each press held back goes into the call's
        history beside the stack's events."""
        room = self.switchboard.room_of(channel) or room
        person, at = person_of(channel, caller_id), time.time()
        stack = self.speakers.snapshot(room)
        queued = [e["lane"] for e in stack["queue"] if e["channel"] == channel] if stack else []
        if queued != [PROCESS_KEY]:
            spec = await self._find_room(room)
            interval = spec.process_key_interval if spec else DEFAULT_PROCESS_KEY_INTERVAL
            if (wait := self._process.wait(room, person, at, interval)) > 0:
                log.info("keys.process_held_back room=%s channel=%s wait=%d", room, channel, wait)
                await self.speakers.note(room, "held back", channel, PROCESS_KEY, f"{wait} s")
                return Answer("process_held_back")
        answer = await self.speakers.key_pressed(room, channel, caller_id, PROCESS_KEY)
        if answer.heard == "point_of_process":
            self._process.raised(room, person, at)
        return answer
