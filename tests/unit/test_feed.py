"""The push feed's events, translated from the roster and the speaker stack, and the
webhooks' signature. Pure: a switchboard and a stack driven as the service drives them."""

from __future__ import annotations

import hashlib
import hmac
import json

from hypothesis import given, strategies as st

from bridge.domain.events import (
    LeaveReason,
    ParticipantJoined,
    ParticipantLeft,
    RecordingChanged,
    Resynced,
    Role,
    RoomEnded,
    SeenParticipant,
    SeenRoom,
)
from bridge.domain.feed import (
    FeedEvent,
    Kind,
    from_roster,
    from_stack,
    shown_event,
    signature,
    signature_holds,
)
from bridge.domain.privacy import mask_number
from bridge.domain.roster import Switchboard
from bridge.domain.speakers import Key, SpeakerStack

ROOM = "assembly"
ALICE = "PJSIP/anonymous-00000001"
BOB = "PJSIP/anonymous-00000002"
T = 1_764_100_000.0


def applied(board: Switchboard, event: object) -> list[tuple[str, dict[str, object]]]:
    """Apply as the live roster does; the feed's kinds and data."""
    event = board.explain(event)  # type: ignore[arg-type]
    effects = board.apply(event)  # type: ignore[arg-type]
    return [(str(e.kind), dict(e.data)) for e in from_roster(event, effects)]  # type: ignore[arg-type]


def joined(channel: str, at: float = T) -> ParticipantJoined:
    return ParticipantJoined(ROOM, channel, f"cid-{channel[-1]}", Role.PARTICIPANT, True, at, "Al")


def test_the_first_join_starts_the_call_and_a_join_seen_twice_is_one_join() -> None:
    board = Switchboard()
    first = applied(board, joined(ALICE))
    assert [kind for kind, _ in first] == ["call.started", "participant.joined"]
    assert first[1][1] == {
        "channel": ALICE,
        "caller_id": "cid-1",
        "caller_name": "Al",
        "role": "participant",
    }
    assert applied(board, joined(ALICE, T + 1)) == []


def test_a_leave_carries_its_reason_and_the_last_leave_is_not_the_end_of_the_call() -> None:
    board = Switchboard()
    applied(board, joined(ALICE))
    left = applied(board, ParticipantLeft(ROOM, ALICE, T + 30, LeaveReason.TIMED_OUT))
    assert left == [
        (
            "participant.left",
            {"channel": ALICE, "reason": "timed out", "talk_time": 0.0, "turns": 0},
        )
    ]
    assert applied(board, RoomEnded(ROOM, T + 31)) == [("call.ended", {})]


def test_a_call_ended_with_people_in_it_says_each_of_them_left_first() -> None:
    board = Switchboard()
    applied(board, joined(ALICE))
    applied(board, joined(BOB))
    kinds = [kind for kind, _ in applied(board, RoomEnded(ROOM, T + 60))]
    assert kinds == ["participant.left", "participant.left", "call.ended"]


def test_recording_started_and_stopped() -> None:
    board = Switchboard()
    applied(board, joined(ALICE))
    assert applied(board, RecordingChanged(ROOM, True, T + 1)) == [("recording.started", {})]
    assert applied(board, RecordingChanged(ROOM, False, T + 2)) == [("recording.stopped", {})]


def test_what_a_resync_finds_is_marked_as_found_by_a_resync() -> None:
    board = Switchboard()
    seen = SeenRoom(ROOM, False, (SeenParticipant(ALICE, "cid-1", Role.PARTICIPANT, True, False),))
    found = applied(board, Resynced((seen,), T))
    assert [kind for kind, _ in found] == ["call.started", "participant.joined"]
    assert all(data["resync"] is True for _, data in found)


def stack_with(*channels: str) -> SpeakerStack:
    stack = SpeakerStack(ROOM)
    for channel in channels:
        stack.join(channel, f"cid-{channel[-1]}", Role.PARTICIPANT, T)
    return stack


