"""Points of process from one caller, at most one per interval (``ProcessThrottle``)."""

from __future__ import annotations

from bridge.domain.speakers.throttle import ProcessThrottle

ROOM, OTHER = "ga", "other"


def test_a_second_point_of_process_within_the_interval_waits_for_the_rest_of_it() -> None:
    throttle = ProcessThrottle()
    assert throttle.wait(ROOM, "5550101", 100.0, 60) == 0
    throttle.raised(ROOM, "5550101", 100.0)
    assert throttle.wait(ROOM, "5550101", 110.5, 60) == 50
    assert throttle.wait(ROOM, "5550101", 160.0, 60) == 0  # the interval is over


def test_only_a_raise_starts_the_interval_not_a_press_held_back() -> None:
    throttle = ProcessThrottle()
    throttle.raised(ROOM, "5550101", 100.0)
    throttle.wait(ROOM, "5550101", 150.0, 60)
    assert throttle.wait(ROOM, "5550101", 161.0, 60) == 0


def test_each_caller_and_each_room_has_its_own_interval_and_zero_is_no_limit() -> None:
    throttle = ProcessThrottle()
    throttle.raised(ROOM, "5550101", 100.0)
    assert throttle.wait(ROOM, "5550102", 101.0, 60) == 0
    assert throttle.wait(OTHER, "5550101", 101.0, 60) == 0
    assert throttle.wait(ROOM, "5550101", 101.0, 0) == 0


def test_a_call_that_ends_forgets_its_callers() -> None:
    throttle = ProcessThrottle()
    throttle.raised(ROOM, "5550101", 100.0)
    throttle.forget(ROOM)
    assert throttle.wait(ROOM, "5550101", 101.0, 60) == 0


def test_the_rooms_file_reads_the_interval_and_names_a_bad_one() -> None:
    from tests.unit.test_roomsfile import parse, problem

    room = """\
        rooms:
          - name: ga
            pin: "24681357"
            process_key_interval: {}
        """
    assert parse(room.format(0)).rooms[0].process_key_interval == 0
    assert parse(room.format(120)).rooms[0].process_key_interval == 120
    assert problem(room.format(-5)) == (
        "rooms.yaml:4: rooms[0].process_key_interval: must be a whole number of seconds"
        " from 0 to 3600 (0: no limit), got -5"
    )
