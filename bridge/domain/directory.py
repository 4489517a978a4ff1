"""The directory of calls: what ``/calls`` and ``/calls.ics`` list, for anyone, without a
login. Only rooms marked ``public``; for each, its next calls (from its schedule), the
numbers that lead to it, and its participant PIN only when the room says ``show_pin`` and
the clear PIN is known (it comes from the rooms file: the database has only hashes).
Never a moderator PIN, never a room that is not public. Pure: the time is an argument."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bridge.domain.rooms import RoomSpec
from bridge.domain.schedule import Occurrence
from bridge.domain.trunks import TrunkSpec

CALLS_PER_ROOM = 4  # the next calls of each room on the page and in the feed
HORIZON = timedelta(days=92)  # and none further ahead than this


@dataclass(frozen=True)
class DialIn:
    """A number that leads to a room: to the PIN prompt, or straight into it."""

    number: str
    pin_needed: bool = True


@dataclass(frozen=True)
class ListedCall:
    """One line of the directory: a room's call (or a room open at any time)."""

    room: str
    title: str
    zone: str | None  # the room's time zone; None for a room without a schedule
    occurrence: Occurrence | None  # None: the room has no schedule (open at any time)
    numbers: tuple[DialIn, ...]
    pin: str | None  # only for a room with show_pin, when the clear PIN is known

    def live(self, now: datetime) -> bool:
        return self.occurrence is not None and self.occurrence.live(now)


def dial_ins(room: str, trunks: Iterable[TrunkSpec]) -> tuple[DialIn, ...]:
    """The trunks' numbers that lead to ``room``: its own first, then the shared ones."""
    own = [DialIn(n.number, n.pin_required) for t in trunks for n in t.numbers if n.room == room]
    shared = [DialIn(n.number) for t in trunks for n in t.numbers if n.room is None]
    return tuple(dict.fromkeys(own + shared))


def listing(
    rooms: Iterable[RoomSpec],
    trunks: Iterable[TrunkSpec],
    pins: Mapping[str, str],
    now: datetime,
) -> list[ListedCall]:
    """The directory at ``now``: the public rooms' next calls, soonest first (a live one
    before all), then the public rooms without a schedule, by title. ``pins``: the clear
    participant PINs the caller knows, by room; used only where the room says show_pin."""
    trunks = tuple(trunks)
    scheduled: list[ListedCall] = []
    any_time: list[ListedCall] = []
    for room in rooms:
        if not room.public:
            continue
        pin = pins.get(room.name) if room.show_pin else None
        numbers = dial_ins(room.name, trunks)
        if room.schedule is None:
            any_time.append(ListedCall(room.name, room.title, None, None, numbers, pin))
            continue
        for occurrence in room.schedule.upcoming(now, CALLS_PER_ROOM):
            if occurrence.start_utc - now > HORIZON:
                break
            scheduled.append(
                ListedCall(room.name, room.title, room.schedule.tz, occurrence, numbers, pin)
            )
    scheduled.sort(key=lambda c: (c.occurrence.start_utc if c.occurrence else now, c.title))
    return scheduled + sorted(any_time, key=lambda c: c.title)
