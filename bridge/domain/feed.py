"""The push feed for scripts: what happened in a room, as events a script can act on
(``GET /api/v1/events`` and the webhooks). Pure: a translation of the roster's events and
effects and of the speaker stack's views, and the signature a webhook carries.

Adding a kind: one line in ``Kind`` and the case that makes it, below or in the feature's
own translation (polls, dial-out and breakouts will bring theirs).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from bridge.domain.events import DomainEvent, RecordingChanged, Resynced
from bridge.domain.roster import CallClosed, CallOpened, Effect, LegClosed, LegOpened
from bridge.domain.speakers import StackView


class Kind(StrEnum):
    CALL_STARTED = "call.started"
    CALL_ENDED = "call.ended"
    PARTICIPANT_JOINED = "participant.joined"
    PARTICIPANT_LEFT = "participant.left"
    HAND_RAISED = "hand.raised"
    HAND_LOWERED = "hand.lowered"
    SPEAKER_CHANGED = "speaker.changed"
    RECORDING_STARTED = "recording.started"
    RECORDING_STOPPED = "recording.stopped"


@dataclass(frozen=True)
class FeedEvent:
    kind: Kind
    room: str
    at: float  # seconds since the epoch, as on the domain events
    data: Mapping[str, Any] = field(default_factory=dict)

    def as_json(self, event_id: str) -> dict[str, Any]:
        """The object a script receives (SSE ``data:`` and the webhook's body)."""
        return {
            "id": event_id,
            "kind": str(self.kind),
            "room": self.room,
            "at": datetime.fromtimestamp(self.at, UTC).isoformat(timespec="milliseconds"),
            "data": dict(self.data),
        }


# The data fields that carry a caller's number (a phone's name may be the number too).
NUMBER_FIELDS = ("caller_id", "caller_name")


def shown_event(event: FeedEvent, shown: Callable[[str], str]) -> FeedEvent:
    """``event`` with the callers' numbers in its data as ``shown`` gives them (a room's
    assistant reads "+1 555 *** **23": ``bridge.service.room_view.numbers_for``)."""
    data = {
        key: shown(value) if key in NUMBER_FIELDS and isinstance(value, str) else value
        for key, value in event.data.items()
    }
    return replace(event, data=data)


def from_roster(event: DomainEvent, effects: Sequence[Effect]) -> list[FeedEvent]:
    """What the roster did with ``event`` (its history effects say it exactly: a join seen
    twice opens one leg, a resync closes the ghosts), and the recording's changes.
    Events a resync made (the service restarted, or the AMI link came back) say so."""
    resync = {"resync": True} if isinstance(event, Resynced) else {}
    found: list[FeedEvent] = []
    for effect in effects:
        match effect:
            case CallOpened():
                found.append(FeedEvent(Kind.CALL_STARTED, effect.room, effect.at, resync))
            case CallClosed():
                found.append(FeedEvent(Kind.CALL_ENDED, effect.room, effect.at, resync))
            case LegOpened():
                joined = {
                    "channel": effect.channel,
                    "caller_id": effect.caller_id,
                    "caller_name": effect.caller_name,
                    "role": str(effect.role),
                    **resync,
                }
                found.append(FeedEvent(Kind.PARTICIPANT_JOINED, effect.room, effect.at, joined))
            case LegClosed():
                left = {
                    "channel": effect.channel,
                    "reason": None if effect.reason is None else str(effect.reason),
                    "talk_time": round(effect.talk_time, 2),
                    "turns": effect.turns,
                    **resync,
                }
                found.append(FeedEvent(Kind.PARTICIPANT_LEFT, effect.room, effect.at, left))
    if isinstance(event, RecordingChanged):
        kind = Kind.RECORDING_STARTED if event.recording else Kind.RECORDING_STOPPED
        found.append(FeedEvent(kind, event.room, event.at))
    return found


def from_stack(before: StackView | None, after: StackView | None, at: float) -> list[FeedEvent]:
    """What changed between two views of one room's stack: hands raised and lowered (in
    any lane), the floor given or taken. No view before (the stack was just opened or
    restored) is where counting starts; no view after (the call is over) says nothing
    more than the call's end does."""
    if before is None or after is None:
        return []
    room = after.room
    was = {place.channel: place for place in before.queue}
    now = {place.channel: place for place in after.queue}
    speaker = after.speaker.channel if after.speaker else None
    found = [
        FeedEvent(
            Kind.HAND_LOWERED,
            room,
            at,
            {
                "channel": place.channel,
                "caller_id": place.caller_id,
                "lane": str(place.lane),
                "called": place.channel == speaker,
            },
        )
        for place in before.queue
        if place.channel not in now
    ]
    previous = before.speaker.channel if before.speaker else None
    if speaker != previous:
        given = after.speaker
        found.append(
            FeedEvent(
                Kind.SPEAKER_CHANGED,
                room,
                at,
                {
                    "channel": speaker,
                    "caller_id": given.caller_id if given else None,
                    "lane": str(given.lane) if given and given.lane else None,
                    "previous": previous,
                },
            )
        )
    found += [
        FeedEvent(
            Kind.HAND_RAISED,
            room,
            at,
            {
                "channel": place.channel,
                "caller_id": place.caller_id,
                "lane": str(place.lane),
                "place": place.place,
            },
        )
        for place in after.queue
        if place.channel not in was
    ]
    return found


# ---- webhooks' signatures ------------------------------------------------------------------

SIGNATURE_HEADER = "X-IOBridge-Signature"
TIMESTAMP_HEADER = "X-IOBridge-Timestamp"
EVENT_HEADER = "X-IOBridge-Event"


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """The value of ``X-IOBridge-Signature``: ``sha256=`` and the HMAC-SHA256, keyed by the
    webhook's secret, of the timestamp header's value, a dot, and the body. The timestamp
    is signed so that a receiver that refuses old timestamps refuses replays too."""
    signed = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret, signed, hashlib.sha256).hexdigest()


def signature_holds(secret: bytes, timestamp: str, body: bytes, presented: str) -> bool:
    """A receiver's check (the docs show the same in a few lines)."""
    try:
        expected = signature(secret, int(timestamp), body)
    except ValueError:
        return False
    return hmac.compare_digest(expected, presented)
