"""The speaker stack: keys, lanes, policies, the floor, the rejoin grace and the saved state.

Every test drives ``SpeakerStack`` as the service would (roster facts, keys, moderator commands,
ticks, each with its time) and looks at the effects and at ``show``. No clock, no loop, no I/O.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from bridge.domain.events import Role
from bridge.domain.rooms import QueuePolicy, RoomSpec
from bridge.domain.speakers import (
    AlreadyQueued,
    AlreadySpeaking,
    BadState,
    Effect,
    Heard,
    Key,
    Lane,
    Member,
    Mute,
    NoSpeaker,
    NotInRoom,
    NotQueued,
    PlaceOutOfLane,
    SpeakerStack,
    StackChanged,
    StackEmpty,
    StackRules,
    Tell,
    TurnEnd,
    TurnEnded,
    TurnStarted,
    Unmute,
    Warn,
    YouAreNext,
    person_of,
    records_from_history,
)

T = 1_764_100_000.0
GA = "ga"
ALICE, BOB, CAROL, DAVE, ERIN = (f"PJSIP/{n}-0000000{i}" for i, n in enumerate("abcde", 1))
MOD = "PJSIP/mod-00000009"
FIFO, PROGRESSIVE = QueuePolicy.FIFO, QueuePolicy.PROGRESSIVE


def cid(channel: str) -> str:
    return f"cid-{channel.split('/')[1].split('-')[0]}"


def room(
    *channels: str,
    policy: QueuePolicy = FIFO,
    moderators: tuple[str, ...] = (),
    **rules: Any,
) -> SpeakerStack:
    stack = SpeakerStack(GA, policy, StackRules(**rules))
    for channel in channels:
        stack.join(channel, cid(channel), Role.PARTICIPANT, T)
    for channel in moderators:
        stack.join(channel, cid(channel), Role.MODERATOR, T)
    return stack


def hands(stack: SpeakerStack, *channels: str, at: float = 1.0, key: Key = Key.HAND) -> None:
    for n, channel in enumerate(channels):
        stack.press(channel, key, T + at + n)


def queue(stack: SpeakerStack, at: float = 100.0) -> list[str]:
    return [p.channel for p in stack.show(T + at).queue]


def told(effects: list[Effect]) -> tuple[Heard, int | None]:
    tells = [e for e in effects if isinstance(e, Tell)]
    assert len(tells) == 1, effects
    return tells[0].heard, tells[0].place


def without_changed(effects: list[Effect]) -> list[Effect]:
    return [e for e in effects if not isinstance(e, StackChanged)]


# ---- the keypad -------------------------------------------------------------------------------


def test_raising_a_hand_tells_the_caller_their_place() -> None:
    stack = room(ALICE, BOB)
    assert stack.press(ALICE, Key.HAND, T + 1) == [
        Tell(GA, ALICE, Heard.HAND_RAISED, 1),
        StackChanged(GA),
    ]
    assert told(stack.press(BOB, Key.HAND, T + 2)) == (Heard.HAND_RAISED, 2)


def test_hands_are_served_in_the_order_they_were_raised_under_fifo() -> None:
    stack = room(ALICE, BOB, CAROL)
    hands(stack, CAROL, ALICE, BOB)
    assert queue(stack) == [CAROL, ALICE, BOB]


def test_pressing_star_nine_again_lowers_the_hand() -> None:
    stack = room(ALICE, BOB)
    hands(stack, ALICE, BOB)
    assert told(stack.press(ALICE, Key.HAND, T + 5)) == (Heard.HAND_LOWERED, None)
    assert queue(stack) == [BOB]


def test_star_one_tells_the_place_or_that_the_hand_is_not_raised() -> None:
    stack = room(ALICE, BOB, CAROL)
    hands(stack, ALICE, BOB)
    assert told(stack.press(BOB, Key.PLACE, T + 5)) == (Heard.PLACE, 2)
    assert told(stack.press(CAROL, Key.PLACE, T + 5)) == (Heard.NOT_QUEUED, None)


def test_star_one_changes_nothing_so_announces_no_change() -> None:
    stack = room(ALICE)
    hands(stack, ALICE)
    assert stack.press(ALICE, Key.PLACE, T + 5) == [Tell(GA, ALICE, Heard.PLACE, 1)]


def test_points_of_process_go_before_direct_responses_before_the_stack() -> None:
    stack = room(ALICE, BOB, CAROL)
    assert told(stack.press(ALICE, Key.HAND, T + 1)) == (Heard.HAND_RAISED, 1)
    assert told(stack.press(BOB, Key.DIRECT, T + 2)) == (Heard.DIRECT_RESPONSE, 1)
    assert told(stack.press(CAROL, Key.PROCESS, T + 3)) == (Heard.POINT_OF_PROCESS, 1)
    view = stack.show(T + 4)
    assert [(p.channel, p.lane) for p in view.queue] == [
        (CAROL, Lane.PROCESS),
        (BOB, Lane.DIRECT),
        (ALICE, Lane.STACK),
    ]


def test_pressing_star_eight_again_withdraws_the_direct_response() -> None:
    stack = room(ALICE)
    hands(stack, ALICE, key=Key.DIRECT)
    assert told(stack.press(ALICE, Key.DIRECT, T + 5)) == (Heard.HAND_LOWERED, None)
    assert queue(stack) == []


def test_star_eight_in_the_stack_moves_the_entry_to_the_back_of_the_direct_lane() -> None:
    stack = room(ALICE, BOB, CAROL)
    hands(stack, ALICE, BOB)
    hands(stack, CAROL, at=3, key=Key.DIRECT)
    assert told(stack.press(BOB, Key.DIRECT, T + 9)) == (Heard.DIRECT_RESPONSE, 2)
    view = stack.show(T + 10)
    assert [(p.channel, p.lane) for p in view.queue] == [
        (CAROL, Lane.DIRECT),
        (BOB, Lane.DIRECT),
        (ALICE, Lane.STACK),
    ]


def test_star_nine_withdraws_an_entry_in_any_lane() -> None:
    stack = room(ALICE, BOB)
    hands(stack, ALICE, key=Key.PROCESS)
    hands(stack, BOB, key=Key.DIRECT)
    assert told(stack.press(ALICE, Key.HAND, T + 5)) == (Heard.HAND_LOWERED, None)
    assert told(stack.press(BOB, Key.HAND, T + 5)) == (Heard.HAND_LOWERED, None)
    assert queue(stack) == []


def test_the_speakers_star_nine_ends_their_turn_and_mutes_them() -> None:
    stack = room(ALICE)
    stack.call(ALICE, T + 1)
    assert stack.press(ALICE, Key.HAND, T + 31) == [
        Mute(GA, ALICE),
        TurnEnded(GA, ALICE, cid(ALICE), None, T + 1, T + 31, TurnEnd.DONE),
        Tell(GA, ALICE, Heard.TURN_DONE),
        StackChanged(GA),
    ]
    assert stack.speaker is None
    assert queue(stack) == [], "being done is not raising a hand"


@pytest.mark.parametrize("key", [Key.DIRECT, Key.PROCESS, Key.PLACE])
def test_the_speakers_other_keys_say_they_have_the_floor(key: Key) -> None:
    stack = room(ALICE)
    stack.call(ALICE, T + 1)
    assert stack.press(ALICE, key, T + 2) == [Tell(GA, ALICE, Heard.HAVE_FLOOR)]
    assert stack.speaker == ALICE


@pytest.mark.parametrize("key", [Key.HAND, Key.DIRECT, Key.PROCESS])
def test_a_moderators_queueing_keys_are_not_available(key: Key) -> None:
    stack = room(moderators=(MOD,))
    assert stack.press(MOD, key, T + 1) == [Tell(GA, MOD, Heard.KEY_NOT_AVAILABLE)]
    assert told(stack.press(MOD, Key.PLACE, T + 2)) == (Heard.NOT_QUEUED, None)


def test_a_speaking_moderator_ends_their_turn_with_star_nine_and_stays_unmuted() -> None:
    stack = room(moderators=(MOD,))
    stack.call(MOD, T + 1)
    effects = stack.press(MOD, Key.HAND, T + 2)
    assert not [e for e in effects if isinstance(e, Mute)]
    assert told(effects) == (Heard.TURN_DONE, None)
    assert stack.speaker is None


def test_every_key_in_a_room_without_the_keypad_is_not_available() -> None:
    stack = room(ALICE, keypad=False)
    for key in Key:
        assert stack.press(ALICE, key, T + 1) == [Tell(GA, ALICE, Heard.KEY_NOT_AVAILABLE)]
    stack.add(ALICE, Lane.STACK, T + 2)  # the moderators still keep a stack
    assert queue(stack) == [ALICE]


def test_a_key_from_a_channel_not_in_the_room_is_not_available() -> None:
    stack = room(ALICE)
    assert stack.press(BOB, Key.HAND, T + 1) == [Tell(GA, BOB, Heard.KEY_NOT_AVAILABLE)]


# ---- the floor --------------------------------------------------------------------------------


def test_call_next_unmutes_the_head_and_mutes_the_previous_speaker() -> None:
    stack = room(ALICE, BOB, CAROL)
    hands(stack, ALICE, BOB)
    assert stack.call_next(T + 10) == [
        Unmute(GA, ALICE),
        TurnStarted(GA, ALICE, cid(ALICE), Lane.STACK, T + 10),
        YouAreNext(GA, BOB),
        StackChanged(GA),
    ]
    assert stack.call_next(T + 40) == [
        Mute(GA, ALICE),
        TurnEnded(GA, ALICE, cid(ALICE), Lane.STACK, T + 10, T + 40, TurnEnd.REPLACED),
        Unmute(GA, BOB),
        TurnStarted(GA, BOB, cid(BOB), Lane.STACK, T + 40),
        StackChanged(GA),
    ]
    assert queue(stack) == []


def nexts(effects: list[Effect]) -> list[str]:
    return [e.channel for e in effects if isinstance(e, YouAreNext)]


def test_the_head_hears_they_are_next_once_while_they_stay_first() -> None:
    stack = room(ALICE, BOB, CAROL, DAVE)
    hands(stack, BOB, CAROL)
    assert nexts(stack.call(ALICE, T + 10)) == [BOB]
    assert nexts(stack.call(DAVE, T + 20)) == [], "Bob was told at the last call"
    assert nexts(stack.call_next(T + 30)) == [CAROL], "Bob has the floor: Carol is first"


def test_a_new_head_hears_it_at_the_next_call_not_when_they_become_first() -> None:
    stack = room(ALICE, BOB, CAROL, DAVE, ERIN)
    hands(stack, BOB)
    assert nexts(stack.call(ALICE, T + 10)) == [BOB]
    assert nexts(stack.press(CAROL, Key.PROCESS, T + 11)) == []  # first now, told at a call
    assert nexts(stack.call(DAVE, T + 20)) == [CAROL]
    assert nexts(stack.call(ERIN, T + 30)) == []
    stack.press(CAROL, Key.HAND, T + 31)  # withdrawn: Bob is first again, a new head
    assert nexts(stack.call(ALICE, T + 40)) == [BOB]


def test_nobody_is_told_when_nobody_waits_and_a_head_who_returns_hears_it_again() -> None:
    stack = room(ALICE, BOB, CAROL)
    assert nexts(stack.call(ALICE, T + 1)) == []
    hands(stack, BOB, at=2)
    assert nexts(stack.call(CAROL, T + 5)) == [BOB]
    assert nexts(stack.call_next(T + 9)) == [], "Bob has the floor, nobody waits"
    stack.end_turn(T + 15)
    hands(stack, BOB, at=20)  # after his turn, Bob asks again
    assert nexts(stack.call(ALICE, T + 30)) == [BOB]


def test_a_moderators_end_of_turn_tells_nobody_and_auto_advance_tells_the_new_head() -> None:
    stack = room(ALICE, BOB, CAROL, DAVE, auto_advance=True)
    stack.call(ALICE, T + 1)
    hands(stack, BOB, CAROL, at=2)
    assert nexts(stack.end_turn(T + 5)) == []
    stack.call(DAVE, T + 6)  # Bob told
    effects = stack.press(DAVE, Key.HAND, T + 9)  # Dave is done: Bob is called on by himself
    assert TurnStarted(GA, BOB, cid(BOB), Lane.STACK, T + 9) in effects
    assert effects.index(TurnStarted(GA, BOB, cid(BOB), Lane.STACK, T + 9)) < effects.index(
        YouAreNext(GA, CAROL)
    ), "the speaker's floor first, then the head's prompt"


def test_who_was_told_survives_a_restart() -> None:
    stack = room(ALICE, BOB, CAROL)
    hands(stack, BOB)
    stack.call(ALICE, T + 5)
    back = SpeakerStack.from_state(json.loads(json.dumps(stack.to_state())))
    assert nexts(back.call(CAROL, T + 9)) == [], "Bob heard it before the restart"
    legacy = {k: v for k, v in stack.to_state().items() if k != "told_next"}
    assert nexts(SpeakerStack.from_state(legacy).call(CAROL, T + 9)) == [BOB]


def test_call_next_takes_a_point_of_process_before_the_stack() -> None:
    stack = room(ALICE, BOB)
    hands(stack, ALICE)
    hands(stack, BOB, at=5, key=Key.PROCESS)
    assert TurnStarted(GA, BOB, cid(BOB), Lane.PROCESS, T + 9) in stack.call_next(T + 9)


def test_call_next_does_not_mute_a_previous_speaker_who_is_a_moderator() -> None:
    stack = room(ALICE, moderators=(MOD,))
    stack.call(MOD, T + 1)
    hands(stack, ALICE, at=2)
    effects = stack.call_next(T + 5)
    assert not [e for e in effects if isinstance(e, Mute)]
    assert TurnEnded(GA, MOD, cid(MOD), None, T + 1, T + 5, TurnEnd.REPLACED) in effects


def test_call_next_with_nobody_waiting_is_refused_and_the_speaker_keeps_the_floor() -> None:
    stack = room(ALICE)
    stack.call(ALICE, T + 1)
    with pytest.raises(StackEmpty, match="nobody is waiting to speak"):
        stack.call_next(T + 2)
    assert stack.speaker == ALICE


def test_calling_someone_queued_takes_them_out_of_the_queue_in_their_lane() -> None:
    stack = room(ALICE, BOB)
    hands(stack, ALICE)
    hands(stack, BOB, at=3, key=Key.DIRECT)
    assert TurnStarted(GA, ALICE, cid(ALICE), Lane.STACK, T + 5) in stack.call(ALICE, T + 5)
    assert queue(stack) == [BOB]


def test_calling_someone_not_queued_gives_them_a_turn_in_no_lane() -> None:
    stack = room(ALICE)
    effects = stack.call(ALICE, T + 5)
    assert TurnStarted(GA, ALICE, cid(ALICE), None, T + 5) in effects
    assert stack.show(T + 6).as_json()["speaker"]["lane"] is None


def test_calling_someone_not_in_the_room_or_already_speaking_is_refused() -> None:
    stack = room(ALICE)
    with pytest.raises(NotInRoom, match=f"{BOB} is not in the room"):
        stack.call(BOB, T + 1)
    stack.call(ALICE, T + 2)
    with pytest.raises(AlreadySpeaking):
        stack.call(ALICE, T + 3)


def test_a_moderator_ends_a_turn_with_a_mute_and_nobody_else_is_called() -> None:
    stack = room(ALICE, BOB, auto_advance=True)
    stack.call(ALICE, T + 1)
    hands(stack, BOB, at=2)
    assert stack.end_turn(T + 9) == [
        Mute(GA, ALICE),
        TurnEnded(GA, ALICE, cid(ALICE), None, T + 1, T + 9, TurnEnd.MODERATOR),
        StackChanged(GA),
    ]
    assert queue(stack) == [BOB]


def test_a_mute_from_before_the_floor_ends_nothing_and_a_later_one_ends_the_turn() -> None:
    """Called on again right after a turn: the mute that ended the last turn reaches the
    service after the new floor (Asterisk's events trail the commands). It is stamped with
    Asterisk's time, before the floor's Unmute went out: not a mute of this turn."""
    stack = room(ALICE)
    stack.call(ALICE, T + 1)
    stack.end_turn(T + 2)
    stack.call(ALICE, T + 3)
    stack.unmuting(Unmute(GA, ALICE, T + 3), T + 3)
    assert stack.end_turn(T + 2.5, TurnEnd.MUTED) == []  # the echo of the first turn's end
    assert stack.speaker == ALICE
    assert stack.end_turn(T + 4, TurnEnd.MUTED) == [
        Mute(GA, ALICE),
        TurnEnded(GA, ALICE, cid(ALICE), None, T + 3, T + 4, TurnEnd.MUTED),
        StackChanged(GA),
    ]
    assert stack.speaker is None


def test_a_mute_carried_out_after_the_floor_was_given_but_before_its_unmute_is_not_this_turns() -> (
    None
):
    """The time limit ends Alice's turn and a moderator calls her again at once: the room's
    line carries out the old turn's Mute after the new floor was given, so Asterisk stamps
    it after the turn's start. Only the Unmute going out after it (``unmuting``) opens the
    turn to being ended by a mute."""
    stack = room(ALICE, speaking_time_limit=30.0)
    stack.call(ALICE, T)
    assert Mute(GA, ALICE) in stack.tick(T + 31)  # sent on the line, not carried out yet
    stack.call(ALICE, T + 31.001)
    assert stack.end_turn(T + 31.004, TurnEnd.MUTED) == []  # that Mute, carried out now
    stack.unmuting(Unmute(GA, ALICE, T + 31.001), T + 31.005)
    stack.unmuting(Unmute(GA, ALICE, T + 31.001), T + 40)  # the same turn's again: no change
    assert stack.end_turn(T + 31.003, TurnEnd.MUTED) == []
    assert stack.speaker == ALICE
    assert stack.end_turn(T + 32, TurnEnd.MUTED)[1] == TurnEnded(
        GA, ALICE, cid(ALICE), None, T + 31.001, T + 32, TurnEnd.MUTED
    )


def test_the_unmute_of_someone_else_than_the_speaker_opens_no_turn() -> None:
    stack = room(ALICE, BOB)
    stack.call(ALICE, T)
    stack.unmuting(Unmute(GA, BOB, T), T + 1)
    assert stack.end_turn(T + 2, TurnEnd.MUTED) == []
    assert stack.speaker == ALICE


def test_an_earlier_turns_unmute_does_not_open_the_turn_after_it() -> None:
    """A slow line: Alice is called (Unmute 1), her turn ended (Mute), she is called again
    (Unmute 2), all before the line carried out anything. Unmute 1 going out opens nothing:
    the Mute after it, carried out next, is not the second turn's."""
    stack = room(ALICE)
    [first] = [e for e in stack.call(ALICE, T) if isinstance(e, Unmute)]
    stack.end_turn(T + 0.01)
    [second] = [e for e in stack.call(ALICE, T + 0.02) if isinstance(e, Unmute)]
    stack.unmuting(first, T + 0.03)
    assert stack.end_turn(T + 0.04, TurnEnd.MUTED) == []  # the Mute between them
    stack.unmuting(second, T + 0.05)
    assert stack.end_turn(T + 0.06, TurnEnd.MUTED)[1].why is TurnEnd.MUTED  # type: ignore[union-attr]


def test_a_turn_under_way_before_a_restart_can_be_ended_by_a_mute() -> None:
    stack = room(ALICE)
    stack.call(ALICE, T)
    again = SpeakerStack.from_state(json.loads(json.dumps(stack.to_state())))
    assert again.end_turn(T + 5, TurnEnd.MUTED)[1].why is TurnEnd.MUTED  # type: ignore[union-attr]
    assert again.speaker is None


def test_ending_a_turn_when_nobody_has_the_floor_is_refused() -> None:
    with pytest.raises(NoSpeaker):
        room(ALICE).end_turn(T)


def test_a_speaker_who_leaves_ends_their_turn_with_no_mute_for_a_gone_channel() -> None:
    stack = room(ALICE)
    stack.call(ALICE, T + 1)
    assert without_changed(stack.leave(ALICE, T + 7)) == [
        TurnEnded(GA, ALICE, cid(ALICE), None, T + 1, T + 7, TurnEnd.LEFT)
    ]


def test_with_auto_advance_a_turn_that_ends_by_itself_calls_the_next() -> None:
    stack = room(ALICE, BOB, CAROL, auto_advance=True)
    stack.call(ALICE, T + 1)
    hands(stack, BOB, CAROL, at=2)
    assert TurnStarted(GA, BOB, cid(BOB), Lane.STACK, T + 5) in stack.press(ALICE, Key.HAND, T + 5)
    assert TurnStarted(GA, CAROL, cid(CAROL), Lane.STACK, T + 8) in stack.leave(BOB, T + 8)
    assert stack.press(CAROL, Key.HAND, T + 9)[-2:] == [
        Tell(GA, CAROL, Heard.TURN_DONE),
        StackChanged(GA),
    ], "nobody left to call"


# ---- the speaking time limit ------------------------------------------------------------------


def test_the_speaker_is_warned_once_fifteen_seconds_before_the_limit() -> None:
    stack = room(ALICE, speaking_time_limit=60)
    stack.call(ALICE, T)
    assert stack.next_deadline() == T + 45
    assert stack.tick(T + 44) == []
    assert stack.tick(T + 45) == [Warn(GA, ALICE, 15), StackChanged(GA)]
    assert stack.tick(T + 46) == []
    assert stack.next_deadline() == T + 60


def test_at_the_limit_the_speaker_is_muted_and_the_turn_ends() -> None:
    stack = room(ALICE, BOB, speaking_time_limit=60)
    stack.call(ALICE, T)
    hands(stack, BOB)
    stack.tick(T + 45)
    assert stack.tick(T + 60) == [
        Mute(GA, ALICE),
        TurnEnded(GA, ALICE, cid(ALICE), None, T, T + 60, TurnEnd.TIME_LIMIT),
        StackChanged(GA),
    ]
    assert stack.next_deadline() is None
    assert queue(stack) == [BOB]


def test_with_auto_advance_the_limit_calls_the_next() -> None:
    stack = room(ALICE, BOB, speaking_time_limit=60, auto_advance=True)
    stack.call(ALICE, T)
    hands(stack, BOB)
    effects = stack.tick(T + 61)
    assert [type(e) for e in effects] == [Mute, TurnEnded, Unmute, TurnStarted, StackChanged]
    assert stack.speaker == BOB
    assert stack.next_deadline() == T + 61 + 45


def test_a_limit_of_fifteen_seconds_or_less_has_no_warning() -> None:
    stack = room(ALICE, speaking_time_limit=15)
    stack.call(ALICE, T)
    assert stack.next_deadline() == T + 15
    assert TurnEnded in [type(e) for e in stack.tick(T + 15)]


def test_the_speakers_seconds_left_count_down_and_no_limit_shows_none() -> None:
    stack = room(ALICE, speaking_time_limit=60)
    stack.call(ALICE, T)
    assert stack.show(T + 20.5).as_json()["speaker"]["seconds_left"] == 40
    unlimited = room(ALICE)
    unlimited.call(ALICE, T)
    assert unlimited.show(T + 20).as_json()["speaker"]["seconds_left"] is None
    assert unlimited.next_deadline() is None


# ---- policies ---------------------------------------------------------------------------------


def spoken(stack: SpeakerStack, channel: str, turns: int, talk_time: float) -> None:
    stack.note_speech(channel, turns, talk_time, T)


def test_progressive_puts_those_who_have_not_spoken_first() -> None:
    stack = room(ALICE, BOB, CAROL, policy=PROGRESSIVE)
    spoken(stack, ALICE, 1, 30.0)
    hands(stack, ALICE, BOB, CAROL)
    assert queue(stack) == [BOB, CAROL, ALICE]


def test_progressive_then_fewer_turns_then_less_talk_time_then_the_earlier_hand() -> None:
    stack = room(ALICE, BOB, CAROL, DAVE, ERIN, policy=PROGRESSIVE)
    spoken(stack, ALICE, 2, 10.0)
    spoken(stack, BOB, 1, 90.0)
    spoken(stack, CAROL, 1, 20.0)
    spoken(stack, DAVE, 1, 20.0)
    hands(stack, ALICE, DAVE, BOB, CAROL, ERIN)
    assert queue(stack) == [ERIN, DAVE, CAROL, BOB, ALICE]
    assert [p.reason for p in stack.show(T + 10).queue] == [
        "has not spoken yet",
        "1 turn, 20 s",
        "1 turn, 20 s",
        "1 turn, 1 min 30 s",
        "2 turns, 10 s",
    ]


def test_a_turn_given_here_counts_as_having_spoken() -> None:
    stack = room(ALICE, BOB, policy=PROGRESSIVE)
    stack.call(ALICE, T + 1)
    stack.end_turn(T + 2)
    hands(stack, ALICE, BOB, at=3)
    assert queue(stack) == [BOB, ALICE]


def test_a_long_call_keeps_nothing_of_those_who_left_without_a_word() -> None:
    """A room in session for hours with callers coming and going: the stack forgets those
    who left without a word, and its saved state (written every second or so) holds only
    the people in play; what those who left said comes back from the call's history."""
    stack = room(ALICE, BOB, policy=PROGRESSIVE)
    spoken(stack, ALICE, 1, 12.0)
    for n in range(1_000):
        channel = f"PJSIP/passer-{n:08d}"
        stack.join(channel, f"cid-passer-{n}", Role.PARTICIPANT, T + n)
        spoken(stack, channel, 0, 0.0)  # muted, unmuted by nobody: a record with nothing said
        stack.leave(channel, T + n + 0.5)
    stack.leave(ALICE, T + 1_000)
    saved = json.loads(json.dumps(stack.to_state()))
    assert set(saved["people"]) == {BOB} and saved["records"] == {}
    history = records_from_history([(ALICE, cid(ALICE), 1, 12.0)], [])
    alice_again = "PJSIP/a-00000042"
    for each in (stack, SpeakerStack.from_state(saved, history)):  # live, and restarted
        each.join(alice_again, cid(ALICE), Role.PARTICIPANT, T + 2_000)
        hands(each, alice_again, BOB, at=2_001)
        assert queue(each, 2_100) == [BOB, alice_again]


def test_history_gives_each_person_their_legs_and_the_turns_given_here() -> None:
    withheld = "PJSIP/anon-00000077"
    records = records_from_history(
        [(ALICE, cid(ALICE), 2, 30.0), ("PJSIP/a-00000042", cid(ALICE), 0, 4.0),
         (withheld, "anonymous", 1, 3.0)],
        [(ALICE, cid(ALICE)), (ALICE, cid(ALICE)), (BOB, cid(BOB))],
    )  # fmt: skip
    alice = records[cid(ALICE)]
    assert (alice.floor_turns, alice.turns, alice.talk_time) == (2, 2, 34.0)
    assert records[cid(BOB)].has_spoken and records[cid(BOB)].talk_time == 0.0
    assert records[person_of(withheld, "anonymous")].talk_time == 3.0


def test_having_spoken_is_remembered_across_a_drop_and_rejoin() -> None:
    stack = room(ALICE, BOB, policy=PROGRESSIVE)
    spoken(stack, ALICE, 1, 12.0)
    stack.leave(ALICE, T + 1)
    alice_again = "PJSIP/a-00000042"
    stack.join(alice_again, cid(ALICE), Role.PARTICIPANT, T + 500)  # long past the grace
    hands(stack, alice_again, BOB, at=501)
    assert queue(stack, 600) == [BOB, alice_again]
    assert stack.show(T + 600).queue[1].reason == "1 turn, 12 s"


def test_anonymous_callers_do_not_share_a_record_of_having_spoken() -> None:
    stack = SpeakerStack(GA, PROGRESSIVE)
    stack.join(ALICE, "anonymous", Role.PARTICIPANT, T)
    stack.join(BOB, "anonymous", Role.PARTICIPANT, T)
    stack.join(CAROL, cid(CAROL), Role.PARTICIPANT, T)
    spoken(stack, ALICE, 3, 100.0)
    hands(stack, ALICE, CAROL, BOB)
    assert queue(stack) == [CAROL, BOB, ALICE]


def test_the_policy_orders_only_the_stack_lane() -> None:
    stack = room(ALICE, BOB, policy=PROGRESSIVE)
    spoken(stack, ALICE, 4, 300.0)
    hands(stack, ALICE, BOB, key=Key.DIRECT)
    assert queue(stack) == [ALICE, BOB]
    assert [p.reason for p in stack.show(T + 5).queue] == ["direct response", "direct response"]


def test_priority_goes_ahead_within_its_lane_only() -> None:
    stack = room(ALICE, BOB, CAROL)
    hands(stack, ALICE, BOB)
    hands(stack, CAROL, at=5, key=Key.DIRECT)
    stack.set_priority(BOB, True, T + 9)
    view = stack.show(T + 10)
    assert [(p.channel, p.priority, p.reason) for p in view.queue] == [
        (CAROL, False, "direct response"),
        (BOB, True, "priority"),
        (ALICE, False, "raised first"),
    ]
    stack.set_priority(BOB, False, T + 11)
    assert queue(stack) == [CAROL, ALICE, BOB]


def test_fifo_reasons_say_in_which_order_hands_went_up() -> None:
    stack = room(ALICE, BOB, CAROL)
    hands(stack, ALICE, BOB, CAROL)
    assert [p.reason for p in stack.show(T + 9).queue] == [
        "raised first",
        "raised 2nd",
        "raised 3rd",
    ]


def test_switching_policy_recomputes_the_order_and_loses_nobody() -> None:
    stack = room(ALICE, BOB, CAROL)
    spoken(stack, ALICE, 1, 5.0)
    hands(stack, ALICE, BOB, CAROL)
    stack.move(CAROL, 1, T + 5)
    assert stack.set_policy(PROGRESSIVE, T + 6) == [StackChanged(GA)]
    assert queue(stack) == [BOB, CAROL, ALICE], "the move is undone, the policy rules"
    stack.set_policy(FIFO, T + 7)
    assert queue(stack) == [ALICE, BOB, CAROL]
    assert stack.set_policy(FIFO, T + 8) == []


# ---- moderators' commands ---------------------------------------------------------------------


def test_move_puts_an_entry_at_the_place_asked_up_or_down() -> None:
    stack = room(ALICE, BOB, CAROL, DAVE)
    hands(stack, ALICE, BOB, CAROL, DAVE)
    stack.move(DAVE, 2, T + 9)
    assert queue(stack) == [ALICE, DAVE, BOB, CAROL]
    stack.move(ALICE, 4, T + 10)
    assert queue(stack) == [DAVE, BOB, CAROL, ALICE]
    stack.move(CAROL, 1, T + 11)
    assert queue(stack) == [CAROL, DAVE, BOB, ALICE]
    assert stack.show(T + 12).queue[0].reason == "moved by a moderator"


def test_a_moved_entry_keeps_its_standing_as_others_are_served_and_arrive() -> None:
    stack = room(ALICE, BOB, CAROL, DAVE, ERIN, policy=PROGRESSIVE)
    for channel in (ALICE, BOB, CAROL):
        spoken(stack, channel, 1, 10.0)
    hands(stack, ALICE, BOB, CAROL)
    stack.move(CAROL, 2, T + 5)
    stack.call_next(T + 6)
    hands(stack, DAVE, at=7)  # has not spoken: goes ahead of the policy's standings
    assert queue(stack) == [DAVE, CAROL, BOB]


def test_move_within_the_lane_range_counts_places_in_the_serving_order() -> None:
    stack = room(ALICE, BOB, CAROL)
    hands(stack, ALICE, key=Key.PROCESS)
    hands(stack, BOB, CAROL, at=2)
    stack.move(CAROL, 2, T + 9)
    assert queue(stack) == [ALICE, CAROL, BOB]
    with pytest.raises(PlaceOutOfLane, match="the stack lane, which holds places 2 to 3"):
        stack.move(CAROL, 1, T + 10)
    with pytest.raises(PlaceOutOfLane, match="the process lane, which holds place 1"):
        stack.move(ALICE, 3, T + 10)


def test_a_move_to_where_the_entry_already_stands_changes_nothing() -> None:
    stack = room(ALICE, BOB)
    hands(stack, ALICE, BOB)
    assert stack.move(BOB, 2, T + 5) == []
    assert stack.show(T + 5).queue[1].reason == "raised 2nd"


def test_remove_takes_an_entry_out_and_refuses_someone_not_queued() -> None:
    stack = room(ALICE, BOB)
    hands(stack, ALICE, BOB)
    assert stack.remove(ALICE, T + 5) == [StackChanged(GA)]
    assert queue(stack) == [BOB]
    with pytest.raises(NotQueued, match=f"{ALICE} is not in the stack"):
        stack.remove(ALICE, T + 6)


def test_add_queues_someone_from_the_roster_in_the_lane_asked() -> None:
    stack = room(ALICE, BOB)
    stack.add(ALICE, Lane.STACK, T + 1)
    stack.add(BOB, Lane.PROCESS, T + 2)
    assert queue(stack) == [BOB, ALICE]
    stack.add(ALICE, Lane.PROCESS, T + 3)
    assert [(p.channel, p.lane) for p in stack.show(T + 4).queue] == [
        (BOB, Lane.PROCESS),
        (ALICE, Lane.PROCESS),
    ]
    with pytest.raises(AlreadyQueued, match="already in the process lane, at place 2"):
        stack.add(ALICE, Lane.PROCESS, T + 5)
    with pytest.raises(NotInRoom):
        stack.add(CAROL, Lane.STACK, T + 5)


def test_the_speaker_cannot_be_added_to_the_queue() -> None:
    stack = room(ALICE)
    stack.call(ALICE, T)
    with pytest.raises(AlreadySpeaking):
        stack.add(ALICE, Lane.STACK, T + 1)


def test_clear_empties_one_lane_or_all_of_them() -> None:
    stack = room(ALICE, BOB, CAROL)
    hands(stack, ALICE)
    hands(stack, BOB, at=2, key=Key.DIRECT)
    hands(stack, CAROL, at=3, key=Key.PROCESS)
    stack.clear(Lane.DIRECT, T + 5)
    assert queue(stack) == [CAROL, ALICE]
    stack.clear(None, T + 6)
    assert queue(stack) == []


def test_clearing_the_stack_also_drops_those_away_within_their_grace() -> None:
    stack = room(ALICE)
    hands(stack, ALICE)
    stack.leave(ALICE, T + 2)
    stack.clear(Lane.STACK, T + 3)
    stack.join("PJSIP/a-00000042", cid(ALICE), Role.PARTICIPANT, T + 4)
    assert queue(stack) == []


# ---- leaving and coming back ------------------------------------------------------------------


def test_a_caller_who_rejoins_within_the_grace_gets_their_place_back_on_the_new_channel() -> None:
    stack = room(ALICE, BOB, CAROL)
    hands(stack, ALICE, BOB, CAROL)
    stack.leave(ALICE, T + 10)
    assert queue(stack, 11) == [BOB, CAROL]
    assert stack.next_deadline() == T + 10 + 120
    alice_again = "PJSIP/a-00000042"
    stack.join(alice_again, cid(ALICE), Role.PARTICIPANT, T + 129)
    assert queue(stack, 130) == [alice_again, BOB, CAROL]
    assert told(stack.press(alice_again, Key.PLACE, T + 131)) == (Heard.PLACE, 1)
    assert stack.next_deadline() is None


def test_a_caller_who_rejoins_after_the_grace_is_not_queued() -> None:
    stack = room(ALICE, BOB, rejoin_grace=30)
    hands(stack, ALICE, BOB)
    stack.leave(ALICE, T + 10)
    stack.join("PJSIP/a-00000042", cid(ALICE), Role.PARTICIPANT, T + 40)
    assert queue(stack) == [BOB]


def test_an_entry_past_its_grace_is_gone_at_the_tick() -> None:
    stack = room(ALICE, rejoin_grace=30)
    hands(stack, ALICE)
    stack.leave(ALICE, T + 10)
    assert stack.next_deadline() == T + 40
    assert stack.tick(T + 39.9) == []
    assert stack.tick(T + 40) == [StackChanged(GA)]
    assert stack.next_deadline() is None
    assert stack.to_state()["entries"] == []


@pytest.mark.parametrize("withheld", ["anonymous", "", "unknown", " Anonymous "])
def test_callers_with_withheld_ids_never_inherit_each_others_places(withheld: str) -> None:
    stack = SpeakerStack(GA)
    stack.join(ALICE, withheld, Role.PARTICIPANT, T)
    stack.join(BOB, cid(BOB), Role.PARTICIPANT, T)
    hands(stack, ALICE, BOB)
    stack.leave(ALICE, T + 5)
    assert stack.next_deadline() is None, "nothing kept for a caller nobody can recognise"
    stack.join(CAROL, withheld, Role.PARTICIPANT, T + 6)
    assert queue(stack) == [BOB]


def test_a_newcomer_on_the_channel_name_of_someone_away_does_not_touch_their_place() -> None:
    # After an Asterisk restart, channel names start again from the same counter.
    stack = room(ALICE, BOB)
    hands(stack, ALICE, BOB)
    stack.leave(ALICE, T + 5)
    stack.join(ALICE, "5559999", Role.PARTICIPANT, T + 6)
    assert told(stack.press(ALICE, Key.HAND, T + 7)) == (Heard.HAND_RAISED, 2)
    alice_again = "PJSIP/a-00000042"
    stack.join(alice_again, cid(ALICE), Role.PARTICIPANT, T + 8)
    assert queue(stack) == [alice_again, BOB, ALICE]


def test_with_no_grace_a_caller_who_leaves_leaves_the_stack() -> None:
    stack = room(ALICE, rejoin_grace=0)
    hands(stack, ALICE)
    stack.leave(ALICE, T + 5)
    stack.join("PJSIP/a-00000042", cid(ALICE), Role.PARTICIPANT, T + 5)
    assert queue(stack) == []


def test_a_resync_ends_the_turn_of_a_speaker_who_left_and_takes_in_newcomers() -> None:
    stack = room(ALICE, BOB)
    stack.call(ALICE, T)
    effects = stack.resync([Member(BOB, cid(BOB)), Member(CAROL, cid(CAROL))], T + 50)
    assert TurnEnded(GA, ALICE, cid(ALICE), None, T, T + 50, TurnEnd.LEFT) in effects
    assert told(stack.press(CAROL, Key.HAND, T + 51)) == (Heard.HAND_RAISED, 1)


def test_roster_facts_for_a_channel_never_seen_are_ignored() -> None:
    stack = room(ALICE)
    assert stack.note_speech(BOB, 2, 10.0, T) == []


# ---- the view and the saved state -------------------------------------------------------------


def test_show_gives_the_cli_object_in_serving_order() -> None:
    stack = room(ALICE, BOB, CAROL, speaking_time_limit=120)
    stack.call(CAROL, T)
    hands(stack, ALICE)
    hands(stack, BOB, at=2, key=Key.DIRECT)
    assert json.loads(json.dumps(stack.show(T + 30).as_json())) == {
        "room": GA,
        "policy": "fifo",
        "speaking_time_limit": 120,
        "auto_advance": False,
        "speaker": {
            "channel": CAROL,
            "caller_id": cid(CAROL),
            "lane": None,
            "started_at": T,
            "seconds_left": 90,
        },
        "queue": [
            {
                "place": 1,
                "channel": BOB,
                "caller_id": cid(BOB),
                "lane": "direct",
                "reason": "direct response",
                "priority": False,
                "raised_at": T + 2,
            },
            {
                "place": 2,
                "channel": ALICE,
                "caller_id": cid(ALICE),
                "lane": "stack",
                "reason": "raised first",
                "priority": False,
                "raised_at": T + 1,
            },
        ],
    }


def test_the_saved_state_brings_back_everything_exactly() -> None:
    stack = room(ALICE, BOB, CAROL, DAVE, policy=PROGRESSIVE, speaking_time_limit=60)
    spoken(stack, BOB, 1, 3.5)
    hands(stack, ALICE, BOB, CAROL, DAVE)
    stack.move(DAVE, 1, T + 8)
    stack.set_priority(CAROL, True, T + 8)
    stack.leave(ALICE, T + 9)  # away, within the grace
    stack.call(BOB, T + 10)
    stack.tick(T + 55)  # warned
    saved = json.loads(json.dumps(stack.to_state()))
    back = SpeakerStack.from_state(saved)
    assert back.to_state() == stack.to_state()
    assert back.show(T + 56) == stack.show(T + 56)
    assert back.next_deadline() == stack.next_deadline() == T + 70
    alice_again = "PJSIP/a-00000042"
    for either in (stack, back):
        either.join(alice_again, cid(ALICE), Role.PARTICIPANT, T + 60)
    assert back.show(T + 61) == stack.show(T + 61)


def test_a_saved_state_that_cannot_be_read_says_so() -> None:
    good = room(ALICE).to_state()
    with pytest.raises(BadState, match="unreadable"):
        SpeakerStack.from_state({**good, "version": 99})
    with pytest.raises(BadState):
        SpeakerStack.from_state({**good, "entries": [{"channel": ALICE}]})


def test_a_stack_for_a_room_takes_its_policy_and_limit_from_the_rooms_file() -> None:
    spec = RoomSpec("ga", "General assembly", pin="1234", queue=PROGRESSIVE, speaking_time_limit=90)
    stack = SpeakerStack.for_room(spec, auto_advance=True, rejoin_grace=60)
    assert (stack.room, stack.policy) == ("ga", PROGRESSIVE)
    assert stack.rules == StackRules(90.0, True, 60.0, True)


def test_new_rules_apply_to_the_turn_under_way() -> None:
    stack = room(ALICE)
    stack.call(ALICE, T)
    assert stack.set_rules(replace(stack.rules, speaking_time_limit=30), T + 1) == [
        StackChanged(GA)
    ]
    assert stack.next_deadline() == T + 15
