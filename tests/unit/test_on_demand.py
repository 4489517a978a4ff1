"""Rooms on demand, the pure rules: what may be asked, names, fresh PINs, when it closes."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from bridge.domain.accounts import Principal, Via
from bridge.domain.on_demand import (
    PIN_DIGITS,
    BadRoomRequest,
    RoomRequest,
    closes_now,
    fresh_pin,
    fresh_pins,
    room_name,
)
from bridge.domain.rooms import ROOM_NAME
from tests.support import TEST_PIN_KEY

T0 = datetime(2026, 5, 1, 18, 0, tzinfo=UTC)


def test_a_request_keeps_its_title_trimmed_and_closes_after_its_hours() -> None:
    request = RoomRequest("  Budget working group ", hours=1.5)
    assert request.title == "Budget working group"
    assert request.closes_at(T0) == T0 + timedelta(minutes=90)


@pytest.mark.parametrize(
    ("title", "hours", "field"),
    [("", 4, "title"), ("   ", 4, "title"), ("x" * 201, 4, "title"), ("a\nb", 4, "title"),
     ("ok", 0, "hours"), ("ok", -1, "hours"), ("ok", 73, "hours")],
)  # fmt: skip
def test_a_request_that_cannot_be_given_says_which_field(
    title: str, hours: float, field: str
) -> None:
    with pytest.raises(BadRoomRequest, match=f"^{field}: "):
        RoomRequest(title, hours)


def test_a_room_name_is_a_slug_of_its_title_with_a_random_tail() -> None:
    name = room_name("Réunion: Île-de-France!", set(), random.Random(1).randrange)
    assert ROOM_NAME.fullmatch(name)
    assert name.startswith("reunion-ile-de-france-")


def test_a_room_name_never_repeats_a_taken_one() -> None:
    draws = iter([7, 7, 8])
    name = room_name("Call", {"call-0007"}, lambda _: next(draws))
    assert name == "call-0008"


def test_a_title_of_no_letters_still_gives_a_valid_name() -> None:
    assert ROOM_NAME.fullmatch(room_name("¿¿??", set(), lambda _: 42))
    assert ROOM_NAME.fullmatch(room_name("x" * 200, set(), lambda _: 42))


def test_a_fresh_pin_has_eight_digits_and_no_leading_zero() -> None:
    pin = fresh_pin(set(), TEST_PIN_KEY.hash, lambda _: 0)
    assert pin == "1" + "0" * (PIN_DIGITS - 1)
    assert len(fresh_pin(set(), TEST_PIN_KEY.hash, lambda n: n - 1)) == PIN_DIGITS


def test_a_fresh_pin_is_none_whose_hash_any_room_has() -> None:
    draws = iter([0, 0, 1])  # 10000000 twice (taken), then 10000001
    taken = {TEST_PIN_KEY.hash("10000000")}
    assert fresh_pin(taken, TEST_PIN_KEY.hash, lambda _: next(draws)) == "10000001"


def test_the_moderator_pin_differs_from_the_participant_pin() -> None:
    draws = iter([5, 5, 6])
    pin, moderator_pin = fresh_pins(set(), TEST_PIN_KEY.hash, lambda _: next(draws))
    assert (pin, moderator_pin) == ("10000005", "10000006")


def test_a_room_closes_only_when_its_time_is_up_and_it_is_empty() -> None:
    closes_at = T0 + timedelta(hours=4)
    assert not closes_now(closes_at, T0, participants=0)
    assert not closes_now(closes_at, closes_at + timedelta(hours=1), participants=3)
    assert closes_now(closes_at, closes_at, participants=0)


def test_a_host_and_the_admin_token_may_open_rooms() -> None:
    assert Principal("ana", rooms=frozenset({"general"})).may_open_rooms()
    assert Principal.admin().may_open_rooms()


def test_a_read_only_token_or_a_moderator_of_no_room_may_not_open_rooms() -> None:
    assert not Principal(
        "bot", rooms=frozenset({"general"}), via=Via.TOKEN, read_only=True
    ).may_open_rooms()
    assert not Principal("nobody").may_open_rooms()
