"""Points of process (*7) from one caller, at most one per the room's
``process_key_interval``: a caller who presses *7 again and again to jump the stack is
held back, and hears why. Only raising counts: withdrawing a point of process (*7 again
while queued for one) is never held back."""

from __future__ import annotations

import math


class ProcessThrottle:
    def __init__(self) -> None:
        self._raised: dict[tuple[str, str], float] = {}  # (room, person) -> when, last

    def wait(self, room: str, person: str, at: float, interval: float) -> int:
        """Seconds before ``person`` may raise a point of process in ``room`` again; 0: now."""
        last = self._raised.get((room, person))
        if interval > 0 and last is not None and at - last < interval:
            return math.ceil(interval - (at - last))
        return 0

    def raised(self, room: str, person: str, at: float) -> None:
        """``person`` raised one at ``at``: the interval runs from there."""
        self._raised[(room, person)] = at

    def forget(self, room: str) -> None:
        """The room's call ended."""
        self._raised = {key: at for key, at in self._raised.items() if key[0] != room}
