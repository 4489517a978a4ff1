"""The speaker stack's effects carried out: on Asterisk (unmute the speaker, mute the one
before, whisper to them, and "you are next" to the head of the stack), into the call's
history, to subscribers, and the stacks saved.

A room has one stack, breakouts or not: someone called on while in a breakout group is
unmuted (and muted again) in the group's conference, where they are (``conference_of``);
a whisper reaches a channel in whichever conference it is.

Each room has its own line: its effects are carried out in order by one task of its own
(an unmute never overtakes the mute before it), and a moderator's command or a caller's key
is answered once its effects are carried out and its stack saved. Rooms do not wait for
each other: an Asterisk action that hangs in one room delays no other room's key answer. A
room's task ends when its line is empty, and the line goes with it. What only the room did
(joins, talk) is saved a little later, coalesced (``StackStorage``), by one task for all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence

from bridge.domain import speakers as domain
from bridge.domain.speakers import SpeakerStack
from bridge.errors import BridgeError
from bridge.service.pbx_directory import PbxDirectory
from bridge.service.roster import Change
from bridge.service.stack_io import (
    WHISPERS,
    CallOver,
    Noted,
    Outgoing,
    StackMetrics,
    StackStorage,
    TurnSink,
)

log = logging.getLogger(__name__)

Parcel = tuple[list[Outgoing], asyncio.Future[None] | None]  # effects; who waits for them
Whereabouts = Callable[[str, str], str]  # (room, channel) -> the conference it is in now


class StackCourier:
    def __init__(
        self,
        stacks: Mapping[str, SpeakerStack],
        publish: Callable[[Change], None],
        pbxs: PbxDirectory,
        storage: StackStorage,
        turns: TurnSink,
        metrics: StackMetrics,
        conference_of: Whereabouts,
    ) -> None:
        self.stacks = stacks  # the live rooms' stacks (the speaker floor's own dict)
        self.pbxs = pbxs
        self._conference_of = conference_of
        self._publish = publish
        self._storage = storage
        self._turns = turns
        self._metrics = metrics
        self._lines: dict[str, deque[Parcel]] = {}  # room -> its effects not yet carried out
        self._carriers: dict[str, asyncio.Task[None]] = {}  # room -> the task carrying them
        self._running = False  # between run() and its end: rooms' tasks may start
        self._changed = asyncio.Event()  # a stack changed: the saver looks again
        self._saving = asyncio.Lock()  # one save at a time: a stack's newest state lands last

    @property
    def busy_rooms(self) -> set[str]:
        """The rooms with effects not yet carried out."""
        return set(self._lines)

    def send(self, effects: Sequence[Outgoing]) -> None:
        """Carry these out after those sent before for their room; nobody waits."""
        lines: dict[str, list[Outgoing]] = {}
        for effect in effects:
            lines.setdefault(effect.room, []).append(effect)
        for room, theirs in lines.items():
            self._post(room, (theirs, None))

    async def carry_out(self, room: str, effects: Sequence[Outgoing]) -> None:
        """Carry out these effects of ``room``'s stack after those sent before for it;
        return once they are, and saved."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._post(room, (list(effects), done))
        await done

    def _post(self, room: str, parcel: Parcel) -> None:
        self._lines.setdefault(room, deque()).append(parcel)
        if self._running and room not in self._carriers:
            self._start(room)

    def _start(self, room: str) -> None:
        task = asyncio.get_running_loop().create_task(self._carry(room), name=f"stack-{room}")
        self._carriers[room] = task

    async def _carry(self, room: str) -> None:
        """Carry out ``room``'s line in order until it is empty; then the line goes."""
        line = self._lines[room]
        try:
            while line:
                effects, done = line.popleft()
                try:
                    for effect in effects:
                        await self._one(effect)
                    if self._storage.due_in(now=done is not None) == 0.0:
                        await self._save()
                except asyncio.CancelledError:
                    if done is not None:
                        done.cancel()
                    raise
                except Exception:
                    log.exception("stack.delivery_failed room=%s effects=%d", room, len(effects))
                if done is not None and not done.done():
                    done.set_result(None)
        finally:
            self._carriers.pop(room, None)
            if not line and self._lines.get(room) is line:
                del self._lines[room]

    async def run(self) -> None:
        """Start the rooms' tasks (for effects sent before) and save what the rooms did
        when it comes due, until cancelled; then the rooms' tasks stop too."""
        self._running = True
        for room in self._lines:
            if room not in self._carriers:
                self._start(room)
        try:
            await self._keep_saving()
        finally:
            self._running = False
            carriers = list(self._carriers.values())
            self.close()
            await asyncio.gather(*carriers, return_exceptions=True)

    async def _keep_saving(self) -> None:
        while True:
            self._changed.clear()
            due = self._storage.due_in()
            if due == 0.0:
                await self._save()
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), due)

    async def _save(self) -> None:
        try:
            async with self._saving:
                await self._storage.save(self.stacks)
        except Exception:
            log.exception("stack.save_failed")

    async def flushed(self) -> None:
        """Save what changed since the last save."""
        if self._storage.due_in() is not None:
            await self._save()

    def close(self) -> None:
        """Stop every room's task; whoever waits for effects not carried out is cancelled."""
        for task in list(self._carriers.values()):
            task.cancel()
        for line in self._lines.values():
            for _, done in line:
                if done is not None:
                    done.cancel()
        self._lines.clear()

    async def _one(self, effect: Outgoing) -> None:
        try:
            match effect:
                case Noted():
                    await self._turns.noted(effect)
                case CallOver():
                    self._metrics.set_hands_raised(effect.room, 0)
                    await self._storage.drop(effect.room)
                case domain.Unmute():
                    if (stack := self.stacks.get(effect.room)) is not None:
                        stack.unmuting(effect, time.time())
                    where = self._conference_of(effect.room, effect.channel)
                    bridge = self.pbxs.bridge_for_channel(effect.room, effect.channel)
                    await bridge.unmute(where, effect.channel)
                case domain.Mute():
                    where = self._conference_of(effect.room, effect.channel)
                    bridge = self.pbxs.bridge_for_channel(effect.room, effect.channel)
                    await bridge.mute(where, effect.channel)
                case domain.Warn():
                    await self._whisper(effect.room, effect.channel, "warning")
                case domain.YouAreNext():
                    await self._whisper(effect.room, effect.channel, "next")
                case domain.TurnStarted():
                    self._metrics.turn_started(
                        effect.room, "called" if effect.lane is None else effect.lane
                    )
                    await self._turns.started(effect)
                    await self._whisper(effect.room, effect.channel, "floor")
                case domain.TurnEnded():
                    await self._turns.ended(effect)
                    if effect.why is domain.TurnEnd.TIME_LIMIT:
                        await self._whisper(effect.room, effect.channel, "time_up")
                case domain.StackChanged():
                    self._storage.changed(effect.room)
                    self._changed.set()
                    if (stack := self.stacks.get(effect.room)) is not None:
                        queued = len(stack.show(time.time()).queue)
                        self._metrics.set_hands_raised(effect.room, queued)
                    self._publish(Change(effect.room, effect))
                case domain.Tell():
                    pass  # only a key press tells, and its answer goes back over FastAGI
        except BridgeError as exc:
            # The speaker left a moment ago, or Asterisk is away: the stack moves on.
            log.warning("stack.effect_failed effect=%s reason=%s", type(effect).__name__, exc)
        except Exception:  # a history write, say: the effects after it are carried out still
            log.exception("stack.effect_failed effect=%s", type(effect).__name__)

    async def _whisper(self, room: str, channel: str, what: str) -> None:
        await self.pbxs.bridge_for_channel(room, channel).whisper(channel, WHISPERS[what])
