"""Breakouts, live: one ``Breakout`` (``bridge.domain.breakouts``) per room while it runs.

A moderator starts one (callers split by chance, by the speaker stack or by a list), moves
people, extends it, turns the broadcast on or off and ends it; the clock plays the warnings
and ends it on time. Every effect goes to the room's PBX (``PbxDirectory.bridge_for``): a
``Move`` is an AMI Redirect (``bridge.service.breakout_moves``), a ``Warn`` the announcer in
each group, ``Broadcast`` the main room's listeners into the groups. People arriving while
it runs go to their group or the smallest (the room's ``breakout_latecomers``); ``*0`` in a
group asks for a moderator (``bridge.service.keys``).
Each stint in a group goes into the call's history; the breakout's state is saved on each
change (``bridge.service.breakout_store``), and a restarted service carries it on.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence

from bridge.asterisk.conference import ConferenceBridge
from bridge.domain.breakouts import (
    Breakout,
    BreakoutChanged,
    BreakoutError,
    Broadcast,
    Effect,
    Latecomers,
    Member,
    Move,
    SplitBy,
    StintEnded,
    Warn,
    split,
)
from bridge.domain.events import (
    DomainEvent,
    ParticipantJoined,
    ParticipantLeft,
    RemovalOrdered,
    Resynced,
    Role,
    RoomEnded,
)
from bridge.domain.rooms import RoomSpec
from bridge.domain.roster import Participant, Switchboard
from bridge.errors import (
    ActionRefused,
    BadField,
    BridgeError,
    NoSuchParticipant,
    NoSuchRoom,
    RoomSpansNodes,
)
from bridge.service.breakout_moves import GroupMoves
from bridge.service.breakout_store import SavedBreakouts
from bridge.service.pbx_directory import PbxDirectory

log = logging.getLogger(__name__)

StintLog = Callable[[list[StintEnded]], Awaitable[None]]
RoomLookup = Callable[[str], Awaitable[RoomSpec | None]]


class RoomBreakouts:
    def __init__(
        self,
        pbxs: PbxDirectory,
        switchboard: Switchboard,
        order_removal: Callable[[RemovalOrdered], None],
        publish: Callable[[str, BreakoutChanged], None],
        keep: StintLog,
        find_room: RoomLookup,
        stack_order: Callable[[str], list[str]],
        name_of: Callable[[str, str, str], str],
        settled: Callable[[str], Awaitable[None]],
        saved: SavedBreakouts,
    ) -> None:
        self.pbxs = pbxs
        self.switchboard = switchboard
        self._publish = publish
        self._keep = keep
        self._find_room = find_room
        self._stack_order = stack_order
        self._name_of = name_of
        self.breakouts: dict[str, Breakout] = {}
        self._moves = GroupMoves(pbxs, switchboard, order_removal, settled, self._wanted)
        self._saved = saved
        saved.follow(lambda room: b.to_state() if (b := self.breakouts.get(room)) else None)
        self._clocks: dict[str, asyncio.Task[None]] = {}
        self._background: set[asyncio.Task[None]] = set()

    def _pbx(self, room: str) -> ConferenceBridge:
        return self.pbxs.bridge_for(room)

    # ---- reading -----------------------------------------------------------------------------

    def running(self, room: str) -> Breakout:
        breakout = self.breakouts.get(room)
        if breakout is None:
            raise ActionRefused(f"room '{room}' has no breakout running")
        return breakout

    def show(self, room: str) -> dict[str, object] | None:
        """``breakout show --json`` and the broadcast's state; None when none runs."""
        breakout = self.breakouts.get(room)
        if breakout is None:
            return None
        return {**breakout.as_json(), "broadcast": breakout.broadcast}

    # ---- moderators --------------------------------------------------------------------------

    async def start(
        self,
        room: str,
        *,
        groups: int | None,
        size: int | None,
        minutes: float,
        by: SplitBy,
        listed: Mapping[str, Sequence[str]] | None = None,
    ) -> dict[str, object]:
        live = self.switchboard.room(room)
        if live is None:
            raise NoSuchRoom(room, "nobody is in the room: a breakout needs callers")
        if room in self.breakouts:
            raise ActionRefused(f"room '{room}' already has a breakout running: end it first")
        nodes = self.pbxs.nodes_of(room, live.participants)
        if len(nodes) > 1:  # a group's conference is on one node, and links join no group
            raise RoomSpansNodes(room, nodes)
        spec = await self._find_room(room)
        latecomers = Latecomers(spec.breakout_latecomers) if spec else Latecomers.SMALLEST
        members = [self._member(room, p) for p in sorted(live.participants.values(), key=_joined)]
        order: list[str] = []
        if by is SplitBy.RANDOM:
            order = [m.channel for m in members]
            random.shuffle(order)  # chance is the live side's to draw, not the domain's
        elif by is SplitBy.STACK:
            order = self._stack_order(room)
        at = time.time()
        try:
            plan = split(room, members, groups=groups, size=size, by=by, order=order, listed=listed)
            breakout, effects = Breakout.start(room, plan, at, minutes, latecomers)
        except BreakoutError as exc:
            raise BadField(str(exc)) from None
        self.breakouts[room] = breakout
        log.info(
            "breakout.started room=%s groups=%d callers=%d minutes=%g by=%s",
            room, len(breakout.groups), len(breakout.members()), minutes, by,
        )  # fmt: skip
        await self._hold_open(room)
        await self._carry_out(room, effects)
        self._wind(room)
        return breakout.as_json()

    async def extend(self, room: str, minutes: float) -> dict[str, object]:
        breakout = self.running(room)
        try:
            breakout.extend(minutes, time.time())
        except BreakoutError as exc:
            raise BadField(str(exc)) from None
        self._wind(room)
        self._saved.changed(room)
        self._publish(room, BreakoutChanged(room))
        return breakout.as_json()

    async def move(self, room: str, channel: str, group: str) -> dict[str, object]:
        breakout = self.running(room)
        live = self.switchboard.room(room)
        person = live.participants.get(channel) if live else None
        if person is None:
            raise NoSuchParticipant(room, channel)
        try:
            effects = breakout.move(self._member(room, person), group, time.time())
        except BreakoutError as exc:
            raise BadField(str(exc)) from None
        await self._carry_out(room, effects)
        return breakout.as_json()

    async def set_broadcast(self, room: str, on: bool) -> dict[str, object]:
        breakout = self.running(room)
        await self._carry_out(room, breakout.set_broadcast(on))
        return {**breakout.as_json(), "broadcast": breakout.broadcast}

    async def end(self, room: str) -> dict[str, object]:
        breakout = self.running(room)
        await self._finish(room, breakout.end(time.time()))
        return breakout.as_json()

    # ---- callers -----------------------------------------------------------------------------

    def ask_moderator(self, room: str, channel: str) -> str | None:
        """``*0``: the group the caller is in now wants a moderator (None: in no group)."""
        room = self.switchboard.room_of(channel) or room
        breakout = self.breakouts.get(room)
        group = breakout.ask_moderator(channel) if breakout else None
        if group is not None:
            log.info("breakout.moderator_asked room=%s group=%s", room, group)
            self._saved.changed(room)
            self._publish(room, BreakoutChanged(room))
        return group

    def on_event(self, event: DomainEvent) -> None:
        """Arrivals go to their group, leavers out of theirs; an ended call ends it."""
        match event:
            case ParticipantJoined() if event.room in self.breakouts and event.group is None:
                live = self.switchboard.room(event.room)
                person = live.participants.get(event.channel) if live else None
                if person is not None:
                    member = self._member(event.room, person)
                    effects = self.breakouts[event.room].arrive(member, event.at)
                    self._in_background(self._carry_out(event.room, effects))
            case ParticipantLeft() if event.room in self.breakouts:
                effects = self.breakouts[event.room].leave(event.channel, event.at)
                if effects:
                    self._in_background(self._carry_out(event.room, effects))
            case RoomEnded() if event.room in self.breakouts:
                self._drop(event.room, event.at)
            case Resynced():
                for room in [r for r in self.breakouts if self.switchboard.room(r) is None]:
                    self._drop(room, time.time())
                self._in_background(self.restore())

    async def restore(self) -> None:
        """After a restart (the roster resynced from Asterisk): each saved breakout carries
        on with where Asterisk has everyone now (``Breakout.resume``), or ends now if its
        end passed meanwhile; one whose room has nobody left is dropped."""
        for room, state in (await self._saved.load()).items():
            live = self.switchboard.room(room)
            if room in self.breakouts:
                continue  # running here: its row is this one's
            try:
                breakout = Breakout.from_state(state)
            except (KeyError, ValueError, TypeError, AttributeError):
                log.error("breakout.unreadable room=%s (dropped)", room)
                live = None
            if live is None:
                log.info("breakout.dropped_at_restore room=%s", room)
                self._saved.changed(room)  # not running: its row goes
                continue
            present = {
                p.channel: (self._member(room, p), p.group) for p in live.participants.values()
            }
            self.breakouts[room] = breakout
            effects = breakout.resume(present, time.time())
            log.info("breakout.restored room=%s running=%s", room, breakout.running)
            self._publish(room, BreakoutChanged(room))
            if not breakout.running:
                await self._finish(room, effects)
                continue
            self._wind(room)
            self._saved.changed(room)
            await self._carry_out(room, effects)

    # ---- inside ------------------------------------------------------------------------------

    def _wanted(self, room: str, channel: str) -> str | None:
        breakout = self.breakouts.get(room)
        return breakout.group_of(channel) if breakout else None

    def _member(self, room: str, person: Participant) -> Member:
        name = self._name_of(room, person.caller_id, person.channel) or person.caller_name
        return Member(person.channel, person.caller_id, name, person.role is Role.MODERATOR)

    def _wind(self, room: str) -> None:
        """(Re)start the room's clock from the breakout's next mark."""
        clock = self._clocks.pop(room, None)
        if clock is not None:
            clock.cancel()
        task = asyncio.get_running_loop().create_task(self._tick(room), name=f"breakout-{room}")
        self._clocks[room] = task

    async def _tick(self, room: str) -> None:
        while (breakout := self.breakouts.get(room)) is not None:
            due = breakout.next_due()
            if due is None:
                return
            await asyncio.sleep(max(0.0, due - time.time()))
            effects = breakout.tick(time.time())
            if not breakout.running:
                self._clocks.pop(room, None)  # ending cancels no clock: this is the clock
                await self._finish(room, effects)
                return
            await self._carry_out(room, effects)

    async def _finish(self, room: str, effects: list[Effect]) -> None:
        """The breakout ended (timer or ``end``): everyone back, the clock stopped."""
        self.breakouts.pop(room, None)
        clock = self._clocks.pop(room, None)
        if clock is not None and clock is not asyncio.current_task():
            clock.cancel()
        log.info("breakout.ended room=%s", room)
        await self._carry_out(room, effects)

    def _drop(self, room: str, at: float) -> None:
        """The call ended while the breakout ran: nobody to move, the stints to keep."""
        breakout = self.breakouts.pop(room)
        clock = self._clocks.pop(room, None)
        if clock is not None:
            clock.cancel()
        stints = [e for e in breakout.end(at) if isinstance(e, StintEnded)]
        self._saved.changed(room)
        self._in_background(self._kept(room, stints))
        self._publish(room, BreakoutChanged(room))

    async def _carry_out(self, room: str, effects: list[Effect]) -> None:
        """Moves side by side (a few at once), then the warnings and the broadcast; the
        stints to history; the panels told."""
        if effects:
            self._saved.changed(room)  # the breakout changed: saved while its moves go
        pbx = self._pbx(room)
        failed = await self._moves.send(room, [e for e in effects if isinstance(e, Move)])
        for effect in effects:
            if isinstance(effect, Warn):
                await asyncio.gather(*(self._warned(pbx, effect, g) for g in effect.groups))
            elif isinstance(effect, Broadcast):
                await pbx.broadcast(room, list(effect.groups), effect.on)
        stints = [e for e in effects if isinstance(e, StintEnded)]
        if stints:
            await self._kept(room, stints)
        if effects:
            self._publish(room, BreakoutChanged(room))
        if failed:
            log.warning("breakout.moves_failed room=%s count=%d", room, failed)

    async def _hold_open(self, room: str) -> None:
        """The announcer holds the main room open while everyone moves out of it, so that
        none of them waits there for its leave beeps to play out (``hold_open``)."""
        try:
            await self._pbx(room).hold_open(room)
        except BridgeError as exc:  # the moves go on; the last one may be a few seconds late
            log.warning("breakout.not_held_open room=%s reason=%s", room, exc)

    async def _warned(self, pbx: ConferenceBridge, warn: Warn, group: str) -> None:
        try:
            await pbx.play_to_group(warn.room, group, warn.prompt)
        except BridgeError as exc:  # an empty group has no conference to play to
            log.info(
                "breakout.warning_not_played room=%s group=%s reason=%s", warn.room, group, exc
            )

    async def _kept(self, room: str, stints: list[StintEnded]) -> None:
        try:
            await self._keep(stints)
        except Exception:
            log.exception("breakout.stints_not_kept room=%s", room)

    def _in_background(self, work: Awaitable[None]) -> None:
        async def run() -> None:
            await work

        task = asyncio.get_running_loop().create_task(run())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def flushed(self) -> None:
        """Moves and stints under way finished (the service waits for it on stop)."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        await self._saved.flushed()

    def stop_clocks(self) -> None:
        """No timer acts any more: the service is stopping and its PBX links close next,
        so an end that came due now would only fail its moves halfway."""
        for task in self._clocks.values():
            task.cancel()
        self._moves.stop()

    def stop(self) -> None:
        self.stop_clocks()
        for task in self._background:
            task.cancel()
        self._saved.stop()


def _joined(person: Participant) -> float:
    return person.joined_at
