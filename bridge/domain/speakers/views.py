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
    raised_at: float  # when they asked for this lane: how long they have waited


@dataclass(frozen=True)
class StackView:
    room: str
    policy: QueuePolicy
    speaker: SpeakerView | None
    queue: tuple[PlaceView, ...]  # in serving order
    speaking_time_limit: float = 0.0  # seconds, as set now (the room's, or a moderator's)
    auto_advance: bool = False

    def as_json(self) -> dict[str, Any]:
        """The ``stack show --json`` object."""
        speaker = self.speaker
        return {
            "room": self.room,
            "policy": str(self.policy),
            "speaking_time_limit": round(self.speaking_time_limit),
            "auto_advance": self.auto_advance,
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
                    "raised_at": p.raised_at,
                }
                for p in self.queue
            ],
        }
