"""The stack as moderators see it (``stack show``), and its ``--json`` object."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bridge.domain.rooms import QueuePolicy
from bridge.domain.speakers.model import Lane


@dataclass(frozen=True)
class SpeakerView:
    channel: str
    caller_id: str
    lane: Lane | None
    started_at: float
    seconds_left: int | None  # None: no limit


@dataclass(frozen=True)
class PlaceView:
    place: int
    channel: str
    caller_id: str
    lane: Lane
    reason: str
    priority: bool


@dataclass(frozen=True)
class StackView:
    room: str
    policy: QueuePolicy
    speaker: SpeakerView | None
    queue: tuple[PlaceView, ...]  # in serving order

    def as_json(self) -> dict[str, Any]:
        """The ``stack show --json`` object."""
        speaker = self.speaker
        return {
            "room": self.room,
            "policy": str(self.policy),
            "speaker": None
            if speaker is None
            else {
                "channel": speaker.channel,
                "caller_id": speaker.caller_id,
                "lane": None if speaker.lane is None else str(speaker.lane),
                "started_at": speaker.started_at,
                "seconds_left": speaker.seconds_left,
            },
            "queue": [
                {
                    "place": p.place,
                    "channel": p.channel,
                    "caller_id": p.caller_id,
                    "lane": str(p.lane),
                    "reason": p.reason,
                    "priority": p.priority,
                }
                for p in self.queue
            ],
        }
