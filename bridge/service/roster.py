"""The live roster path: Asterisk's events in, the roster (``Switchboard``) updated, its
effects handed to history and its changes published to subscribers.

After every (re)connect the roster is rebuilt from Asterisk's own lists (``resync``);
events that arrive meanwhile are held and replayed after it, so a join that lands between
two lists is never undone by the snapshot.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace

from bridge.domain.breakouts import BreakoutChanged
from bridge.domain.dialout import DialOutChanged
from bridge.domain.events import (
    DomainEvent,
    LockChanged,
    PbxLost,
    PbxSnapshot,
    Resynced,
    SeenParticipant,
    SeenRoom,
)
from bridge.domain.labels import CallerMarked
from bridge.domain.nodes import LinkChanged
from bridge.domain.polls import PollChanged
from bridge.domain.practice import PracticeChanged
from bridge.domain.roster import Effect, Switchboard
from bridge.domain.speakers import StackChanged
from bridge.hub import Hub

log = logging.getLogger(__name__)

# What the roster reads from Asterisk during a resync, and what it reads from history: both
# are adapters the service wires in (the AMI client's lists, the history tables).
Lister = Callable[[], Awaitable[PbxSnapshot]]
EarlierTotals = Callable[
    [set[tuple[str, str]]], Awaitable[dict[tuple[str, str], tuple[float, int]]]
]
Listener = Callable[[DomainEvent], None]
Watcher = Callable[[DomainEvent, list[Effect]], None]  # an event and what the roster made of it


@dataclass(frozen=True)
class Change:
    """What subscribers hear: which room changed (None: the whole switchboard) and why:
    an event from Asterisk, the room's speaker stack, its poll or its practice changed."""

    room: str | None
    event: (
        DomainEvent
        | StackChanged
        | PollChanged
        | CallerMarked
        | PracticeChanged
        | DialOutChanged
        | BreakoutChanged
        | LinkChanged
    )


# A room's feature changed (not its roster): the panels show it.
RoomFeatureChange = (
    PollChanged | DialOutChanged | CallerMarked | BreakoutChanged | PracticeChanged | LinkChanged
)


class LiveRoster:
    """Owns the ``Switchboard``: the only writer of the live state."""

    def __init__(
        self,
        read_pbx: Lister,
        earlier_totals: EarlierTotals,
        write_history: Callable[[list[Effect]], None],
    ) -> None:
        self.switchboard = Switchboard()
        self.changes: Hub[Change] = Hub()
        self._read_pbx = read_pbx
        self._earlier_totals = earlier_totals
        self._write_history = write_history
        self._listeners: list[Listener] = []
        self._watchers: list[Watcher] = []
        self._held: list[DomainEvent] | None = None  # events held back during a resync
        self._changed = asyncio.Event()

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener`` with every event after it is applied (it must not block)."""
        self._listeners.append(listener)

    def watch(self, watcher: Watcher) -> None:
        """Call ``watcher`` with every event and its effects once applied (the push feed
        reads what the roster did, not only what Asterisk said); it must not block."""
        self._watchers.append(watcher)

    # ---- events in ------------------------------------------------------------------------

    def receive(self, event: DomainEvent) -> None:
        """An event from Asterisk: applied now, or after the resync under way."""
        if self._held is not None:
            self._held.append(event)
            return
        self.apply(event)

    def apply(self, event: DomainEvent) -> None:
        event = self.switchboard.explain(event)  # a leave says why, before it is applied
        effects = self.switchboard.apply(event)
        if effects:
            self._write_history(effects)
        for listener in self._listeners:
            listener(event)
        for watcher in self._watchers:
            watcher(event, effects)
        self.changes.publish(Change(getattr(event, "room", None), event))
        self.notify()

    def notify(self) -> None:
        """Wake everyone in ``wait_until()``: something changed."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until ``predicate()`` holds after some change (TimeoutError otherwise)."""
        async with asyncio.timeout(timeout):
            while not predicate():
                await self._changed.wait()

    # ---- the link to Asterisk -------------------------------------------------------------

    async def on_pbx_link(self, up: bool) -> None:
        if not up:
            self.apply(PbxLost(time.time()))
            return
        await self.resync()

    async def resync(self) -> None:
        """Rebuild the roster from Asterisk's own lists; close what Asterisk no longer has."""
        at = time.time()
        self._held = []
        try:
            seen = await self._read_pbx()
            rooms = await self._with_earlier_history(seen.rooms)
            self.apply(Resynced(rooms, at, seen.channels))
        finally:
            held, self._held = self._held, None
            for event in held:
                self.apply(event)
        log.info(
            "roster.resynced rooms=%d participants=%d",
            len(rooms),
            sum(len(r.participants) for r in rooms),
        )

    def lock_seen(self, room: str, locked: bool) -> None:
        """ConfBridge sends no event for a lock: the moderation path reports what it read."""
        self.apply(LockChanged(room, locked, time.time()))

    async def _with_earlier_history(self, rooms: Iterable[SeenRoom]) -> tuple[SeenRoom, ...]:
        """Participants new to this roster but with an open leg in history are still in a
        call that began before this service did: bring their talk time and turns along."""
        rooms = tuple(rooms)
        new = {
            (room.room, person.channel)
            for room in rooms
            for person in room.participants
            if self.switchboard.room_of(person.channel) != room.room
        }
        if not new:
            return rooms
        earlier = await self._earlier_totals(new)
        return tuple(
            replace(
                room,
                participants=tuple(
                    _with_totals(p, earlier.get((room.room, p.channel))) for p in room.participants
                ),
            )
            for room in rooms
        )


def _with_totals(person: SeenParticipant, totals: tuple[float, int] | None) -> SeenParticipant:
    if totals is None:
        return person
    return replace(person, earlier_talk_time=totals[0], earlier_turns=totals[1])
