"""Why a caller left: Asterisk's hangup causes read by the AMI adapter, and the roster
putting what it learnt before a leave (a hangup request, the bridge's own kick) on it."""

from __future__ import annotations

import pytest

from bridge.asterisk.ami_events import leave_reason, to_domain
from bridge.domain.events import (
    CallHungUp,
    HangupRequested,
    LeaveReason,
    ParticipantJoined,
    ParticipantLeft,
    RemovalOrdered,
    Role,
    RoomEnded,
)
from bridge.domain.roster import LegClosed, LegReasonCorrected, Switchboard

ROOM = "assembly"
ALICE = "PJSIP/anonymous-00000001"
BOB = "PJSIP/anonymous-00000002"
T = 1_764_100_000.0


def board_with(*channels: str) -> Switchboard:
    board = Switchboard()
    for channel in channels:
        board.apply(ParticipantJoined(ROOM, channel, f"cid-{channel}", Role.PARTICIPANT, True, T))
    return board


def reason_of_leave(board: Switchboard, channel: str, at: float = T + 60) -> LeaveReason | None:
    """Apply a leave as the live roster does (explained first); the leg's reason."""
    event = board.explain(ParticipantLeft(ROOM, channel, at))
    [closed] = board.apply(event)
    assert isinstance(closed, LegClosed) and isinstance(event, ParticipantLeft)
    assert closed.reason == event.reason  # history and subscribers hear the same
    return closed.reason


# ---- Asterisk's causes -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("causes", "reason"),
    [
        ({"Cause": "16", "Cause-txt": "Normal Clearing"}, LeaveReason.HUNG_UP),
        ({}, LeaveReason.HUNG_UP),  # a BYE: chan_pjsip queues the hangup with no cause
        ({"Cause": "18"}, LeaveReason.TIMED_OUT),  # SIP 408: a session refresh unanswered
        ({"Cause": "19"}, LeaveReason.TIMED_OUT),
        ({"Cause": "44"}, LeaveReason.TIMED_OUT),  # an RTP timeout, where one is set
        ({"Cause": "102"}, LeaveReason.TIMED_OUT),
        ({"Cause": "127", "TechCause": "481"}, LeaveReason.TIMED_OUT),  # dialog gone
        ({"Cause": "17"}, LeaveReason.HUNG_UP),  # busy: the caller's side ended it
        ({"Cause": "not a number"}, LeaveReason.HUNG_UP),
    ],
)
def test_asterisks_hangup_cause_says_whether_the_call_died_or_was_ended(
    causes: dict[str, str], reason: LeaveReason
) -> None:
    assert leave_reason(causes) == reason


def test_a_hangup_request_with_a_timer_cause_is_a_timed_out_request() -> None:
    message = {"Event": "HangupRequest", "Channel": ALICE, "Timestamp": str(T), "Cause": "18"}
    assert to_domain(message) == HangupRequested(ALICE, LeaveReason.TIMED_OUT, T)


def test_a_hangup_carries_its_cause_as_the_reason() -> None:
    message = {"Event": "Hangup", "Channel": ALICE, "Timestamp": str(T), "Cause": "102"}
    assert to_domain(message) == CallHungUp(ALICE, T, LeaveReason.TIMED_OUT)


def test_a_soft_hangup_request_is_not_read_its_cause_is_a_flag_not_a_q850_cause() -> None:
    message = {"Event": "SoftHangupRequest", "Channel": ALICE, "Timestamp": str(T), "Cause": "1"}
    assert to_domain(message) is None


# ---- the roster --------------------------------------------------------------------------


def test_a_caller_who_leaves_with_nothing_known_before_hung_up() -> None:
    assert reason_of_leave(board_with(ALICE), ALICE) == LeaveReason.HUNG_UP


def test_a_caller_whose_session_refresh_went_unanswered_timed_out() -> None:
    board = board_with(ALICE)
    board.apply(HangupRequested(ALICE, LeaveReason.TIMED_OUT, T + 59))
    assert reason_of_leave(board, ALICE) == LeaveReason.TIMED_OUT


