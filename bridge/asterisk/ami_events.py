"""AMI in: Asterisk's events and list replies turned into domain events.

Only what the roster needs is read; everything else is ignored here, not in the domain.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from bridge.asterisk import recorder
from bridge.asterisk.announcer import is_announcer
from bridge.domain.breakouts import split_conference
from bridge.domain.events import (
    CallArrived,
    CallHandedOver,
    CallHungUp,
    DomainEvent,
    HangupRequested,
    LeaveReason,
    MuteChanged,
    ParticipantJoined,
    ParticipantLeft,
    RecordingChanged,
    Role,
    RoomEnded,
    RoomStarted,
    SeenParticipant,
    TalkingChanged,
)

# Where a caller on the shared number lands: with one Asterisk, or (several nodes) relayed by
# Kamailio (dialplan/nodes/extensions-nodes.conf).
ENTRY_CONTEXTS = frozenset({"iobridge-entry", "iobridge-from-proxy"})
# Where a big room's link between two nodes runs (dialplan/nodes/extensions-nodes.conf): a
# link is never a participant, on either node (docs/admin.md, "Big rooms").
LINK_CONTEXT = "iobridge-link"

# The events ``to_domain`` reads, the two the AMI link itself waits for (Asterisk's
# FullyBooted; OriginateResponse, the answer to an asynchronous Originate), and ChanSpyStart,
# on which a whisper's prompt starts (``conference.WhisperStarts``). manager.conf lets the
# service's AMI user hear these alone (``config_files`` renders the filters).
ROSTER_EVENTS = (
    "Newchannel",
    "DialBegin",
    "HangupRequest",
    "Hangup",
    "ConfbridgeStart",
    "ConfbridgeEnd",
    "ConfbridgeJoin",
    "ConfbridgeLeave",
    "ConfbridgeMute",
    "ConfbridgeUnmute",
    "ConfbridgeTalking",
    "ConfbridgeRecord",
    "ConfbridgeStopRecord",
)
EVENTS_READ = ("FullyBooted", "OriginateResponse", "ChanSpyStart", *ROSTER_EVENTS)

# Q.931/Q.850 causes (Asterisk's causes.h) that mean the call died rather than was ended:
# 18 no user responding (chan_pjsip's cause for SIP 408: a session refresh unanswered,
# or the session expired), 19 no answer, 44 requested channel unavailable (RTP timeout,
# res_pjsip_sdp_rtp), 102 recovery on timer expiry (SIP 504).
TIMED_OUT_CAUSES = frozenset({18, 19, 44, 102})
# SIP's own answers to a refresh that mean the dialog is gone (HangupRequest's TechCause):
# 408 request timeout, 481 call/transaction does not exist (the phone restarted).
TIMED_OUT_SIP_CODES = frozenset({408, 481})


def _yes(value: Any) -> bool:
    return str(value).strip().lower() in ("yes", "true", "1", "on")


def event_time(message: Mapping[str, Any]) -> float:
    """Asterisk's own time for the event (manager.conf timestampevents), else ours."""
    try:
        return float(message.get("Timestamp") or time.time())
    except (TypeError, ValueError):
        return time.time()


def _role(message: Mapping[str, Any]) -> Role:
    return Role.MODERATOR if _yes(message.get("Admin", "No")) else Role.PARTICIPANT


def _known(value: Any) -> str:
    """Asterisk writes <unknown> where a caller sent no number or name."""
    text = str(value or "")
    return "" if text == "<unknown>" else text


def _caller_id(message: Mapping[str, Any]) -> str:
    return _known(message.get("CallerIDNum") or message.get("CallerIDnum"))


