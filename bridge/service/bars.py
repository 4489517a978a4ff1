"""Kick and bar: the bars of each room, consulted by the entry desk when a caller's PIN
opens a room (a barred caller hears that the room is locked), set by the ``bar`` action."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from bridge.domain.bars import MAX_BAR_MINUTES, RoomBars, bar_keys
from bridge.domain.events import DomainEvent, ParticipantLeft, RoomEnded
from bridge.domain.roster import Switchboard
from bridge.errors import NoSuchParticipant

REMEMBERED_SOURCES = 20_000  # admitted channels whose source is kept while they are in


class CallerBars:
    def __init__(self, switchboard: Switchboard, clock: Callable[[], float] = time.time) -> None:
        self.switchboard = switchboard
        self._clock = clock
        self._rooms: dict[str, RoomBars] = {}
        self._sources: OrderedDict[str, str] = OrderedDict()  # channel -> its source

    def admitted(self, channel: str, source: str | None) -> None:
        """The entry desk let ``channel`` in from ``source`` (None: no source of its own)."""
        if source is None:
            return
        self._sources[channel] = source
        self._sources.move_to_end(channel)
        while len(self._sources) > REMEMBERED_SOURCES:
            self._sources.popitem(last=False)

    def remembered(self) -> int:
        """How many callers' sources are kept (those in a room now, at most
        ``REMEMBERED_SOURCES``)."""
        return len(self._sources)

    def bar(self, room: str, channel: str, minutes: int | None) -> frozenset[str]:
        """Bar the caller on ``channel`` from ``room``; what the bar holds on to."""
        live = self.switchboard.room(room)
        person = live.participants.get(channel) if live else None
        if person is None:
            raise NoSuchParticipant(room, channel)
        keys = bar_keys(person.caller_id, self._sources.get(channel))
        minutes = None if minutes is None else min(minutes, MAX_BAR_MINUTES)
        until = None if minutes is None else self._clock() + 60 * minutes
        self._rooms.setdefault(room, RoomBars()).bar(keys, until)
        return keys

    def barred(self, room: str, caller_id: str, source: str | None) -> bool:
        bars = self._rooms.get(room)
        return bars is not None and bars.holds(bar_keys(caller_id, source), self._clock())

    def on_event(self, event: DomainEvent) -> None:
        if isinstance(event, ParticipantLeft):
            self._sources.pop(event.channel, None)  # a bar is set while they are in (``bar``)
        if isinstance(event, RoomEnded) and event.room in self._rooms:
            self._rooms[event.room].call_ended(self._clock())
