"""The shared number's rules: who gets in as what (guessing: tests/unit/test_guard.py)."""

from __future__ import annotations

import configparser
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from bridge.domain.entry import (
    QUIET_FROM_PARTICIPANTS,
    Admission,
    LiveRoomFacts,
    Refusal,
    admit,
    next_call_begins,
    outside_schedule,
)
from bridge.domain.events import Role
from bridge.domain.pin_outcomes import caller_hears, outcome_of
from bridge.domain.rooms import RoomSpec
from bridge.domain.schedule import Schedule

PROJECT = Path(__file__).resolve().parents[2]
OPEN = RoomSpec(name="ga", title="General assembly", pin="1111", max_participants=10)
MUTED = RoomSpec(name="plenary", title="Plenary", pin="2222", muted_on_entry=True)

EMPTY = LiveRoomFacts()
FULL = LiveRoomFacts(participants=10)
LOCKED = LiveRoomFacts(participants=1, locked=True)


# ---- admit ----------------------------------------------------------------------------------


def test_a_pin_that_matched_nothing_is_a_wrong_pin() -> None:
    assert admit(None, None, False, EMPTY) is Refusal.WRONG_PIN


def test_a_matched_room_without_a_role_is_still_a_wrong_pin() -> None:
    assert admit(OPEN, None, False, EMPTY) is Refusal.WRONG_PIN


def test_a_participant_gets_into_an_open_room_with_space() -> None:
    assert admit(OPEN, Role.PARTICIPANT, False, EMPTY) == Admission(OPEN, Role.PARTICIPANT)


def test_a_participant_is_refused_a_locked_room() -> None:
    assert admit(OPEN, Role.PARTICIPANT, False, LOCKED) is Refusal.ROOM_LOCKED


def test_a_participant_is_refused_a_full_room() -> None:
    assert admit(OPEN, Role.PARTICIPANT, False, FULL) is Refusal.ROOM_FULL


def test_a_participant_is_refused_a_room_over_its_limit() -> None:
    # The limit can be lowered by a rooms file reload while the room is busy.
    assert admit(OPEN, Role.PARTICIPANT, False, LiveRoomFacts(25)) is Refusal.ROOM_FULL


def test_the_last_seat_is_taken_and_then_the_room_is_full() -> None:
    assert isinstance(admit(OPEN, Role.PARTICIPANT, False, LiveRoomFacts(9)), Admission)
    assert admit(OPEN, Role.PARTICIPANT, False, LiveRoomFacts(10)) is Refusal.ROOM_FULL


def test_a_locked_full_room_says_locked_rather_than_full() -> None:
    facts = LiveRoomFacts(participants=10, locked=True)
    assert admit(OPEN, Role.PARTICIPANT, False, facts) is Refusal.ROOM_LOCKED


@pytest.mark.parametrize("role", list(Role))
def test_a_retired_room_refuses_everyone(role: Role) -> None:
    assert admit(OPEN, role, True, EMPTY) is Refusal.ROOM_RETIRED


@pytest.mark.parametrize(
    "facts",
    [EMPTY, LOCKED, FULL, LiveRoomFacts(10_000, locked=True)],
    ids=["empty", "locked", "full", "locked-and-full"],
)
def test_a_moderator_gets_into_a_locked_or_full_room(facts: LiveRoomFacts) -> None:
    assert admit(OPEN, Role.MODERATOR, False, facts) == Admission(OPEN, Role.MODERATOR)


@settings(max_examples=200, deadline=None)
@given(
    role=st.none() | st.sampled_from(list(Role)),
    matched=st.booleans(),
    retired=st.booleans(),
    participants=st.integers(0, 20),
    locked=st.booleans(),
)
def test_admit_lets_in_exactly_those_the_rules_allow(
    role: Role | None, matched: bool, retired: bool, participants: int, locked: bool
) -> None:
    room = OPEN if matched else None
    decision = admit(room, role, retired, LiveRoomFacts(participants, locked))
    allowed = (
        room is not None
        and role is not None
        and not retired
        and (role is Role.MODERATOR or (not locked and participants < OPEN.max_participants))
    )
    assert isinstance(decision, Admission) == allowed
    if isinstance(decision, Admission):
        assert (decision.room, decision.role) == (room, role)
    else:
        assert decision in {
            Refusal.WRONG_PIN,
            Refusal.ROOM_RETIRED,
            Refusal.ROOM_LOCKED,
            Refusal.ROOM_FULL,
        }


# ---- what an admission sets up --------------------------------------------------------------


def test_a_participant_joins_an_open_room_unmuted_with_the_participant_menu() -> None:
    admission = Admission(OPEN, Role.PARTICIPANT)
    assert not admission.start_muted
    assert admission.user_profile == "iobridge_participant"
    assert admission.menu == "iobridge_participant_menu"


