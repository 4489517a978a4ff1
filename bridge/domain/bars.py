"""Bars: a disruptor a host kicked and barred cannot dial back into that room, by their
number or (for a SIP caller) the address they call from, until the call ends or for a
number of minutes. Pure values: time comes in as an argument."""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_BAR_MINUTES = 24 * 60
ANONYMOUS = frozenset({"", "anonymous", "unknown", "restricted"})  # numbers that name nobody


def bar_keys(caller_id: str, source: str | None) -> frozenset[str]:
    """What a bar holds on to: the caller's number (if it names someone) and their source."""
    keys = set()
    if caller_id.strip().lower() not in ANONYMOUS:
        keys.add(f"number:{caller_id}")
    if source:
        keys.add(f"source:{source}")
    return frozenset(keys)


@dataclass
class RoomBars:
    """One room's bars: key -> until (None: until the room's call ends)."""

    until: dict[str, float | None] = field(default_factory=dict)

    def bar(self, keys: frozenset[str], until: float | None) -> None:
        for key in keys:
            self.until[key] = until

    def holds(self, keys: frozenset[str], now: float) -> bool:
        for key in keys & self.until.keys():
            until = self.until[key]
            if until is None or until > now:
                return True
            del self.until[key]
        return False

    def call_ended(self, now: float) -> None:
        """Bars "until the call ends" go; those for some minutes run on."""
        self.until = {k: u for k, u in self.until.items() if u is not None and u > now}
