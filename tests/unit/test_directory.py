"""The directory's listing: public rooms only, soonest call first, a live call before all,
rooms open at any time last, PINs only where a room shows them."""

from __future__ import annotations

from datetime import UTC, datetime

from bridge.domain.directory import DialIn, dial_ins, listing
from bridge.domain.rooms import RoomSpec
from bridge.domain.schedule import Schedule
from bridge.domain.trunks import TrunkKind, TrunkNumber, TrunkSpec

NOW = datetime(2026, 12, 10, 12, tzinfo=UTC)  # a Thursday
THURSDAY = Schedule("FREQ=WEEKLY;BYDAY=TH;BYHOUR=20", "America/New_York", 90)
FRIDAY = Schedule("FREQ=WEEKLY;BYDAY=FR;BYHOUR=9", "Europe/Paris", 60)
TRUNK = TrunkSpec(
    "carrier",
    TrunkKind.IP,
    "203.0.113.10",
    numbers=(
        TrunkNumber("+15557770000"),
        TrunkNumber("+15557770001", "ga", pin_required=False),
        TrunkNumber("+15557770002", "other"),
    ),
)


def room(name: str, **fields: object) -> RoomSpec:
    return RoomSpec(name, name.upper(), pin="42424242", **fields)  # type: ignore[arg-type]


def test_only_public_rooms_are_listed_soonest_first_and_unscheduled_last() -> None:
    rooms = [
        room("ga", schedule=THURSDAY, public=True),
        room("paris", schedule=FRIDAY, public=True),
        room("hidden", schedule=THURSDAY),
        room("drop-in", public=True),
    ]
    found = listing(rooms, [TRUNK], {}, NOW)
    assert [c.room for c in found[:3]] == ["ga", "paris", "ga"]
    assert found[-1].room == "drop-in" and found[-1].occurrence is None
    assert "hidden" not in {c.room for c in found}


def test_a_pin_is_listed_only_for_a_room_that_shows_it() -> None:
    rooms = [room("ga", schedule=THURSDAY, public=True, show_pin=True)]
    rooms.append(room("paris", schedule=FRIDAY, public=True))
    found = listing(rooms, [], {"ga": "42424242", "paris": "52525252"}, NOW)
    assert {c.room: c.pin for c in found} == {"ga": "42424242", "paris": None}


def test_a_rooms_own_numbers_come_before_the_shared_ones() -> None:
    assert dial_ins("ga", [TRUNK]) == (
        DialIn("+15557770001", pin_needed=False),
        DialIn("+15557770000"),
    )


def test_a_live_call_is_marked_live() -> None:
    during = datetime(2026, 12, 11, 1, 30, tzinfo=UTC)
    (first, *_) = listing([room("ga", schedule=THURSDAY, public=True)], [], {}, during)
    assert first.live(during)