def test_a_participant_joins_a_room_muted_on_entry_muted_with_the_listener_menu() -> None:
    admission = Admission(MUTED, Role.PARTICIPANT)
    assert admission.start_muted
    assert admission.user_profile == "iobridge_participant"
    assert admission.menu == "iobridge_listener_menu"  # no *6: the moderators give the floor


@pytest.mark.parametrize("room", [OPEN, MUTED], ids=["open", "muted-on-entry"])
def test_a_moderator_always_joins_unmuted_with_the_moderator_menu(room: RoomSpec) -> None:
    admission = Admission(room, Role.MODERATOR)
    assert not admission.start_muted
    assert admission.user_profile == "iobridge_moderator"
    assert admission.menu == "iobridge_moderator_menu"


def _confbridge_sections() -> dict[str, dict[str, str]]:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(PROJECT / "asterisk-config" / "confbridge.conf")
    return {name: dict(parser[name]) for name in parser.sections()}


@pytest.mark.parametrize(
    "admission",
    [Admission(room, role) for room in (OPEN, MUTED) for role in Role],
    ids=lambda a: f"{a.role}-in-{a.room.name}",
)
def test_every_profile_and_menu_an_admission_names_exists_in_confbridge_conf(
    admission: Admission,
) -> None:
    sections = _confbridge_sections()
    assert sections[admission.user_profile]["type"].strip() == "user"
    assert sections[admission.menu]["type"].strip() == "menu"


def test_the_listener_menu_offers_no_self_unmute() -> None:
    listener = _confbridge_sections()["iobridge_listener_menu"]
    assert "toggle_mute" not in " ".join(listener.values())


# ---- quiet joins in big rooms ---------------------------------------------------------------


def test_a_participant_joins_quietly_once_the_room_has_thirty_participants() -> None:
    big = RoomSpec(name="big", title="Big", pin="3333", moderator_pin="3334", max_participants=900)
    assert admit(big, Role.PARTICIPANT, False, LiveRoomFacts(participants=29)) == Admission(
        big, Role.PARTICIPANT, quiet=False
    )
    assert admit(big, Role.PARTICIPANT, False, LiveRoomFacts(participants=30)) == Admission(
        big, Role.PARTICIPANT, quiet=True
    )
    assert QUIET_FROM_PARTICIPANTS == 30


def test_a_moderator_keeps_the_join_sound_in_a_big_room() -> None:
    big = RoomSpec(name="big", title="Big", pin="3333", moderator_pin="3334", max_participants=900)
    admission = admit(big, Role.MODERATOR, False, LiveRoomFacts(participants=400))
    assert isinstance(admission, Admission) and not admission.quiet


# ---- a room closed outside its schedule ---------------------------------------------------

THURSDAYS = Schedule("FREQ=WEEKLY;BYDAY=TH;BYHOUR=20", "America/New_York", 90)
CLOSED_ROOM = RoomSpec("thu", "Thursday", pin="3333", schedule=THURSDAYS)
CLOSED_ROOM = replace(CLOSED_ROOM, admit_outside_schedule=False)
TEN_MINUTES = timedelta(minutes=10)


def test_a_participant_is_told_the_call_has_not_started_and_a_moderator_gets_in() -> None:
    assert admit(CLOSED_ROOM, Role.PARTICIPANT, False, EMPTY, closed=True) is Refusal.NOT_STARTED
    assert isinstance(admit(CLOSED_ROOM, Role.MODERATOR, False, EMPTY, closed=True), Admission)


def test_a_right_pin_outside_the_schedule_is_no_failure_for_the_guard() -> None:
    assert not outcome_of(Refusal.NOT_STARTED).is_failure
    assert caller_hears(Refusal.NOT_STARTED, failed_before=3) is Refusal.NOT_STARTED


def test_the_room_is_closed_outside_its_window_and_open_from_the_grace_before_it() -> None:
    start = datetime(2026, 12, 11, 1, tzinfo=UTC)
    assert outside_schedule(CLOSED_ROOM, start - timedelta(minutes=11), TEN_MINUTES)
    assert not outside_schedule(CLOSED_ROOM, start - timedelta(minutes=10), TEN_MINUTES)
    assert not outside_schedule(CLOSED_ROOM, start + timedelta(minutes=89), TEN_MINUTES)
    assert outside_schedule(CLOSED_ROOM, start + timedelta(minutes=90), TEN_MINUTES)


def test_a_room_that_admits_outside_its_schedule_is_never_closed() -> None:
    open_room = replace(CLOSED_ROOM, admit_outside_schedule=True)
    assert not outside_schedule(open_room, datetime(2026, 12, 7, tzinfo=UTC), TEN_MINUTES)


def test_the_next_call_is_told_in_the_rooms_zone() -> None:
    begins = next_call_begins(CLOSED_ROOM, datetime(2026, 12, 7, tzinfo=UTC))
    assert begins is not None and (begins.hour, str(begins.tzinfo)) == (20, "America/New_York")