def test_a_kicked_caller_was_kicked_whatever_their_channel_says_next() -> None:
    board = board_with(ALICE)
    board.apply(RemovalOrdered(ROOM, ALICE, LeaveReason.KICKED, T + 58))
    board.apply(HangupRequested(ALICE, LeaveReason.HUNG_UP, T + 59))
    assert reason_of_leave(board, ALICE) == LeaveReason.KICKED


def test_ending_the_call_kicks_everyone_in_the_room() -> None:
    board = board_with(ALICE, BOB)
    board.apply(RemovalOrdered(ROOM, None, LeaveReason.KICKED, T + 58))
    assert reason_of_leave(board, ALICE) == LeaveReason.KICKED
    assert reason_of_leave(board, BOB) == LeaveReason.KICKED


def test_a_kick_that_failed_is_forgotten() -> None:
    board = board_with(ALICE)
    board.apply(RemovalOrdered(ROOM, ALICE, LeaveReason.KICKED, T + 58))
    board.apply(RemovalOrdered(ROOM, ALICE, None, T + 58.5))
    assert reason_of_leave(board, ALICE) == LeaveReason.HUNG_UP


def test_a_kick_of_one_caller_says_nothing_about_another() -> None:
    board = board_with(ALICE, BOB)
    board.apply(RemovalOrdered(ROOM, ALICE, LeaveReason.KICKED, T + 58))
    assert reason_of_leave(board, BOB) == LeaveReason.HUNG_UP


def test_a_move_ordered_by_the_bridge_to_another_room_closes_the_leg_as_moved() -> None:
    board = board_with(ALICE)
    board.apply(RemovalOrdered(ROOM, ALICE, LeaveReason.MOVED, T + 58))
    assert board.apply(board.explain(ParticipantLeft(ROOM, ALICE, T + 59))) == []
    effects = board.apply(ParticipantJoined("other", ALICE, "cid", Role.PARTICIPANT, True, T + 60))
    assert [e.reason for e in effects if isinstance(e, LegClosed)] == [LeaveReason.MOVED]


def test_a_hangup_with_no_leave_seen_closes_the_leg_with_its_cause() -> None:
    board = board_with(ALICE)
    effects = board.apply(CallHungUp(ALICE, T + 60, LeaveReason.TIMED_OUT))
    assert [e.reason for e in effects if isinstance(e, LegClosed)] == [LeaveReason.TIMED_OUT]


def test_a_room_that_ends_under_someone_closes_their_leg_with_no_reason_known() -> None:
    board = board_with(ALICE)
    effects = board.apply(RoomEnded(ROOM, T + 60))
    assert [e.reason for e in effects if isinstance(e, LegClosed)] == [None]


def test_a_hangup_request_for_someone_in_no_room_changes_nothing() -> None:
    board = board_with(ALICE)
    assert board.apply(HangupRequested(BOB, LeaveReason.TIMED_OUT, T)) == []
    assert reason_of_leave(board, ALICE) == LeaveReason.HUNG_UP


def test_a_timer_cause_that_arrives_after_the_leave_corrects_the_legs_reason() -> None:
    """Asterisk publishes HangupRequest and ConfbridgeLeave on different topics: when it is
    busy the cause can come second. History then hears the reason late, once."""
    board = board_with(ALICE)
    assert reason_of_leave(board, ALICE) == LeaveReason.HUNG_UP
    late = board.apply(HangupRequested(ALICE, LeaveReason.TIMED_OUT, T + 61))
    assert late == [LegReasonCorrected(ROOM, ALICE, LeaveReason.TIMED_OUT)]
    assert board.apply(CallHungUp(ALICE, T + 62, LeaveReason.TIMED_OUT)) == []  # once


def test_a_late_ordinary_hangup_changes_nothing_and_a_kick_is_never_corrected() -> None:
    board = board_with(ALICE, BOB)
    reason_of_leave(board, ALICE)
    assert board.apply(CallHungUp(ALICE, T + 61, LeaveReason.HUNG_UP)) == []
    board.apply(RemovalOrdered(ROOM, BOB, LeaveReason.KICKED, T + 59))
    assert reason_of_leave(board, BOB) == LeaveReason.KICKED
    assert board.apply(CallHungUp(BOB, T + 62, LeaveReason.TIMED_OUT)) == []
