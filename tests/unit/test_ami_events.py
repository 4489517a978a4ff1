"""AMI in: Asterisk 22's events, with the headers it really sends, as domain events."""

from __future__ import annotations

import time
from typing import Any

import pytest
from panoramisk.message import Message

from bridge.asterisk.ami_events import (
    has_recorder,
    seen_links,
    seen_participants,
    seen_rooms,
    to_domain,
)
from bridge.domain.events import (
    CallArrived,
    CallHandedOver,
    CallHungUp,
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

STAMP = "1764100000.123456"
AT = 1764100000.123456
CHANNEL = "PJSIP/anonymous-00000003"

# What every ConfBridge event carries about the bridge (manager_bridges.c).
BRIDGE = {
    "Privilege": "call,all",
    "Timestamp": STAMP,
    "Conference": "ga",
    "BridgeUniqueid": "2c7b1a52-3c7e-4d0a-9f1e-0a3c5b7d9e11",
    "BridgeType": "base",
    "BridgeTechnology": "softmix",
    "BridgeCreator": "ConfBridge",
    "BridgeName": "ga",
    "BridgeNumChannels": "2",
    "BridgeVideoSourceMode": "none",
}

# ...and about the channel (ast_manager_build_channel_state_string).
CHANNEL_STATE = {
    "Channel": CHANNEL,
    "ChannelState": "6",
    "ChannelStateDesc": "Up",
    "CallerIDNum": "5551234",
    "CallerIDName": "Alice Example",
    "ConnectedLineNum": "<unknown>",
    "ConnectedLineName": "<unknown>",
    "Language": "en",
    "AccountCode": "",
    "Context": "iobridge-entry",
    "Exten": "1000",
    "Priority": "6",
    "Uniqueid": "1764099990.7",
    "Linkedid": "1764099990.7",
}


def confbridge(event: str, **extra: str) -> dict[str, str]:
    return {"Event": event, **BRIDGE, **CHANNEL_STATE, **extra}


def wire(headers: dict[str, str]) -> str:
    """The message as Asterisk writes it on the socket (without the blank line after it)."""
    return "\r\n".join(f"{key}: {value}" for key, value in headers.items())


# ---- events the roster uses -----------------------------------------------------------------


def test_a_join_is_a_participant_joining_with_who_they_are() -> None:
    message = confbridge("ConfbridgeJoin", Admin="No", Muted="No")
    assert to_domain(message) == ParticipantJoined(
        room="ga",
        channel=CHANNEL,
        caller_id="5551234",
        role=Role.PARTICIPANT,
        muted=False,
        at=AT,
        caller_name="Alice Example",
    )


def test_a_moderator_joining_is_an_admin_and_a_listener_joins_muted() -> None:
    moderator = to_domain(confbridge("ConfbridgeJoin", Admin="Yes", Muted="No"))
    listener = to_domain(confbridge("ConfbridgeJoin", Admin="No", Muted="Yes"))
    assert isinstance(moderator, ParticipantJoined)
    assert isinstance(listener, ParticipantJoined)
    assert (moderator.role, moderator.muted) == (Role.MODERATOR, False)
    assert (listener.role, listener.muted) == (Role.PARTICIPANT, True)


def test_a_join_without_admin_or_muted_headers_is_an_unmuted_participant() -> None:
    message = confbridge("ConfbridgeJoin")
    event = to_domain(message)
    assert isinstance(event, ParticipantJoined)
    assert (event.role, event.muted) == (Role.PARTICIPANT, False)


def test_a_leave_is_a_participant_leaving() -> None:
    assert to_domain(confbridge("ConfbridgeLeave", Admin="No")) == ParticipantLeft(
        "ga", CHANNEL, AT
    )


@pytest.mark.parametrize(
    ("event", "muted"), [("ConfbridgeMute", True), ("ConfbridgeUnmute", False)]
)
def test_mute_and_unmute_are_mute_changes(event: str, muted: bool) -> None:
    assert to_domain(confbridge(event, Admin="No")) == MuteChanged("ga", CHANNEL, muted, AT)


@pytest.mark.parametrize(("status", "on"), [("on", True), ("off", False)])
def test_talking_on_and_off_are_talking_changes(status: str, on: bool) -> None:
    message = confbridge("ConfbridgeTalking", TalkingStatus=status, Admin="No")
    assert to_domain(message) == TalkingChanged("ga", CHANNEL, on, AT)


def test_a_room_starting_and_ending() -> None:
    assert to_domain({"Event": "ConfbridgeStart", **BRIDGE}) == RoomStarted("ga", AT)
    assert to_domain({"Event": "ConfbridgeEnd", **BRIDGE}) == RoomEnded("ga", AT)


def test_recording_starting_and_stopping() -> None:
    assert to_domain({"Event": "ConfbridgeRecord", **BRIDGE}) == RecordingChanged("ga", True, AT)
    assert to_domain({"Event": "ConfbridgeStopRecord", **BRIDGE}) == RecordingChanged(
        "ga", False, AT
    )


RECORDER = "Local/ga-20261126-101010@iobridge-recorder-0000001a;2"


def test_the_bridges_recorder_joining_and_leaving_is_the_recording_starting_and_stopping() -> None:
    joined = confbridge("ConfbridgeJoin", Admin="Yes", Muted="Yes", Channel=RECORDER)
    left = confbridge("ConfbridgeLeave", Admin="Yes", Channel=RECORDER)
    assert to_domain(joined) == RecordingChanged("ga", True, AT)
    assert to_domain(left) == RecordingChanged("ga", False, AT)


@pytest.mark.parametrize("event", ["ConfbridgeMute", "ConfbridgeTalking", "Hangup", "Newchannel"])
def test_the_recorder_is_never_a_participant_or_a_call(event: str) -> None:
    assert to_domain(confbridge(event, Channel=RECORDER, TalkingStatus="on")) is None


@pytest.mark.parametrize(
    "channel",
    [
        "Local/ga@iobridge-recorder-0000001a;2",  # no time stamp: not a recording's name
        "Local/ga-20261126-101010@iobridge-entry-0000001a;2",
        "PJSIP/ga-20261126-101010@iobridge-recorder-0000001a;2",
    ],
)
def test_a_channel_only_looking_like_the_recorder_is_a_participant(channel: str) -> None:
    event = to_domain(confbridge("ConfbridgeJoin", Channel=channel))
    assert isinstance(event, ParticipantJoined)


def test_a_resync_lists_no_recorder_among_the_participants() -> None:
    items = [confbridge("ConfbridgeList"), confbridge("ConfbridgeList", Channel=RECORDER)]
    assert [p.channel for p in seen_participants(items)] == [CHANNEL]
    assert has_recorder(items) and not has_recorder(items[:1])


def test_a_new_channel_in_the_entry_context_is_a_call_on_the_shared_number() -> None:
    message = {
        "Event": "Newchannel",
        "Privilege": "call,all",
        "Timestamp": STAMP,
        **CHANNEL_STATE,
        "ChannelState": "4",
        "ChannelStateDesc": "Ring",
        "Priority": "1",
    }
    assert to_domain(message) == CallArrived(CHANNEL, "5551234", AT)


def test_a_caller_kamailio_relayed_to_a_node_is_a_call_on_the_shared_number() -> None:
    message = {"Event": "Newchannel", "Timestamp": STAMP, **CHANNEL_STATE}
    message["Context"] = "iobridge-from-proxy"
    assert to_domain(message) == CallArrived(CHANNEL, "5551234", AT)


def test_the_hand_over_to_the_rooms_node_dials_and_ends_the_call_on_the_shared_number() -> None:
    message = {
        "Event": "DialBegin",
        "Privilege": "call,all",
        "Timestamp": STAMP,
        **CHANNEL_STATE,
        "DestChannel": "PJSIP/iobridge-node-1-node-2-00000004",
        "DialString": "iobridge-join@iobridge-node-1-node-2",
    }
    assert to_domain(message) == CallHandedOver(CHANNEL, AT)


@pytest.mark.parametrize("context", ["default", "iobridge-entry-test", "", "from-internal"])
def test_a_new_channel_outside_the_entry_context_is_not_ours(context: str) -> None:
    message = {"Event": "Newchannel", "Timestamp": STAMP, **CHANNEL_STATE, "Context": context}
    assert to_domain(message) is None


def test_a_new_channel_with_no_context_is_not_ours() -> None:
    message = {"Event": "Newchannel", "Timestamp": STAMP, "Channel": CHANNEL}
    assert to_domain(message) is None


def test_a_hangup_is_a_call_hung_up() -> None:
    message = {
        "Event": "Hangup",
        "Privilege": "call,all",
        "Timestamp": STAMP,
        **CHANNEL_STATE,
        "Cause": "16",
        "Cause-txt": "Normal Clearing",
    }
    assert to_domain(message) == CallHungUp(CHANNEL, AT, LeaveReason.HUNG_UP)


@pytest.mark.parametrize(
    "message",
    [
        {"Event": "FullyBooted", "Privilege": "system,all", "Status": "Fully Booted"},
        {"Event": "VarSet", "Timestamp": STAMP, **CHANNEL_STATE, "Variable": "X", "Value": "1"},
        {"Event": "Newstate", "Timestamp": STAMP, **CHANNEL_STATE},
        {"Event": "DTMFEnd", "Timestamp": STAMP, **CHANNEL_STATE, "Digit": "6"},
        {"Event": "BridgeEnter", "Timestamp": STAMP, **CHANNEL_STATE},
        {"Event": "ConfbridgeList", **BRIDGE, **CHANNEL_STATE},
        {"Response": "Success", "Message": "Authentication accepted"},
        {},
    ],
    ids=lambda m: str(m.get("Event") or m.get("Response") or "empty"),
)
def test_events_the_roster_has_no_use_for_give_none(message: dict[str, str]) -> None:
    assert to_domain(message) is None


# ---- time -----------------------------------------------------------------------------------


def test_the_event_time_is_asterisks_timestamp() -> None:
    event = to_domain(confbridge("ConfbridgeLeave"))
    assert event is not None
    assert event.at == pytest.approx(AT, abs=1e-6)


@pytest.mark.parametrize("stamp", [None, "", "soon"])
def test_without_a_usable_timestamp_the_event_time_is_now(stamp: str | None) -> None:
    message: dict[str, Any] = confbridge("ConfbridgeLeave")
    if stamp is None:
        del message["Timestamp"]
    else:
        message["Timestamp"] = stamp
    before = time.time()
    event = to_domain(message)
    after = time.time()
    assert event is not None
    assert before <= event.at <= after


# ---- off the wire, through panoramisk -------------------------------------------------------


def test_a_message_parsed_by_panoramisk_gives_the_same_event() -> None:
    headers = confbridge("ConfbridgeJoin", Admin="Yes", Muted="No")
    message = Message.from_line(wire(headers))
    assert message is not None
    assert to_domain(message) == to_domain(headers)
    event = to_domain(message)
    assert isinstance(event, ParticipantJoined)
    assert (event.role, event.caller_name) == (Role.MODERATOR, "Alice Example")


def test_an_older_asterisks_callerid_spelling_still_gives_the_caller() -> None:
    message = {k: v for k, v in confbridge("ConfbridgeJoin").items() if k != "CallerIDNum"}
    message["CallerIDnum"] = "5551234"
    event = to_domain(message)
    assert isinstance(event, ParticipantJoined)
    assert event.caller_id == "5551234"


# ---- the resync lists -----------------------------------------------------------------------


def list_room(name: str, locked: str, parties: str) -> dict[str, str]:
    return {
        "Event": "ConfbridgeListRooms",
        "ActionID": "iobridge/1/1",
        "Conference": name,
        "Parties": parties,
        "Marked": "0",
        "Locked": locked,
        "Muted": "No",
    }


def list_member(channel: str, **fields: str) -> dict[str, str]:
    return {
        "Event": "ConfbridgeList",
        "ActionID": "iobridge/1/2",
        "Conference": "ga",
        "Admin": "No",
        "MarkedUser": "No",
        "WaitMarked": "No",
        "EndMarked": "No",
        "Waiting": "No",
        "Muted": "No",
        "Talking": "No",
        "AnsweredTime": "42",
        **CHANNEL_STATE,
        "Channel": channel,
        **fields,
    }


def test_the_list_of_rooms_gives_each_room_and_whether_it_is_locked() -> None:
    reply = [
        {"Response": "Success", "ActionID": "iobridge/1/1", "EventList": "start",
         "Message": "Confbridge conferences will follow"},
        list_room("ga", "No", "3"),
        list_room("board", "Yes", "1"),
        {"Event": "ConfbridgeListRoomsComplete", "ActionID": "iobridge/1/1",
         "EventList": "Complete", "ListItems": "2"},
    ]  # fmt: skip
    assert seen_rooms(reply) == [("ga", False), ("board", True)]


def test_no_rooms_is_an_empty_list() -> None:
    assert seen_rooms([]) == []


def test_the_list_of_a_room_gives_each_participant() -> None:
    reply = [
        {"Response": "Success", "ActionID": "iobridge/1/2", "EventList": "start",
         "Message": "Confbridge user list will follow"},
        list_member("PJSIP/anonymous-00000003", CallerIDNum="5551234",
                    CallerIDName="Alice Example", Admin="Yes"),
        list_member("PJSIP/anonymous-00000004", CallerIDNum="5556789", CallerIDName="Bob",
                    Muted="Yes", Talking="Yes"),
        list_member("PJSIP/anonymous-00000005", CallerIDNum="5550000", CallerIDName="",
                    Talking="Yes"),
        {"Event": "ConfbridgeListComplete", "ActionID": "iobridge/1/2",
         "EventList": "Complete", "ListItems": "3"},
    ]  # fmt: skip
    assert seen_participants(reply) == (
        SeenParticipant(
            "PJSIP/anonymous-00000003", "5551234", Role.MODERATOR, False, False, "Alice Example"
        ),
        SeenParticipant("PJSIP/anonymous-00000004", "5556789", Role.PARTICIPANT, True, True, "Bob"),
        SeenParticipant("PJSIP/anonymous-00000005", "5550000", Role.PARTICIPANT, False, True, ""),
    )


def test_the_lists_read_the_same_off_the_wire() -> None:
    rooms = [Message.from_line(wire(list_room("ga", "Yes", "1")))]
    people = [Message.from_line(wire(list_member(CHANNEL, Admin="Yes", Talking="Yes")))]
    assert seen_rooms(rooms) == [("ga", True)]
    assert seen_participants(people) == (
        SeenParticipant(CHANNEL, "5551234", Role.MODERATOR, False, True, "Alice Example"),
    )


def test_an_unknown_caller_id_is_empty_not_the_word_unknown() -> None:
    event = to_domain(
        confbridge("ConfbridgeJoin", CallerIDNum="<unknown>", CallerIDName="<unknown>")
    )
    assert isinstance(event, ParticipantJoined)
    assert (event.caller_id, event.caller_name) == ("", "")


def test_a_resync_lists_a_big_rooms_links_apart_from_its_participants() -> None:
    link = "PJSIP/iobridge-node-1-node-2-0000001a"
    items = [
        confbridge("ConfbridgeList"),
        confbridge("ConfbridgeList", Channel=link, Context="iobridge-link"),
    ]
    assert [p.channel for p in seen_participants(items)] == [CHANNEL]
    assert seen_links(items) == (link,)
