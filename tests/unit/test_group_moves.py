"""The roster through a breakout: a caller moved into a group's conference and back stays in
the room the whole time (one leg, no leave heard by the stack or polls), with their group."""

from __future__ import annotations

from bridge.asterisk.ami_events import to_domain
from bridge.domain.events import (
    CallHungUp,
    LeaveReason,
    MainConferenceEmptied,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantMoved,
    RemovalOrdered,
    Resynced,
    Role,
    RoomEnded,
    SeenParticipant,
    SeenRoom,
)
from bridge.domain.group_moves import conference_of
from bridge.domain.roster import LegClosed, LegOpened, Switchboard

T = 1_764_100_000.0
ROOM, ALICE = "ga", "PJSIP/anonymous-00000001"


def apply(board: Switchboard, event) -> tuple[object, list[object]]:
    explained = board.explain(event)
    return explained, list(board.apply(explained))


def in_room() -> Switchboard:
    board = Switchboard()
    board.apply(ParticipantJoined(ROOM, ALICE, "5550001", Role.PARTICIPANT, True, T))
    return board


def moved_to(board: Switchboard, group: str | None, at: float) -> list[object]:
    board.apply(RemovalOrdered(ROOM, ALICE, LeaveReason.MOVED, at))
    before = board.rooms[ROOM].participants[ALICE].group
    left, effects = apply(board, ParticipantLeft(ROOM, ALICE, at, group=before))
    assert isinstance(left, ParticipantMoved) and not left.settled
    joined, more = apply(
        board, ParticipantJoined(ROOM, ALICE, "5550001", Role.PARTICIPANT, False, at, group=group)
    )
    assert isinstance(joined, ParticipantMoved) and joined.settled and joined.group == group
    return effects + more


def test_a_caller_moved_into_a_group_stays_in_the_room_with_their_group_and_one_leg() -> None:
    board = in_room()
    assert moved_to(board, "group-1", T + 5) == []
    person = board.rooms[ROOM].participants[ALICE]
    assert person.group == "group-1" and not person.moving and not person.muted
    assert moved_to(board, None, T + 60) == []
    assert board.rooms[ROOM].participants[ALICE].group is None


def test_the_main_conference_ending_while_people_are_in_groups_does_not_end_the_room() -> None:
    board = in_room()
    moved_to(board, "group-1", T + 5)
    event, effects = apply(board, RoomEnded(ROOM, T + 6))
    assert isinstance(event, MainConferenceEmptied) and effects == []
    assert ALICE in board.rooms[ROOM].participants


def test_a_caller_who_hangs_up_in_a_group_leaves_the_room_as_hung_up() -> None:
    board = in_room()
    moved_to(board, "group-1", T + 5)
    _, effects = apply(board, ParticipantLeft(ROOM, ALICE, T + 9, group="group-1"))
    assert [e.reason for e in effects if isinstance(e, LegClosed)] == [LeaveReason.HUNG_UP]


def test_a_caller_who_hangs_up_on_the_way_leaves_the_room() -> None:
    board = in_room()
    board.apply(RemovalOrdered(ROOM, ALICE, LeaveReason.MOVED, T + 5))
    apply(board, ParticipantLeft(ROOM, ALICE, T + 5))
    heard, effects = apply(board, CallHungUp(ALICE, T + 6, LeaveReason.HUNG_UP))
    assert [e.reason for e in effects if isinstance(e, LegClosed)] == [LeaveReason.HUNG_UP]
    # What listens for leaves (the stack, the groups, the keys) hears this one.
    assert heard == ParticipantLeft(ROOM, ALICE, T + 6, LeaveReason.HUNG_UP)


def test_a_groups_conference_reads_as_its_room_and_its_start_and_end_as_nothing() -> None:
    join = {"Event": "ConfbridgeJoin", "Conference": "ga~group-2", "Channel": ALICE}
    event = to_domain(join)
    assert isinstance(event, ParticipantJoined)
    assert (event.room, event.group) == ("ga", "group-2")
    assert to_domain({"Event": "ConfbridgeEnd", "Conference": "ga~group-2"}) is None
    assert to_domain({"Event": "ConfbridgeStart", "Conference": "ga~group-2"}) is None


def test_a_resync_finds_group_members_in_their_room_with_their_group() -> None:
    board = Switchboard()
    seen = SeenParticipant(ALICE, "5550001", Role.PARTICIPANT, False, False, group="group-1")
    effects = board.apply(Resynced((SeenRoom(ROOM, False, (seen,)),), T))
    assert [e.room for e in effects if isinstance(e, LegOpened)] == [ROOM]
    assert board.rooms[ROOM].participants[ALICE].group == "group-1"


def test_a_caller_is_acted_on_in_their_groups_conference_and_back_in_the_rooms() -> None:
    board = in_room()
    people = board.rooms[ROOM].participants
    assert conference_of(ROOM, people, ALICE) == ROOM
    moved_to(board, "group-2", T + 5)
    assert conference_of(ROOM, people, ALICE) == "ga~group-2"
    moved_to(board, None, T + 60)
    assert conference_of(ROOM, people, ALICE) == ROOM
    assert conference_of(ROOM, people, "PJSIP/nobody-00000009") == ROOM
    assert conference_of(ROOM, None, ALICE) == ROOM
