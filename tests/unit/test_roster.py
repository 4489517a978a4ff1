"""The roster reducer: who is where, their talk time and turns, and the history effects.

Every test feeds ``Switchboard.apply`` domain events, as the AMI adapter would, and looks at
the state and at the effects returned. No clock, no loop, no I/O.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from bridge.domain.events import (
    CallArrived,
    CallHandedOver,
    CallHungUp,
    DomainEvent,
    LeaveReason,
    LockChanged,
    MuteChanged,
    ParticipantJoined,
    ParticipantLeft,
    PbxLost,
    RecordingChanged,
    RemovalOrdered,
    Resynced,
    Role,
    RoomEnded,
    RoomStarted,
    SeenParticipant,
    SeenRoom,
    TalkingChanged,
)
from bridge.domain.roster import (
    CallClosed,
    CallOpened,
    Effect,
    EntryCall,
    HistoryReconciled,
    LegClosed,
    LegOpened,
    LegUpdated,
    Participant,
    Switchboard,
)

T = 1_764_100_000.0  # seconds since the epoch, as Asterisk's Timestamp header carries them
GA, WG = "ga", "wg"
ALICE = "PJSIP/alice-00000001"
BOB = "PJSIP/bob-00000002"
CAROL = "PJSIP/carol-00000003"


def joined(
    channel: str = ALICE,
    at: float = 0.0,
    room: str = GA,
    role: Role = Role.PARTICIPANT,
    muted: bool = False,
    caller_name: str = "",
) -> ParticipantJoined:
    return ParticipantJoined(room, channel, f"cid-{channel}", role, muted, T + at, caller_name)


def talking(channel: str, on: bool, at: float, room: str = GA) -> TalkingChanged:
    return TalkingChanged(room, channel, on, T + at)


def mute(channel: str, muted: bool, at: float, room: str = GA) -> MuteChanged:
    return MuteChanged(room, channel, muted, T + at)


def seen(
    channel: str, muted: bool = False, is_talking: bool = False, role: Role = Role.PARTICIPANT
) -> SeenParticipant:
    return SeenParticipant(channel, f"cid-{channel}", role, muted, is_talking)


def board_after(*events: DomainEvent) -> Switchboard:
    board = Switchboard()
    for event in events:
        board.apply(event)
    return board


def person(board: Switchboard, channel: str, room: str = GA) -> Participant:
    live = board.room(room)
    assert live is not None, f"room {room} is not live"
    return live.participants[channel]


def leg_opened(channel: str, at: float, room: str = GA, role: Role = Role.PARTICIPANT) -> LegOpened:
    return LegOpened(room, channel, f"cid-{channel}", role, T + at)


# ---- joining and leaving --------------------------------------------------------------------


def test_the_first_join_opens_the_call_and_the_callers_leg() -> None:
    board = Switchboard()
    effects = board.apply(joined(ALICE, 0))
    assert effects == [CallOpened(GA, T), leg_opened(ALICE, 0)]
    assert board.room_of(ALICE) == GA
    live = board.room(GA)
    assert live is not None
    assert (live.started_at, live.count) == (T, 1)


def test_a_second_join_opens_only_a_leg() -> None:
    board = board_after(joined(ALICE, 0))
    assert board.apply(joined(BOB, 1)) == [leg_opened(BOB, 1)]
    assert person(board, BOB).joined_at == T + 1


def test_a_join_remembers_who_the_caller_is() -> None:
    board = board_after(joined(ALICE, 0, role=Role.MODERATOR, muted=True, caller_name="Alice"))
    alice = person(board, ALICE)
    assert (alice.caller_id, alice.caller_name, alice.role, alice.muted) == (
        f"cid-{ALICE}",
        "Alice",
        Role.MODERATOR,
        True,
    )
    assert (alice.talking, alice.talk_time, alice.turns) == (False, 0.0, 0)


def test_a_repeated_join_of_the_same_channel_changes_nothing() -> None:
    board = board_after(joined(ALICE, 0), talking(ALICE, True, 1), talking(ALICE, False, 3))
    assert board.apply(joined(ALICE, 5, muted=True)) == []
    alice = person(board, ALICE)
    assert (alice.joined_at, alice.talk_time, alice.muted) == (T, 2.0, False)


def test_a_participant_who_leaves_is_gone_and_their_leg_closes() -> None:
    board = board_after(joined(ALICE, 0), joined(BOB, 1))
    effects = board.apply(ParticipantLeft(GA, ALICE, T + 5))
    assert effects == [LegClosed(GA, ALICE, T + 5, 0.0, 0, LeaveReason.HUNG_UP)]
    assert board.room_of(ALICE) is None
    live = board.room(GA)
    assert live is not None
    assert list(live.participants) == [BOB]


def test_the_room_stays_live_after_the_last_leave_until_asterisk_ends_it() -> None:
    board = board_after(joined(ALICE, 0), ParticipantLeft(GA, ALICE, T + 5))
    live = board.room(GA)
    assert live is not None
    assert live.count == 0


def test_a_leave_of_someone_not_in_the_room_is_ignored() -> None:
    board = board_after(joined(ALICE, 0), joined(CAROL, 0, room=WG))
    assert board.apply(ParticipantLeft(GA, BOB, T + 1)) == []
    assert board.apply(ParticipantLeft(GA, CAROL, T + 1)) == []  # she is in wg, not ga
    assert board.apply(ParticipantLeft("nowhere", ALICE, T + 1)) == []
    assert board.room_of(CAROL) == WG
    assert board.room_of(ALICE) == GA


def test_a_channel_that_joins_another_room_leaves_the_first() -> None:
    board = board_after(joined(ALICE, 0), talking(ALICE, True, 1))
    effects = board.apply(joined(ALICE, 4, room=WG))
    assert effects == [
        CallOpened(WG, T + 4),
        LegClosed(GA, ALICE, T + 4, 3.0, 1),
        leg_opened(ALICE, 4, room=WG),
    ]
    assert board.room_of(ALICE) == WG
    ga = board.room(GA)
    assert ga is not None
    assert ALICE not in ga.participants


# ---- rooms starting and ending --------------------------------------------------------------


def test_a_room_start_opens_the_call_once() -> None:
    board = Switchboard()
    assert board.apply(RoomStarted(GA, T)) == [CallOpened(GA, T)]
    assert board.apply(RoomStarted(GA, T + 1)) == []
    assert board.apply(joined(ALICE, 2)) == [leg_opened(ALICE, 2)]
    live = board.room(GA)
    assert live is not None
    assert live.started_at == T


def test_a_room_end_closes_everyones_legs_and_then_the_call() -> None:
    board = board_after(joined(ALICE, 0), joined(BOB, 1), joined(CAROL, 1, room=WG))
    effects = board.apply(RoomEnded(GA, T + 10))
    assert effects == [
        LegClosed(GA, ALICE, T + 10, 0.0, 0),
        LegClosed(GA, BOB, T + 10, 0.0, 0),
        CallClosed(GA, T + 10),
    ]
    assert board.room(GA) is None
    assert board.room_of(ALICE) is None
    assert board.room_of(BOB) is None
    assert board.room_of(CAROL) == WG


def test_a_room_end_counts_a_spurt_under_way_up_to_the_end() -> None:
    board = board_after(joined(ALICE, 0), talking(ALICE, True, 2))
    assert board.apply(RoomEnded(GA, T + 7)) == [
        LegClosed(GA, ALICE, T + 7, 5.0, 1),
        CallClosed(GA, T + 7),
    ]


def test_the_end_of_a_room_that_is_not_live_is_ignored() -> None:
    board = board_after(joined(ALICE, 0))
    assert board.apply(RoomEnded(WG, T + 1)) == []
    assert board.apply(RoomEnded(GA, T + 2)) != []
    assert board.apply(RoomEnded(GA, T + 3)) == []


def test_a_room_that_ends_and_starts_again_is_a_new_call() -> None:
    board = board_after(joined(ALICE, 0), RoomEnded(GA, T + 1))
    assert board.apply(joined(ALICE, 5)) == [CallOpened(GA, T + 5), leg_opened(ALICE, 5)]
    live = board.room(GA)
    assert live is not None
    assert live.started_at == T + 5


# ---- mute -----------------------------------------------------------------------------------


def test_mute_and_unmute_follow_what_asterisk_reports() -> None:
    board = board_after(joined(ALICE, 0))
    assert board.apply(mute(ALICE, True, 1)) == []
    assert person(board, ALICE).muted
    assert board.apply(mute(ALICE, False, 2)) == []
    assert not person(board, ALICE).muted


def test_a_participant_who_joins_muted_is_muted() -> None:
    board = board_after(joined(ALICE, 0, muted=True))
    assert person(board, ALICE).muted


def test_a_mute_for_someone_not_in_the_room_is_ignored() -> None:
    board = board_after(joined(ALICE, 0))
    assert board.apply(mute(BOB, True, 1)) == []
    assert board.apply(mute(ALICE, True, 1, room=WG)) == []
    assert not person(board, ALICE).muted
    assert board.room(WG) is None


# ---- talk time ------------------------------------------------------------------------------


def test_a_participant_who_talks_accumulates_talk_time() -> None:
    board = board_after(joined(ALICE, 0))
    assert board.apply(talking(ALICE, True, 1)) == []
    assert board.apply(talking(ALICE, False, 4)) == [LegUpdated(GA, ALICE, 3.0, 1)]
    board.apply(talking(ALICE, True, 6))
    assert board.apply(talking(ALICE, False, 6.5)) == [LegUpdated(GA, ALICE, 3.5, 1)]
    assert person(board, ALICE).talk_time == 3.5


def test_talk_time_so_far_counts_a_spurt_still_under_way() -> None:
    board = board_after(joined(ALICE, 0), talking(ALICE, True, 1), talking(ALICE, False, 3))
    board.apply(talking(ALICE, True, 10))
    alice = person(board, ALICE)
    assert alice.talk_time == 2.0  # closed spurts only
    assert alice.talk_time_at(T + 14) == 6.0
    assert alice.talk_time_at(T + 9) == 2.0  # a clock behind the spurt never counts backwards


def test_talking_while_muted_does_not_count() -> None:
    board = board_after(joined(ALICE, 0, muted=True))
    assert board.apply(talking(ALICE, True, 1)) == []
    assert board.apply(talking(ALICE, False, 9)) == []
    alice = person(board, ALICE)
    assert (alice.talking, alice.talk_time, alice.turns) == (False, 0.0, 0)


def test_muting_a_participant_mid_spurt_closes_the_spurt() -> None:
    board = board_after(joined(ALICE, 0), talking(ALICE, True, 1))
    assert board.apply(mute(ALICE, True, 3)) == [LegUpdated(GA, ALICE, 2.0, 1)]
    alice = person(board, ALICE)
    assert not alice.talking
    assert board.apply(talking(ALICE, False, 8)) == []  # the detector catches up: nothing more
    assert person(board, ALICE).talk_time == 2.0


def test_muting_a_silent_participant_records_nothing() -> None:
    board = board_after(joined(ALICE, 0), talking(ALICE, True, 1), talking(ALICE, False, 2))
    assert board.apply(mute(ALICE, True, 3)) == []


def test_leaving_while_talking_counts_the_spurt_up_to_the_leave() -> None:
    board = board_after(joined(ALICE, 0), talking(ALICE, True, 2))
    assert board.apply(ParticipantLeft(GA, ALICE, T + 9.5)) == [
        LegClosed(GA, ALICE, T + 9.5, 7.5, 1, LeaveReason.HUNG_UP)
    ]


def test_a_repeated_talking_on_does_not_restart_the_spurt() -> None:
    board = board_after(joined(ALICE, 0), talking(ALICE, True, 1), talking(ALICE, True, 5))
    assert board.apply(talking(ALICE, False, 6)) == [LegUpdated(GA, ALICE, 5.0, 1)]


def test_a_talking_off_without_a_spurt_records_nothing() -> None:
    board = board_after(joined(ALICE, 0))
    assert board.apply(talking(ALICE, False, 1)) == []
    assert board.apply(talking(BOB, False, 1)) == []
    assert board.apply(talking(BOB, True, 1)) == []


def test_an_event_stamped_before_the_spurt_began_never_counts_negative_time() -> None:
    board = board_after(joined(ALICE, 0), talking(ALICE, True, 5))
    assert board.apply(talking(ALICE, False, 4)) == [LegUpdated(GA, ALICE, 0.0, 1)]


# ---- turns ----------------------------------------------------------------------------------


def test_spurts_within_one_unmuted_stretch_are_one_turn() -> None:
    board = board_after(
        joined(ALICE, 0),
        talking(ALICE, True, 1),
        talking(ALICE, False, 2),
        talking(ALICE, True, 3),
        talking(ALICE, False, 4),
    )
    assert person(board, ALICE).turns == 1


def test_each_unmuted_stretch_in_which_the_participant_speaks_is_a_new_turn() -> None:
    board = board_after(
        joined(ALICE, 0),
        talking(ALICE, True, 1),
        talking(ALICE, False, 2),
        mute(ALICE, True, 3),
        mute(ALICE, False, 4),
        talking(ALICE, True, 5),
        talking(ALICE, False, 6),
    )
    assert person(board, ALICE).turns == 2


def test_an_unmuted_stretch_without_speech_is_not_a_turn() -> None:
    board = board_after(
        joined(ALICE, 0, muted=True),
        mute(ALICE, False, 1),
        mute(ALICE, True, 2),
        talking(ALICE, True, 3),  # muted: not on the floor
        talking(ALICE, False, 4),
    )
    assert person(board, ALICE).turns == 0


# ---- lock and recording ---------------------------------------------------------------------


def test_lock_and_recording_flags_follow_what_asterisk_reports() -> None:
    board = board_after(joined(ALICE, 0))
    assert board.apply(LockChanged(GA, True, T + 1)) == []
    assert board.apply(RecordingChanged(GA, True, T + 1)) == []
    live = board.room(GA)
    assert live is not None
    assert (live.locked, live.recording) == (True, True)
    board.apply(LockChanged(GA, False, T + 2))
    board.apply(RecordingChanged(GA, False, T + 2))
    assert (live.locked, live.recording) == (False, False)


def test_lock_or_recording_of_a_room_that_is_not_live_is_ignored() -> None:
    board = Switchboard()
    assert board.apply(LockChanged(GA, True, T)) == []
    assert board.apply(RecordingChanged(GA, True, T)) == []
    assert board.rooms == {}


def test_a_new_call_of_a_room_starts_unlocked_and_not_recording() -> None:
    board = board_after(
        joined(ALICE, 0),
        LockChanged(GA, True, T + 1),
        RecordingChanged(GA, True, T + 1),
        RoomEnded(GA, T + 2),
        joined(ALICE, 3),
    )
    live = board.room(GA)
    assert live is not None
    assert (live.locked, live.recording) == (False, False)


# ---- the shared number ----------------------------------------------------------------------


def test_a_call_on_the_shared_number_is_an_entry_call() -> None:
    board = Switchboard()
    assert board.apply(CallArrived(ALICE, "5551234", T)) == []
    assert board.entry_calls == {ALICE: EntryCall(ALICE, "5551234", T)}
    assert board.room_of(ALICE) is None


def test_an_entry_call_that_hangs_up_is_gone() -> None:
    board = board_after(CallArrived(ALICE, "5551234", T), CallArrived(BOB, "5556789", T))
    assert board.apply(CallHungUp(ALICE, T + 3)) == []
    assert list(board.entry_calls) == [BOB]


def test_an_entry_call_handed_over_to_its_rooms_node_is_no_longer_on_the_shared_number() -> None:
    board = board_after(CallArrived(ALICE, "5551234", T), CallArrived(BOB, "5556789", T))
    assert board.apply(CallHandedOver(ALICE, T + 3)) == []
    assert list(board.entry_calls) == [BOB]
    assert board.room_of(ALICE) is None


def test_a_join_moves_the_caller_from_the_shared_number_into_the_room() -> None:
    board = board_after(CallArrived(ALICE, "5551234", T))
    assert board.apply(joined(ALICE, 4)) == [CallOpened(GA, T + 4), leg_opened(ALICE, 4)]
    assert board.entry_calls == {}
    assert board.room_of(ALICE) == GA


def test_a_hangup_of_a_channel_still_in_a_room_removes_it_leaving_no_ghost() -> None:
    # ConfbridgeLeave normally comes first; when it is lost, the Hangup must do its work.
    board = board_after(joined(ALICE, 0), joined(BOB, 0), talking(ALICE, True, 1))
    assert board.apply(CallHungUp(ALICE, T + 4)) == [LegClosed(GA, ALICE, T + 4, 3.0, 1)]
    assert board.room_of(ALICE) is None
    live = board.room(GA)
    assert live is not None
    assert list(live.participants) == [BOB]


def test_a_hangup_after_the_leave_records_nothing_more() -> None:
    board = board_after(joined(ALICE, 0), ParticipantLeft(GA, ALICE, T + 2))
    assert board.apply(CallHungUp(ALICE, T + 3)) == []


def test_a_hangup_of_an_unknown_channel_is_ignored() -> None:
    board = board_after(joined(ALICE, 0))
    assert board.apply(CallHungUp(BOB, T + 1)) == []
    assert board.room_of(ALICE) == GA


# ---- resync ---------------------------------------------------------------------------------


def test_a_resync_drops_ghosts_with_a_closed_leg() -> None:
    board = board_after(joined(ALICE, 0), joined(BOB, 1), talking(BOB, True, 2))
    effects = board.apply(Resynced((SeenRoom(GA, False, (seen(ALICE),)),), T + 10, ()))
    assert effects == [
        LegClosed(GA, BOB, T + 10, 8.0, 1),
        HistoryReconciled(frozenset({GA}), frozenset({(GA, ALICE)}), T + 10),
    ]
    assert board.room_of(BOB) is None


def test_a_resync_closes_rooms_asterisk_no_longer_has() -> None:
    board = board_after(joined(ALICE, 0), joined(CAROL, 0, room=WG))
    effects = board.apply(Resynced((SeenRoom(WG, False, (seen(CAROL),)),), T + 10, ()))
    assert effects == [
        LegClosed(GA, ALICE, T + 10, 0.0, 0),
        CallClosed(GA, T + 10),
        HistoryReconciled(frozenset({WG}), frozenset({(WG, CAROL)}), T + 10),
    ]
    assert set(board.rooms) == {WG}


def test_a_resync_with_nothing_live_closes_everything() -> None:
    board = board_after(joined(ALICE, 0), joined(CAROL, 0, room=WG))
    effects = board.apply(Resynced((), T + 10, ()))
    assert effects[-1] == HistoryReconciled(frozenset(), frozenset(), T + 10)
    assert sorted(type(e).__name__ for e in effects[:-1]) == [
        "CallClosed",
        "CallClosed",
        "LegClosed",
        "LegClosed",
    ]
    assert board.rooms == {}
    assert board.room_of(ALICE) is None


def test_a_resync_keeps_participants_still_there_as_they_were() -> None:
    board = board_after(
        joined(ALICE, 0, role=Role.MODERATOR),
        talking(ALICE, True, 1),
        talking(ALICE, False, 4),
        joined(BOB, 2),
    )
    snapshot = SeenRoom(GA, False, (seen(ALICE, role=Role.MODERATOR), seen(BOB)))
    effects = board.apply(Resynced((snapshot,), T + 30, (ALICE, BOB)))
    assert effects == [
        HistoryReconciled(frozenset({GA}), frozenset({(GA, ALICE), (GA, BOB)}), T + 30)
    ]
    alice = person(board, ALICE)
    assert (alice.joined_at, alice.talk_time, alice.turns, alice.role) == (
        T,
        3.0,
        1,
        Role.MODERATOR,
    )
    assert person(board, BOB).joined_at == T + 2
    live = board.room(GA)
    assert live is not None
    assert live.started_at == T


def test_a_resync_opens_the_call_and_legs_of_those_we_missed() -> None:
    board = board_after(joined(ALICE, 0))
    snapshot = (
        SeenRoom(GA, False, (seen(ALICE), seen(BOB, muted=True))),
        SeenRoom(WG, True, (seen(CAROL, role=Role.MODERATOR),)),
    )
    effects = board.apply(Resynced(snapshot, T + 20, (ALICE, BOB, CAROL)))
    assert effects == [
        leg_opened(BOB, 20),
        CallOpened(WG, T + 20),
        leg_opened(CAROL, 20, room=WG, role=Role.MODERATOR),
        HistoryReconciled(
            frozenset({GA, WG}), frozenset({(GA, ALICE), (GA, BOB), (WG, CAROL)}), T + 20
        ),
    ]
    assert person(board, BOB).muted
    assert board.room_of(CAROL) == WG
    wg = board.room(WG)
    assert wg is not None
    assert wg.locked


def test_a_resync_takes_mute_lock_and_talking_from_asterisk() -> None:
    board = board_after(joined(ALICE, 0, muted=True), joined(BOB, 0), talking(BOB, True, 1))
    snapshot = SeenRoom(GA, True, (seen(ALICE, is_talking=True), seen(BOB, muted=True)))
    effects = board.apply(Resynced((snapshot,), T + 5, (ALICE, BOB)))
    alice, bob = person(board, ALICE), person(board, BOB)
    assert (alice.muted, alice.talking, alice.talking_since) == (False, True, T + 5)
    assert (bob.muted, bob.talking, bob.talk_time) == (True, False, 4.0)
    live = board.room(GA)
    assert live is not None
    assert live.locked
    # Bob's spurt ended at the resync: its talk time is written like any other spurt's.
    assert LegUpdated(GA, BOB, 4.0, 1) in effects


def test_a_resync_that_finds_a_participant_muted_ends_their_turn() -> None:
    board = board_after(joined(ALICE, 0), talking(ALICE, True, 1), talking(ALICE, False, 2))
    board.apply(Resynced((SeenRoom(GA, False, (seen(ALICE, muted=True),)),), T + 10, (ALICE,)))
    board.apply(mute(ALICE, False, 11))
    board.apply(talking(ALICE, True, 12))
    assert person(board, ALICE).turns == 2


def test_a_resync_that_finds_a_muted_caller_talking_does_not_count_it() -> None:
    board = board_after(joined(ALICE, 0, muted=True))
    board.apply(Resynced((SeenRoom(GA, False, (seen(ALICE, True, True),)),), T + 5, (ALICE,)))
    alice = person(board, ALICE)
    assert (alice.talking, alice.turns) == (False, 0)


def test_a_resync_drops_entry_calls_asterisk_no_longer_has() -> None:
    board = board_after(CallArrived(ALICE, "1", T), CallArrived(BOB, "2", T))
    board.apply(Resynced((), T + 5, (BOB, "PJSIP/trunk-00000009")))
    assert list(board.entry_calls) == [BOB]


def test_a_resync_when_asterisk_has_no_channels_at_all_drops_every_entry_call() -> None:
    board = board_after(CallArrived(ALICE, "1", T))
    board.apply(Resynced((), T + 5, ()))
    assert board.entry_calls == {}


def test_a_resync_without_a_channel_list_keeps_the_entry_calls() -> None:
    board = board_after(CallArrived(ALICE, "1", T))
    board.apply(Resynced((), T + 5))
    assert list(board.entry_calls) == [ALICE]


def test_a_resync_moves_a_channel_asterisk_has_in_another_room() -> None:
    board = board_after(joined(ALICE, 0))
    effects = board.apply(
        Resynced((SeenRoom(GA, False), SeenRoom(WG, False, (seen(ALICE),))), T + 5, (ALICE,))
    )
    assert effects == [
        LegClosed(GA, ALICE, T + 5, 0.0, 0),
        CallOpened(WG, T + 5),
        leg_opened(ALICE, 5, room=WG),
        HistoryReconciled(frozenset({GA, WG}), frozenset({(WG, ALICE)}), T + 5),
    ]
    assert board.room_of(ALICE) == WG


# ---- the PBX connection ---------------------------------------------------------------------


def test_losing_the_pbx_marks_it_disconnected_and_keeps_the_roster() -> None:
    board = board_after(Resynced((), T), joined(ALICE, 1), CallArrived(BOB, "2", T + 1))
    assert board.pbx_connected
    assert board.apply(PbxLost(T + 2)) == []
    assert not board.pbx_connected
    assert board.room_of(ALICE) == GA
    assert list(board.entry_calls) == [BOB]


def test_a_resync_marks_the_pbx_connected() -> None:
    board = Switchboard()
    assert not board.pbx_connected
    board.apply(Resynced((), T))
    assert board.pbx_connected


# ---- any interleaving keeps the roster consistent -------------------------------------------

ROOMS = (GA, WG, "board")
CHANNELS = tuple(f"PJSIP/caller-{n:08x}" for n in range(5))

steps = st.sampled_from((0.0, 0.0, 0.25, 1.0, 2.5, 10.0))
rooms = st.sampled_from(ROOMS)
channels = st.sampled_from(CHANNELS)
roles = st.sampled_from(tuple(Role))


@st.composite
def snapshots(draw: st.DrawFn) -> tuple[tuple[SeenRoom, ...], tuple[str, ...]]:
    """What Asterisk could answer: each channel in at most one room, plus the live channels."""
    live_rooms = draw(st.lists(rooms, unique=True))
    members: dict[str, list[SeenParticipant]] = {room: [] for room in live_rooms}
    alive: list[str] = []
    for channel in CHANNELS:
        where = draw(st.sampled_from((None, None, *live_rooms)))
        if where is None:
            if draw(st.booleans()):
                alive.append(channel)  # still at the PIN prompt, or between rooms
            continue
        muted, is_talking = draw(st.booleans()), draw(st.booleans())
        members[where].append(
            SeenParticipant(channel, f"cid-{channel}", draw(roles), muted, is_talking)
        )
        alive.append(channel)
    snapshot = tuple(
        SeenRoom(room, draw(st.booleans()), tuple(members[room])) for room in live_rooms
    )
    return snapshot, tuple(alive)


class RosterMachine(RuleBasedStateMachine):
    """Feeds the reducer any interleaving of events and audits the state and every effect."""

    @initialize()
    def start(self) -> None:
        self.board = Switchboard()
        self.now = T
        self.open_calls: set[str] = set()
        self.open_legs: dict[tuple[str, str], float] = {}  # (room, channel) -> opened at
        self.written: dict[tuple[str, str], tuple[float, int]] = {}  # last talk time, turns

    # -- feeding and auditing --

    def feed(self, event: DomainEvent) -> list[Effect]:
        effects = self.board.apply(event)
        for effect in effects:
            self.audit(effect)
        return effects

    def at(self, step: float) -> float:
        self.now += step
        return self.now

    def audit(self, effect: Effect) -> None:
        match effect:
            case CallOpened(room=room):
                assert room not in self.open_calls, f"call {room} opened twice"
                self.open_calls.add(room)
            case CallClosed(room=room):
                assert room in self.open_calls, f"call {room} closed but not open"
                assert not [k for k in self.open_legs if k[0] == room], "call closed before legs"
                self.open_calls.discard(room)
            case LegOpened(room=room, channel=channel, at=at):
                assert room in self.open_calls, "leg opened before its call"
                assert (room, channel) not in self.open_legs, f"leg {room}/{channel} opened twice"
                assert not [k for k in self.open_legs if k[1] == channel], "channel in two legs"
                self.open_legs[(room, channel)] = at
                self.written[(room, channel)] = (0.0, 0)
            case LegUpdated(room=room, channel=channel):
                assert (room, channel) in self.open_legs, "update of a leg that is not open"
                self.check_written(room, channel, effect.talk_time, effect.turns, self.now)
            case LegClosed(room=room, channel=channel, at=at):
                assert (room, channel) in self.open_legs, f"leg {room}/{channel} closed twice"
                self.check_written(room, channel, effect.talk_time, effect.turns, at)
                del self.open_legs[(room, channel)]
                del self.written[(room, channel)]
            case HistoryReconciled():
                assert effect.live_rooms == frozenset(self.open_calls)
                assert effect.live_channels == frozenset(self.open_legs)

    def check_written(
        self, room: str, channel: str, talk_time: float, turns: int, at: float
    ) -> None:
        opened_at = self.open_legs[(room, channel)]
        assert 0.0 <= talk_time <= at - opened_at + 1e-6
        last_time, last_turns = self.written[(room, channel)]
        assert talk_time >= last_time - 1e-9, "talk time went backwards"
        assert turns >= last_turns, "turns went backwards"
        self.written[(room, channel)] = (talk_time, turns)

    # -- rules: what Asterisk can say --

    @rule(room=rooms, channel=channels, role=roles, muted=st.booleans(), step=steps)
    def join(self, room: str, channel: str, role: Role, muted: bool, step: float) -> None:
        self.feed(ParticipantJoined(room, channel, f"cid-{channel}", role, muted, self.at(step)))
        assert self.board.room_of(channel) == room
        assert channel not in self.board.entry_calls

    @rule(data=st.data(), other_room=st.none() | rooms, step=steps)
    def leave(self, data: st.DataObject, other_room: str | None, step: float) -> None:
        channel = self.pick(data)
        room = other_room or self.board.room_of(channel) or GA
        was_in = self.board.room_of(channel)
        self.feed(ParticipantLeft(room, channel, self.at(step)))
        live = self.board.room(room)
        assert live is None or channel not in live.participants
        if was_in != room:
            assert self.board.room_of(channel) == was_in  # a leave elsewhere moves nobody

    @rule(data=st.data(), muted=st.booleans(), step=steps)
    def mute(self, data: st.DataObject, muted: bool, step: float) -> None:
        channel = self.pick(data)
        room = self.board.room_of(channel) or GA
        self.feed(MuteChanged(room, channel, muted, self.at(step)))
        found = self._person(channel)
        if found is not None:
            assert found.muted == muted
            if muted:
                assert not found.talking

    @rule(data=st.data(), on=st.booleans(), step=steps)
    def talk(self, data: st.DataObject, on: bool, step: float) -> None:
        channel = self.pick(data)
        room = self.board.room_of(channel) or GA
        self.feed(TalkingChanged(room, channel, on, self.at(step)))
        found = self._person(channel)
        if found is not None:
            assert found.talking == (on and not found.muted)

    @rule(room=rooms, step=steps)
    def start_room(self, room: str, step: float) -> None:
        self.feed(RoomStarted(room, self.at(step)))
        assert self.board.room(room) is not None

    @rule(room=rooms, step=steps)
    def end_room(self, room: str, step: float) -> None:
        self.feed(RoomEnded(room, self.at(step)))
        assert self.board.room(room) is None

    @rule(room=rooms, locked=st.booleans(), recording=st.booleans(), step=steps)
    def flags(self, room: str, locked: bool, recording: bool, step: float) -> None:
        at = self.at(step)
        self.feed(LockChanged(room, locked, at))
        self.feed(RecordingChanged(room, recording, at))
        live = self.board.room(room)
        if live is not None:
            assert (live.locked, live.recording) == (locked, recording)

    @precondition(lambda self: any(self.board.room_of(c) is None for c in CHANNELS))
    @rule(data=st.data(), step=steps)
    def call_arrives(self, data: st.DataObject, step: float) -> None:
        # Asterisk creates a channel only under a name not in use.
        free = [c for c in CHANNELS if self.board.room_of(c) is None]
        channel = data.draw(st.sampled_from(free))
        self.feed(CallArrived(channel, f"cid-{channel}", self.at(step)))
        assert channel in self.board.entry_calls

    @rule(channel=channels, step=steps)
    def hang_up(self, channel: str, step: float) -> None:
        self.feed(CallHungUp(channel, self.at(step)))
        assert self.board.room_of(channel) is None
        assert channel not in self.board.entry_calls

    @rule(step=steps)
    def lose_the_pbx(self, step: float) -> None:
        assert self.feed(PbxLost(self.at(step))) == []
        assert not self.board.pbx_connected

    @rule(answer=snapshots(), step=steps)
    def resync(self, answer: tuple[tuple[SeenRoom, ...], tuple[str, ...]], step: float) -> None:
        snapshot, alive = answer
        before = {
            (room.name, p.channel): (p.joined_at, p.talk_time, p.turns)
            for room in self.board.rooms.values()
            for p in room.participants.values()
        }
        at = self.at(step)
        effects = self.feed(Resynced(snapshot, at, alive))
        assert isinstance(effects[-1], HistoryReconciled)
        assert self.board.pbx_connected
        # The roster is now exactly Asterisk's.
        assert set(self.board.rooms) == {r.room for r in snapshot}
        for seen_room in snapshot:
            live = self.board.rooms[seen_room.room]
            assert live.locked == seen_room.locked
            assert set(live.participants) == {p.channel for p in seen_room.participants}
            for p in seen_room.participants:
                mine = live.participants[p.channel]
                assert mine.muted == p.muted
                assert mine.talking == (p.talking and not p.muted)
                kept = before.get((seen_room.room, p.channel))
                if kept is None:
                    assert mine.joined_at == at
                else:
                    joined_at, talk_time, turns = kept
                    assert mine.joined_at == joined_at
                    assert mine.talk_time >= talk_time
                    assert mine.turns >= turns  # a talker found talking may start a turn
        assert set(self.board.entry_calls) <= set(alive)

    def pick(self, data: st.DataObject) -> str:
        """Mostly someone in a room, where things happen; now and then any channel at all."""
        present = [c for c in CHANNELS if self.board.room_of(c) is not None]
        if present and data.draw(st.integers(0, 3)) > 0:
            return data.draw(st.sampled_from(present))
        return data.draw(channels)

    def _person(self, channel: str) -> Participant | None:
        room = self.board.room_of(channel)
        return self.board.rooms[room].participants[channel] if room is not None else None

    # -- what must hold after every step --

    @invariant()
    def each_channel_is_in_at_most_one_room_and_the_index_agrees(self) -> None:
        where: dict[str, str] = {}
        for name, live in self.board.rooms.items():
            assert live.name == name
            for channel in live.participants:
                assert channel not in where, f"{channel} in {where[channel]} and {name}"
                where[channel] = name
        for channel in CHANNELS:
            assert self.board.room_of(channel) == where.get(channel)

    @invariant()
    def callers_at_the_prompt_are_in_no_room(self) -> None:
        for channel in self.board.entry_calls:
            assert self.board.room_of(channel) is None

    @invariant()
    def talk_time_is_never_negative_nor_more_than_the_time_since_joining(self) -> None:
        for live in self.board.rooms.values():
            for p in live.participants.values():
                assert p.joined_at >= live.started_at
                assert 0.0 <= p.talk_time <= p.talk_time_at(self.now)
                assert p.talk_time_at(self.now) <= self.now - p.joined_at + 1e-6
                assert p.talking == (p.talking_since is not None)
                assert not (p.muted and p.talking), "a muted caller is never on the floor"

    @invariant()
    def history_matches_the_roster(self) -> None:
        assert self.open_calls == set(self.board.rooms)
        assert set(self.open_legs) == {
            (name, channel)
            for name, live in self.board.rooms.items()
            for channel in live.participants
        }


RosterMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_any_interleaving_of_events_keeps_the_roster_consistent = RosterMachine.TestCase


@pytest.mark.parametrize("muted", [False, True])
def test_a_resync_straight_after_a_resync_changes_nothing(muted: bool) -> None:
    snapshot = (SeenRoom(GA, False, (seen(ALICE, muted=muted, is_talking=True), seen(BOB))),)
    board = board_after(Resynced(snapshot, T, (ALICE, BOB)))
    effects = board.apply(Resynced(snapshot, T + 1, (ALICE, BOB)))
    assert effects == [
        HistoryReconciled(frozenset({GA}), frozenset({(GA, ALICE), (GA, BOB)}), T + 1)
    ]


# ---- carrying history over a restart of the service -------------------------------------


def test_talk_time_and_turns_go_on_after_a_service_restart() -> None:
    # A new service finds Alice talking (mid-turn) and Bob quiet; history holds their past.
    alice = replace(seen(ALICE, is_talking=True), earlier_talk_time=40.0, earlier_turns=3)
    bob = replace(seen(BOB), earlier_talk_time=12.5, earlier_turns=2)
    board = Switchboard()
    board.apply(Resynced((SeenRoom(GA, False, (alice, bob)),), T))
    assert person(board, ALICE).talk_time_at(T + 5) == pytest.approx(45.0)
    assert person(board, ALICE).turns == 3, "the turn under way was already in history"
    assert (person(board, BOB).talk_time, person(board, BOB).turns) == (12.5, 2)
    effects = board.apply(talking(ALICE, False, 5))
    assert effects == [LegUpdated(GA, ALICE, pytest.approx(45.0), 3)]
    board.apply(talking(BOB, True, 6))
    assert person(board, BOB).turns == 2, "Bob, still unmuted, speaks on in his last turn"
    board.apply(mute(BOB, True, 7))
    board.apply(mute(BOB, False, 8))
    board.apply(talking(BOB, True, 9))
    assert person(board, BOB).turns == 3, "after a mute, speaking again is a new turn"


def test_earlier_history_is_ignored_for_someone_already_on_the_roster() -> None:
    board = board_after(joined(ALICE), talking(ALICE, True, 0), talking(ALICE, False, 4))
    again = replace(seen(ALICE), earlier_talk_time=99.0, earlier_turns=9)
    board.apply(Resynced((SeenRoom(GA, False, (again,)),), T + 10))
    assert (person(board, ALICE).talk_time, person(board, ALICE).turns) == (4.0, 1)


def test_a_checkpoint_reports_the_talk_time_of_everyone_talking_now() -> None:
    board = board_after(joined(ALICE), joined(BOB), talking(ALICE, True, 10))
    assert board.checkpoint(T + 16) == [LegUpdated(GA, ALICE, pytest.approx(6.0), 1)]
    assert person(board, ALICE).talking, "a checkpoint does not end the spurt"


def test_shutting_down_with_the_pbx_ends_every_call_for_history() -> None:
    board = board_after(joined(ALICE), joined(BOB, room=WG), talking(ALICE, True, 1))
    effects = board.shut_down(T + 11)
    assert LegClosed(GA, ALICE, T + 11, pytest.approx(10.0), 1) in effects
    assert {e.room for e in effects if isinstance(e, CallClosed)} == {GA, WG}
    assert board.rooms == {} and not board.pbx_connected


# ---- a leave ConfBridge did not report ------------------------------------------------------


def test_the_hangup_of_someone_still_in_a_room_is_heard_as_their_leave_with_its_cause() -> None:
    board = board_after(joined(ALICE, 0), joined(BOB, 0))
    explained = board.explain(CallHungUp(ALICE, T + 4, LeaveReason.TIMED_OUT))
    assert explained == ParticipantLeft(GA, ALICE, T + 4, LeaveReason.TIMED_OUT)
    assert board.apply(explained) == [LegClosed(GA, ALICE, T + 4, 0.0, 0, LeaveReason.TIMED_OUT)]
    assert board.explain(CallHungUp(ALICE, T + 5)) == CallHungUp(ALICE, T + 5)  # left now


def test_a_kicked_caller_whose_leave_was_lost_left_kicked() -> None:
    board = board_after(joined(ALICE, 0), RemovalOrdered(GA, ALICE, LeaveReason.KICKED, T + 3))
    explained = board.explain(CallHungUp(ALICE, T + 4, LeaveReason.HUNG_UP))
    assert explained == ParticipantLeft(GA, ALICE, T + 4, LeaveReason.KICKED)


def test_the_hangup_of_a_call_on_the_shared_number_stays_a_hangup() -> None:
    board = board_after(CallArrived(ALICE, "5551234", T))
    assert board.explain(CallHungUp(ALICE, T + 3)) == CallHungUp(ALICE, T + 3)
