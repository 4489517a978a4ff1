"""The in-memory PIN index chooses as ``match_pin`` does (its store test compares the two on a
real database; here, the preference rules on their own). It is keyed on the PINs' keyed
hashes, as the database keeps them: no PIN is held in memory."""

from __future__ import annotations

from bridge.domain.events import Role
from bridge.domain.rooms import RoomSpec
from bridge.store.room_cache import PinIndex
from bridge.store.rooms import StoredRoom
from tests.support import TEST_PIN_KEY

OLD = RoomSpec(name="old", title="Old", pin="", moderator_pin=None)
NEW = RoomSpec(name="new", title="New", pin="", moderator_pin=None)
SAME = RoomSpec(name="same", title="Same", pin="", moderator_pin=None)


def stored(spec: RoomSpec, pin: str, moderator_pin: str, retired: bool = False) -> StoredRoom:
    return StoredRoom(spec, retired, TEST_PIN_KEY.hash(pin), TEST_PIN_KEY.hash(moderator_pin))


def hashed(digits: str) -> str:
    return TEST_PIN_KEY.hash(digits)


def test_an_active_room_wins_over_a_retired_one_with_the_same_pin() -> None:
    index = PinIndex.build(1, [stored(NEW, "1111", "2222"), stored(OLD, "1111", "9999", True)])
    found = index.match(hashed("1111"))
    assert found is not None and (found.room, found.retired) == (NEW, False)
    retired = index.match(hashed("9999"))
    assert retired is not None and (retired.room, retired.role, retired.retired) == (
        OLD,
        Role.MODERATOR,
        True,
    )


def test_a_pin_that_is_both_a_rooms_pin_and_its_moderator_pin_lets_in_a_participant() -> None:
    found = PinIndex.build(1, [stored(SAME, "5555", "5555")]).match(hashed("5555"))
    assert found is not None and found.role is Role.PARTICIPANT


def test_no_digits_and_unknown_digits_match_nothing() -> None:
    index = PinIndex.build(1, [stored(NEW, "1111", "2222")])
    assert index.match("") is None
    assert index.match(hashed("111")) is None
    assert index.match("1111") is None  # the digits themselves are no key


def test_the_index_holds_no_pin() -> None:
    index = PinIndex.build(1, [stored(NEW, "424242", "919191")])
    assert "424242" not in repr(index) and "424242" not in str(index.matches)
