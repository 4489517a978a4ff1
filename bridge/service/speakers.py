"""The speaker stack, live: one ``SpeakerStack`` (``bridge.domain.speakers``) per live room,
fed by the roster's events, the callers' keys and the moderators' commands. Its effects
(unmute the speaker, mute the one before, whisper a warning, save, publish) go to the
``StackCourier`` (``stack_effects``), which carries them out in order, room by room; a moderator's
command returns once they are. The clock sleeps until the earliest deadline of any room
(time limits, rejoin grace)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from bridge.asterisk.keypad import Answer
from bridge.domain import speakers as domain
from bridge.domain.events import (
    DomainEvent,
    MuteChanged,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantMoved,
    Resynced,
    RoomEnded,
    RoomStarted,
    TalkingChanged,
)
from bridge.domain.group_moves import conference_of
from bridge.domain.rooms import QueuePolicy, RoomSpec
from bridge.domain.roster import Switchboard
from bridge.domain.speakers import Key, Lane, SpeakerStack, StackError
from bridge.errors import ActionRefused, NoSuchParticipant, NoSuchRoom
from bridge.service.pbx_directory import PbxDirectory
from bridge.service.roster import Change
from bridge.service.stack_effects import StackCourier
from bridge.service.stack_io import (
    NOTED_KEYS,
    CallOver,
    Noted,
    Outgoing,
    StackMetrics,
    StackStorage,
    TurnSink,
    rules_of,
    stack_for_room,
)

log = logging.getLogger(__name__)

# Keys a room's menu may send that the stack does not handle: the caller hears so.
KEYS = {key.value: key for key in Key}  # hand, direct, process, place
LEFT_KEPT = 300.0  # seconds a talk time is kept after its caller left (see _keep_left)


class SpeakerFloor:
    def __init__(
        self,
        switchboard: Switchboard,
        publish: Callable[[Change], None],
        pbxs: PbxDirectory,
        find_room: Callable[[str], Awaitable[RoomSpec | None]],
        storage: StackStorage,
        turns: TurnSink,
        metrics: StackMetrics,
    ) -> None:
        self.switchboard = switchboard
        self._publish = publish
        self._find_room = find_room
        self._storage = storage
        self.stacks: dict[str, SpeakerStack] = {}
        self.courier = StackCourier(
            self.stacks, publish, pbxs, storage, turns, metrics, self.conference_of
        )
        self._loading: dict[str, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._talk_time: dict[str, float] = {}  # channel -> the roster's last word on it
        # Those of channels that left: (talk time, when it left), oldest first, kept
        # LEFT_KEPT seconds for a turn that ends after its speaker left. They used to stay
        # until the room's call ended, and a room in session for hours kept every caller's.
        self._left: dict[str, tuple[float, float]] = {}

    # ---- the roster in (called synchronously after each event) ---------------------------

    def on_event(self, event: DomainEvent) -> None:
        match event:
            case RoomStarted():
                self._open(event.room, event.at)
            case ParticipantJoined():
                stack = self._open(event.room, event.at)
                self._apply(stack.join(event.channel, event.caller_id, event.role, event.at))
            case ParticipantLeft():
                if (leaving := self.stacks.get(event.room)) is not None:
                    self._apply(leaving.leave(event.channel, event.at))
                self._keep_left(event.channel, event.at)
            case ParticipantMoved(settled=True, muted=True):
                self._muted(event.room, event.channel, event.at)  # arrived muted: turn over
            case MuteChanged() | TalkingChanged():
                self._note_speech(event.room, event.channel, event.at)
                if isinstance(event, MuteChanged) and event.muted:
                    self._muted(event.room, event.channel, event.at)
            case RoomEnded():
                self._close(event.room)
                self._forget_talk_times()
            case Resynced():
                self._resync(event.at)

    def _open(self, room: str, at: float) -> SpeakerStack:
        """The room's stack; a new room's starts with default rules until its settings (and,
        after a restart, its saved stack) are read."""
        stack = self.stacks.get(room)
        if stack is None:
            stack = self.stacks[room] = SpeakerStack(room)
            self._loading[room] = asyncio.get_running_loop().create_task(self._load(room))
        return stack

    async def _load(self, room: str) -> None:
        try:
            spec = await self._find_room(room)
            saved = await self._storage.load(room)
            at = time.time()
            if saved is not None:
                stack = SpeakerStack.from_state(saved, await self._storage.spoken_before(room))
                log.info("stack.restored room=%s queued=%d", room, len(stack.show(at).queue))
            else:
                stack = SpeakerStack(room) if spec is None else stack_for_room(spec)
            if self.stacks.get(room) is None:
                return  # the room ended meanwhile
            self.stacks[room] = stack
            effects = stack.resync(self._members(room), at)
            if spec is not None:
                effects += stack.set_rules(rules_of(spec), at)
            self._apply([*effects, domain.StackChanged(room)])
        except Exception:
            log.exception("stack.load_failed room=%s (starting afresh)", room)
        finally:
            self._loading.pop(room, None)

    def _close(self, room: str) -> None:
        """The call is over: its stack goes, after whatever it still had to do."""
        if self.stacks.pop(room, None) is not None:
            self._apply([CallOver(room)])
            self._publish(Change(room, domain.StackChanged(room)))

    def _forget_talk_times(self) -> None:
        self._talk_time = {
            c: t for c, t in self._talk_time.items() if self.switchboard.room_of(c) is not None
        }

    def _keep_left(self, channel: str, at: float) -> None:
        """``channel`` left: its last talk time moves aside for LEFT_KEPT seconds."""
        if (talked := self._talk_time.pop(channel, None)) is not None:
            self._left[channel] = (talked, at)
        while self._left:
            oldest = next(iter(self._left))
            if at - self._left[oldest][1] <= LEFT_KEPT:
                break
            del self._left[oldest]

    @property
    def talk_times_kept(self) -> int:
        """Channels whose talk time is kept here (the soak and the tests look)."""
        return len(self._talk_time) + len(self._left)

    def _resync(self, at: float) -> None:
        for room in [r for r in self.stacks if self.switchboard.room(r) is None]:
            self._close(room)
        for room in self.switchboard.rooms:
            stack = self._open(room, at)
            if room not in self._loading:
                self._apply(stack.resync(self._members(room), at))

    def _members(self, room: str) -> list[domain.Member]:
        live = self.switchboard.room(room)
        people = live.participants.values() if live else ()
        return [domain.Member(p.channel, p.caller_id, p.role) for p in people]

    def _note_speech(self, room: str, channel: str, at: float) -> None:
        stack = self.stacks.get(room)
        live = self.switchboard.room(room)
        person = live.participants.get(channel) if live else None
        if stack is not None and person is not None:
            talked = person.talk_time_at(at)
            self._talk_time[channel] = talked
            self._apply(stack.note_speech(channel, person.turns, talked, at))

    def conference_of(self, room: str, channel: str) -> str:
        """Where to unmute or mute ``channel``: its breakout group's conference, or the
        room's."""
        live = self.switchboard.room(room)
        return conference_of(room, live.participants if live else None, channel)

    def _muted(self, room: str, channel: str, at: float) -> None:
        """Asterisk muted the speaker (a moderator's mute, mute all, their own *6), or moved
        them (a breakout's start or end) into a conference that let them in muted: their
        turn ends there, so its clock never runs on a muted speaker. No one is called on
        next by themselves, as when a moderator ends a turn."""
        stack = self.stacks.get(room)
        if stack is not None and stack.speaker == channel:
            self._apply(stack.end_turn(at, domain.TurnEnd.MUTED))

    def talk_time_of(self, channel: str, at: float) -> float:
        """The roster's talk time for ``channel`` so far (the last known, once it left)."""
        room = self.switchboard.room_of(channel)
        live = self.switchboard.room(room) if room else None
        person = live.participants.get(channel) if live else None
        if person is not None:
            return person.talk_time_at(at)
        if (left := self._left.get(channel)) is not None:
            return left[0]
        return self._talk_time.get(channel, 0.0)

    # ---- the keypad (FastAGI) ----------------------------------------------------------------

    async def key_pressed(self, room: str, channel: str, caller_id: str, key: str) -> Answer:
        room = self.switchboard.room_of(channel) or room
        await self._ready(room)
        answer = await self._press(room, channel, key)
        place = f" place={answer.place}" if answer.place is not None else ""
        log.info("stack.key room=%s key=%s heard=%s%s", room, key, answer.heard, place)
        return answer

    async def _press(self, room: str, channel: str, key: str) -> Answer:
        stack = self.stacks.get(room)
        wanted = KEYS.get(key)
        if stack is None or wanted is None:
            return Answer(str(domain.Heard.KEY_NOT_AVAILABLE))
        at = time.time()
        effects = stack.press(channel, wanted, at)
        told = [e for e in effects if isinstance(e, domain.Tell) and e.channel == channel]
        outgoing: list[Outgoing] = [e for e in effects if not isinstance(e, domain.Tell)]
        if told and (lane := NOTED_KEYS.get(told[-1].heard)) is not None:
            outgoing.append(self._noted(room, at, str(told[-1].heard), channel, lane))
        await self._carry_out(room, outgoing)
        if not told:
            return Answer(str(domain.Heard.KEY_NOT_AVAILABLE))
        return Answer(str(told[-1].heard), told[-1].place)

    # ---- moderators --------------------------------------------------------------------------

    def snapshot(self, room: str) -> dict[str, Any] | None:
        """The room's stack now (``stack show --json``); None when the room is not live."""
        stack = self.stacks.get(room)
        return None if stack is None else stack.show(time.time()).as_json()

    async def show(self, room: str) -> dict[str, Any]:
        return (await self._stack(room)).show(time.time()).as_json()

    async def call_next(self, room: str) -> dict[str, Any]:
        stack = await self._stack(room)
        await self._command(room, lambda at: stack.call_next(at))
        return {"speaker": stack.speaker}

    async def call(self, room: str, channel: str) -> dict[str, Any]:
        stack = await self._stack(room)
        await self._command(room, lambda at: stack.call(channel, at))
        return {"speaker": stack.speaker}

    async def end_turn(self, room: str) -> None:
        stack = await self._stack(room)
        await self._command(room, stack.end_turn)

    async def move(self, room: str, channel: str, place: int) -> None:
        stack = await self._stack(room)
        await self._command(
            room, lambda at: stack.move(channel, place, at), "moved", channel, f"to {place}"
        )

    async def remove(self, room: str, channel: str) -> None:
        stack = await self._stack(room)
        await self._command(room, lambda at: stack.remove(channel, at), "removed", channel)

    async def add(self, room: str, channel: str, lane: Lane) -> None:
        stack = await self._stack(room)
        await self._command(room, lambda at: stack.add(channel, lane, at), "added", channel, lane)

    async def clear(self, room: str, lane: Lane | None) -> None:
        stack = await self._stack(room)
        await self._command(
            room, lambda at: stack.clear(lane, at), "cleared", "", lane or "every lane"
        )

    async def set_priority(self, room: str, channel: str, on: bool) -> None:
        stack = await self._stack(room)
        await self._command(
            room,
            lambda at: stack.set_priority(channel, on, at),
            "priority",
            channel,
            "on" if on else "off",
        )

    async def set_policy(self, room: str, policy: QueuePolicy) -> None:
        stack = await self._stack(room)
        await self._command(
            room, lambda at: stack.set_policy(policy, at), "policy", "", str(policy)
        )

    async def set_limit(self, room: str, seconds: int) -> None:
        """For the rest of this call (the turn under way included); 0: no limit."""
        stack = await self._stack(room)
        rules = dataclasses.replace(stack.rules, speaking_time_limit=float(seconds))
        detail = f"{seconds} s" if seconds else "off"
        await self._command(room, lambda at: stack.set_rules(rules, at), "limit", "", detail)

    async def set_auto_advance(self, room: str, on: bool) -> None:
        stack = await self._stack(room)
        rules = dataclasses.replace(stack.rules, auto_advance=on)
        detail = "on" if on else "off"
        await self._command(room, lambda at: stack.set_rules(rules, at), "auto-advance", "", detail)

    async def note(self, room: str, kind: str, channel: str, lane: str, detail: str) -> None:
        """Something a caller did, into the call's history beside the stack's events."""
        await self._carry_out(room, [self._noted(room, time.time(), kind, channel, lane, detail)])

    async def _stack(self, room: str) -> SpeakerStack:
        await self._ready(room)
        stack = self.stacks.get(room)
        if stack is None:
            raise NoSuchRoom(room)
        return stack

    async def _ready(self, room: str) -> None:
        loading = self._loading.get(room)
        if loading is not None:
            await asyncio.shield(loading)

    async def _command(
        self,
        room: str,
        command: Callable[[float], list[domain.Effect]],
        kind: str = "",
        channel: str = "",
        detail: str = "",
    ) -> None:
        """A moderator's command; ``kind`` names it among the call's stack events (turns
        are recorded as turns, so the floor commands need none)."""
        at = time.time()
        try:
            effects: list[Outgoing] = [*command(at)]
        except domain.NotInRoom as exc:
            raise NoSuchParticipant(room, exc.channel) from None
        except StackError as exc:
            raise ActionRefused(str(exc)) from None
        if kind:
            effects.append(self._noted(room, at, kind, channel, detail=detail))
        await self._carry_out(room, effects)

    # ---- effects out -------------------------------------------------------------------------

    def _noted(
        self, room: str, at: float, kind: str, channel: str, lane: str = "", detail: str = ""
    ) -> Noted:
        live = self.switchboard.room(room)
        person = live.participants.get(channel) if live and channel else None
        caller_id = person.caller_id if person is not None else ""
        return Noted(room, at, kind, channel, caller_id, lane, detail)

    def _apply(self, effects: Sequence[Outgoing]) -> None:
        """Effects of an event: carried out in order, without the caller waiting."""
        if effects:
            self.courier.send(effects)
            self._wake.set()

    async def _carry_out(self, room: str, effects: Sequence[Outgoing]) -> None:
        """Effects of a command in ``room``: carried out after the room's earlier ones;
        return once they are."""
        self._wake.set()
        await self.courier.carry_out(room, effects)

    async def run(self) -> None:
        """Carry out effects, save changed stacks and keep time, until cancelled."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self.courier.run(), name="stack-effects")
            group.create_task(self._keep_time(), name="stack-clock")

    async def flushed(self) -> None:
        """Save what changed since the last save (the service waits for it on stop)."""
        await self.courier.flushed()

    async def _keep_time(self) -> None:
        while True:
            deadlines = [d for s in self.stacks.values() if (d := s.next_deadline()) is not None]
            self._wake.clear()
            delay = max(0.0, min(deadlines) - time.time()) if deadlines else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
            now = time.time()
            for stack in list(self.stacks.values()):
                due = stack.next_deadline()
                if due is not None and due <= now:
                    self._apply(stack.tick(now))

    def close(self) -> None:
        for task in list(self._loading.values()):
            task.cancel()
        self.courier.close()
