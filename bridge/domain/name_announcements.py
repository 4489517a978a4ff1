"""What a room hears of its callers' names (``announce_names``): the rule of the queue of
names waiting for the room's announcer, pure.

The announcer plays one thing at a time to the whole room, about 5 s a name. Names come one
by one while few are waiting; in a burst (a call starting, a hundred dialling in at once)
reading every name would keep the room listening for minutes to news of people who are long
in. So, each time the announcer is free:

- while at most ``NAMES_IN_A_ROW`` are waiting, and none has waited over ``STALE_AFTER``
  seconds, the oldest name is played ("Alex, Oakland, has joined");
- otherwise everything waiting is folded into one count ("12 callers have joined, 3 have
  left"), and names resume with whoever comes after.

Every join and leave is heard, by name or in a count; none is dropped unsaid.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

NAMES_IN_A_ROW = 3  # names waiting that are still played one by one
STALE_AFTER = 20.0  # seconds a name may wait and still be played by name


@dataclass(frozen=True)
class WaitingName:
    """A caller's recorded name waiting to be announced: their join or their leave."""

    channel: str
    file: str
    joined: bool
    at: float  # when they joined or left (monotonic seconds)


@dataclass(frozen=True)
class NameCount:
    """Joins and leaves folded into one announcement; ``names`` are those folded in."""

    joined: int
    left: int
    names: tuple[WaitingName, ...]


Announcement = WaitingName | NameCount


class NameQueue:
    """One room's names waiting for its announcer."""

    def __init__(self, in_a_row: int = NAMES_IN_A_ROW, stale_after: float = STALE_AFTER) -> None:
        if in_a_row < 1 or stale_after <= 0:
            raise ValueError("names are played one by one while at least one waits, briefly")
        self.in_a_row = in_a_row
        self.stale_after = stale_after
        self._waiting: deque[WaitingName] = deque()

    def __len__(self) -> int:
        return len(self._waiting)

    def add(self, name: WaitingName) -> None:
        self._waiting.append(name)

    def next(self, now: float) -> Announcement | None:
        """What the announcer plays next, taken off the queue; None when nothing waits."""
        if not self._waiting:
            return None
        oldest = self._waiting[0]
        if len(self._waiting) <= self.in_a_row and now - oldest.at <= self.stale_after:
            return self._waiting.popleft()
        names = tuple(self._waiting)
        self._waiting.clear()
        joined = sum(1 for name in names if name.joined)
        return NameCount(joined=joined, left=len(names) - joined, names=names)

    def clear(self) -> tuple[WaitingName, ...]:
        """Forget every name waiting (the room ended); those forgotten."""
        names = tuple(self._waiting)
        self._waiting.clear()
        return names