def test_a_raised_hand_then_called_on_is_lowered_and_given_the_floor() -> None:
    stack = stack_with(ALICE, BOB)
    before = stack.show(T)
    stack.press(ALICE, Key.HAND, T + 1)
    raised = stack.show(T + 1)
    [hand] = from_stack(before, raised, T + 1)
    assert (hand.kind, dict(hand.data)) == (
        Kind.HAND_RAISED,
        {"channel": ALICE, "caller_id": "cid-1", "lane": "stack", "place": 1},
    )
    stack.call_next(T + 2)
    called = from_stack(raised, stack.show(T + 2), T + 2)
    assert [(e.kind, e.data.get("called")) for e in called] == [
        (Kind.HAND_LOWERED, True),
        (Kind.SPEAKER_CHANGED, None),
    ]
    assert called[1].data == {
        "channel": ALICE,
        "caller_id": "cid-1",
        "lane": "stack",
        "previous": None,
    }


def test_a_withdrawn_hand_is_not_called_and_an_ended_turn_frees_the_floor() -> None:
    stack = stack_with(ALICE, BOB)
    stack.press(BOB, Key.HAND, T)
    stack.press(ALICE, Key.HAND, T)
    stack.call_next(T)  # BOB speaks
    waiting = stack.show(T)
    stack.press(ALICE, Key.HAND, T + 1)  # withdraws
    [lowered] = from_stack(waiting, after := stack.show(T + 1), T + 1)
    assert (lowered.kind, lowered.data["called"]) == (Kind.HAND_LOWERED, False)
    stack.end_turn(T + 2)
    [freed] = from_stack(after, stack.show(T + 2), T + 2)
    assert (freed.kind, freed.data["channel"], freed.data["previous"]) == (
        Kind.SPEAKER_CHANGED,
        None,
        BOB,
    )


def test_a_stack_seen_for_the_first_time_or_gone_says_nothing() -> None:
    stack = stack_with(ALICE)
    stack.press(ALICE, Key.HAND, T)
    assert from_stack(None, stack.show(T), T) == []
    assert from_stack(stack.show(T), None, T) == []


def test_an_event_reads_as_json_with_its_id_and_an_iso_time() -> None:
    board = Switchboard()
    started = from_roster(joined(ALICE), board.apply(joined(ALICE)))[0]
    assert json.loads(json.dumps(started.as_json("x-1"))) == {
        "id": "x-1",
        "kind": "call.started",
        "room": ROOM,
        "at": "2025-11-25T19:46:40.000+00:00",
        "data": {},
    }


def test_the_signature_is_the_hmac_of_the_timestamp_a_dot_and_the_body() -> None:
    body = b'{"kind":"call.started"}'
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature(b"s3cret", 1700000000, body) == f"sha256={expected}"


@given(st.binary(), st.integers(0, 2**40), st.binary(min_size=1))
def test_a_signature_holds_for_its_body_and_time_only(body: bytes, at: int, extra: bytes) -> None:
    signed = signature(b"key", at, body)
    assert signature_holds(b"key", str(at), body, signed)
    assert not signature_holds(b"key", str(at), body + extra, signed)
    assert not signature_holds(b"key", str(at + 1), body, signed)
    assert not signature_holds(b"other", str(at), body, signed)
    assert not signature_holds(b"key", "not a time", body, signed)


def test_an_event_shown_to_an_assistant_masks_the_numbers_in_its_data_and_nothing_else() -> None:
    event = FeedEvent(
        Kind.PARTICIPANT_JOINED,
        ROOM,
        1.0,
        {"channel": ALICE, "caller_id": "+15550100123", "caller_name": "+15550100123",
         "role": "participant"},
    )  # fmt: skip
    shown = shown_event(event, mask_number)
    assert shown.data == {
        **event.data, "caller_id": "+1 555 *** **23", "caller_name": "+1 555 *** **23"
    }  # fmt: skip
    speaker = FeedEvent(Kind.SPEAKER_CHANGED, ROOM, 1.0, {"channel": None, "caller_id": None})
    assert shown_event(speaker, mask_number) == speaker
