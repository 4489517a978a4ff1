"""The first-time speakers' share of the talk so far in one call, live: the talk time of
each person's first turn on the floor over all the talk heard in the call. The post-call
report computes the same figure from history (``bridge.reports.build``, basis "turns");
this keeps it as the call goes, from the turns as they start and end and the roster's
talk time (the caller of each method passes it: this module reads no clock or roster)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class FirstTimeShare:
    spoken: set[str] = field(default_factory=set)  # people who have had the floor
    first_talk: float = 0.0  # seconds heard in first turns that have ended
    running: tuple[str, float] | None = None  # a first turn under way: channel, talk at start
    gone_talk: float = 0.0  # the talk of those who left

    def turn_started(self, person: str, channel: str, talk_so_far: float) -> None:
        """``person`` has the floor on ``channel``; their talk so far is ``talk_so_far``."""
        first = person not in self.spoken
        self.spoken.add(person)
        self.running = (channel, talk_so_far) if first else None

    def turn_ended(self, channel: str, talk_so_far: float) -> None:
        if self.running is not None and self.running[0] == channel:
            self.first_talk += max(0.0, talk_so_far - self.running[1])
            self.running = None

    def left(self, talk: float) -> None:
        """Someone left, having talked ``talk`` seconds in this call."""
        self.gone_talk += talk

    def share(self, present_talk: float, talk_of: Callable[[str], float]) -> float | None:
        """The share (0 to 1) given the talk of those in the room now; None: nobody has
        talked yet. ``talk_of(channel)`` is the talk so far of a first turn's speaker."""
        first = self.first_talk
        if self.running is not None:
            channel, at_start = self.running
            first += max(0.0, talk_of(channel) - at_start)
        total = self.gone_talk + present_talk
        return None if total <= 0 else min(1.0, first / total)
