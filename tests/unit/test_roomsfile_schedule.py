"""The rooms file's ``schedule:``, ``public:``, ``show_pin:`` and ``admit_outside_schedule:``:
read with a line for every problem, like the rest of the file."""

from __future__ import annotations

import pytest

from bridge.domain.schedule import Schedule
from bridge.roomsfile import RoomsFileError, parse_rooms_text

GOOD = """\
rooms:
  - name: thursday
    pin: "42424242"
    public: true
    show_pin: true
    admit_outside_schedule: false
    schedule: {rrule: "FREQ=WEEKLY;BYDAY=TH;BYHOUR=20", tz: America/New_York, minutes: 90}
  - name: fortnight
    pin: "52525252"
    schedule:
      rrule: "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH;BYHOUR=20"
      tz: Europe/Paris
      minutes: 60
      start: 2026-12-03
"""


def messages(text: str) -> list[str]:
    with pytest.raises(RoomsFileError) as caught:
        parse_rooms_text(text, "rooms.yaml")
    return [str(p) for p in caught.value.problems]


def test_a_scheduled_public_room_is_read_with_its_settings() -> None:
    thursday, fortnight = parse_rooms_text(GOOD, "rooms.yaml").rooms
    assert thursday.schedule == Schedule("FREQ=WEEKLY;BYDAY=TH;BYHOUR=20", "America/New_York", 90)
    assert (thursday.public, thursday.show_pin, thursday.admit_outside_schedule) == (
        True,
        True,
        False,
    )
    assert fortnight.schedule is not None and str(fortnight.schedule.start) == "2026-12-03"
    assert (fortnight.public, fortnight.admit_outside_schedule) == (False, True)


def test_each_wrong_part_of_a_schedule_names_its_own_line() -> None:
    text = """\
rooms:
  - name: bad
    pin: "42424242"
    schedule:
      rrule: "FREQ=WEEKLY;BYDAY=XX;BYHOUR=20"
      tz: America/New_Yrok
      minutes: 900
"""
    assert messages(text) == [
        "rooms.yaml:5: rooms[0].schedule: rrule: not a recurrence rule: invalid 'BYDAY': XX",
        "rooms.yaml:6: rooms[0].schedule: tz: unknown time zone 'America/New_Yrok'"
        " (expected an IANA zone like 'America/New_York')",
        "rooms.yaml:7: rooms[0].schedule: minutes: must be from 5 to 720 minutes, got 900",
    ]


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ('"weekly"', "3: rooms[0].schedule: must be {rrule:"),
        ('{rrule: "FREQ=WEEKLY;BYHOUR=20", tz: UTC}', "required key 'minutes' is missing"),
        ('{rrule: "FREQ=WEEKLY;BYHOUR=20", tz: UTC, minutes: 60, at: 8}', "unknown key 'at'"),
        ('{rrule: "FREQ=WEEKLY;BYHOUR=20", tz: UTC, minutes: "60"}', "minutes: must be a whole"),
        ('{rrule: "FREQ=WEEKLY;BYHOUR=20", tz: UTC, minutes: 60, start: 2026-02-30}', "start:"),
    ],
)
def test_a_schedule_of_the_wrong_shape_says_what_was_expected(schedule: str, expected: str) -> None:
    text = f'rooms:\n  - name: bad\n    schedule: {schedule}\n    pin: "42424242"\n'
    (message,) = messages(text)
    assert message.startswith("rooms.yaml:3: rooms[0].schedule: ") and expected in message


def test_a_pin_is_shown_only_for_a_public_room() -> None:
    text = 'rooms:\n  - name: r\n    pin: "42424242"\n    show_pin: true\n'
    assert messages(text) == [
        "rooms.yaml:4: rooms[0].show_pin: only a public room shows its PIN: add public: true"
    ]


def test_a_room_closed_outside_its_schedule_needs_a_schedule() -> None:
    text = 'rooms:\n  - name: r\n    pin: "42424242"\n    admit_outside_schedule: false\n'
    (message,) = messages(text)
    assert message.startswith("rooms.yaml:4: rooms[0].admit_outside_schedule: needs a schedule")
