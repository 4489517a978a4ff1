"""The in-memory PIN index chooses as ``match_pin`` does (its store test compares the two on a
real database; here, the preference rules on their own)."""

from __future__ import annotations

import asyncio

from bridge.domain.events import Role
from bridge.domain.rooms import RoomSpec
from bridge.service.entry import KeyedLocks
from bridge.store.room_cache import PinIndex

OLD = RoomSpec(name="old", title="Old", pin="1111", moderator_pin="9999")
NEW = RoomSpec(name="new", title="New", pin="1111", moderator_pin="2222")
SAME = RoomSpec(name="same", title="Same", pin="5555", moderator_pin="5555")


def test_an_active_room_wins_over_a_retired_one_with_the_same_pin() -> None:
    index = PinIndex.build(1, [(NEW, False), (OLD, True)])
    found = index.match("1111")
    assert found is not None and (found.room, found.retired) == (NEW, False)
    retired = index.match("9999")
    assert retired is not None and (retired.room, retired.role, retired.retired) == (
        OLD,
        Role.MODERATOR,
        True,
    )


def test_a_pin_that_is_both_a_rooms_pin_and_its_moderator_pin_lets_in_a_participant() -> None:
    found = PinIndex.build(1, [(SAME, False)]).match("5555")
    assert found is not None and found.role is Role.PARTICIPANT


def test_no_digits_and_unknown_digits_match_nothing() -> None:
    index = PinIndex.build(1, [(NEW, False)])
    assert index.match("") is None
    assert index.match("111") is None


def test_keyed_locks_serialise_one_key_and_leave_others_free() -> None:
    locks = KeyedLocks()
    order: list[str] = []

    async def decide(key: str, name: str, pause: float) -> None:
        async with locks.hold(key):
            order.append(f"{name}+")
            await asyncio.sleep(pause)
            order.append(f"{name}-")

    async def main() -> None:
        await asyncio.gather(decide("a", "a1", 0.05), decide("a", "a2", 0), decide("b", "b1", 0))

    asyncio.run(main())
    assert order.index("a1-") < order.index("a2+")  # same bucket: one at a time
    assert order.index("b1-") < order.index("a1-")  # another bucket did not wait
    assert len(locks) == 0  # nothing kept once nobody holds or waits