def _number(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def leave_reason(message: Mapping[str, Any]) -> LeaveReason:
    """Why Asterisk hung a channel up, from a Hangup or HangupRequest event's causes."""
    if _number(message.get("Cause")) in TIMED_OUT_CAUSES:
        return LeaveReason.TIMED_OUT
    if _number(message.get("TechCause")) in TIMED_OUT_SIP_CODES:
        return LeaveReason.TIMED_OUT
    return LeaveReason.HUNG_UP


def is_link(message: Mapping[str, Any]) -> bool:
    """An event or list line of a big room's link channel (on either of its nodes)."""
    return message.get("Context") == LINK_CONTEXT


def to_domain(message: Mapping[str, Any]) -> DomainEvent | None:
    """One AMI event as a domain event, or None when the roster has no use for it."""
    if is_link(message):
        return None
    name = str(message.get("Event", ""))
    at = event_time(message)
    # A breakout group's conference (``ROOM~group-1``) is part of its room.
    room, group = split_conference(str(message.get("Conference", "")))
    channel = str(message.get("Channel", ""))
    if is_announcer(channel):
        return None  # the bridge's own announcer is never a participant
    if recorder.is_recorder(channel):
        return _recorder_event(name, room, at)
    match name:
        case "Newchannel":
            if message.get("Context") not in ENTRY_CONTEXTS:
                return None
            return CallArrived(channel, _caller_id(message), at)
        case "DialBegin":  # only the hand-over to the room's node dials (several nodes)
            return CallHandedOver(channel, at)
        case "HangupRequest":  # comes before the channel leaves its room
            return HangupRequested(channel, leave_reason(message), at)
        case "Hangup":
            return CallHungUp(channel, at, leave_reason(message))
        case "ConfbridgeStart":
            return RoomStarted(room, at) if group is None else None
        case "ConfbridgeEnd":
            return RoomEnded(room, at) if group is None else None
        case "ConfbridgeJoin":
            return ParticipantJoined(
                room=room,
                channel=channel,
                caller_id=_caller_id(message),
                role=_role(message),
                muted=_yes(message.get("Muted", "No")),
                at=at,
                caller_name=_known(message.get("CallerIDName")),
                group=group,
            )
        case "ConfbridgeLeave":
            return ParticipantLeft(room, channel, at, group=group)
        case "ConfbridgeMute":
            return MuteChanged(room, channel, True, at)
        case "ConfbridgeUnmute":
            return MuteChanged(room, channel, False, at)
        case "ConfbridgeTalking":
            return TalkingChanged(room, channel, _yes(message.get("TalkingStatus")), at)
        case "ConfbridgeRecord":
            return RecordingChanged(room, True, at)
        case "ConfbridgeStopRecord":
            return RecordingChanged(room, False, at)
    return None


def _recorder_event(name: str, room: str, at: float) -> DomainEvent | None:
    """The bridge's recorder is no participant: its join and leave are the recording's."""
    match name:
        case "ConfbridgeJoin":
            return RecordingChanged(room, True, at)
        case "ConfbridgeLeave":
            return RecordingChanged(room, False, at)
    return None


def has_recorder(items: Sequence[Mapping[str, Any]]) -> bool:
    """Whether ConfbridgeList's events show the room's recorder in it."""
    return any(recorder.is_recorder(str(item.get("Channel", ""))) for item in items)


def seen_participants(
    items: Sequence[Mapping[str, Any]], group: str | None = None
) -> tuple[SeenParticipant, ...]:
    """Parse ConfbridgeList's events (one per participant) of a room's conference or of one
    of its breakout groups' (``group``)."""
    return tuple(
        SeenParticipant(
            channel=str(item.get("Channel", "")),
            caller_id=_caller_id(item),
            role=_role(item),
            muted=_yes(item.get("Muted", "No")),
            talking=_yes(item.get("Talking", "No")),
            caller_name=_known(item.get("CallerIDName")),
            group=group,
        )
        for item in items
        if item.get("Event") == "ConfbridgeList"
        and not is_link(item)
        and not is_announcer(str(item.get("Channel", "")))
        and not recorder.is_recorder(str(item.get("Channel", "")))
    )


def seen_links(items: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """A big room's link channels among ConfbridgeList's events (never participants)."""
    return tuple(
        str(item.get("Channel", ""))
        for item in items
        if item.get("Event") == "ConfbridgeList" and is_link(item)
    )


def seen_rooms(items: Sequence[Mapping[str, Any]]) -> list[tuple[str, bool]]:
    """Parse ConfbridgeListRooms's events: (room, locked)."""
    return [
        (str(item.get("Conference", "")), _yes(item.get("Locked", "No")))
        for item in items
        if item.get("Event") == "ConfbridgeListRooms"
    ]
