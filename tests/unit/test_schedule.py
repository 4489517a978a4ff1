"""A room's schedule: an RFC 5545 rule expanded by dateutil in the room's zone. The wall-clock
hour holds across daylight-saving changes; lengths are real minutes; bad schedules say why."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bridge.domain.schedule import Schedule, ScheduleError, parse_schedule, problems

NEW_YORK = ZoneInfo("America/New_York")
THURSDAYS = parse_schedule("FREQ=WEEKLY;BYDAY=TH;BYHOUR=20", "America/New_York", 90)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_the_next_call_is_at_the_rules_hour_in_the_rooms_zone() -> None:
    (call,) = THURSDAYS.upcoming(utc(2026, 12, 7, 12))
    assert call.start == datetime(2026, 12, 10, 20, 0, tzinfo=NEW_YORK)
    assert call.start_utc == utc(2026, 12, 11, 1)  # EST: UTC-5
    assert call.end_utc - call.start_utc == timedelta(minutes=90)


def test_the_local_hour_is_kept_when_new_york_falls_back_in_november() -> None:
    # 2026-11-01: clocks go back. The Thursday before is EDT (UTC-4), the one after EST.
    before, after = THURSDAYS.upcoming(utc(2026, 10, 29, 12), count=2)
    assert (before.start.hour, after.start.hour) == (20, 20)
    assert before.start_utc == utc(2026, 10, 30, 0)
    assert after.start_utc == utc(2026, 11, 6, 1)


def test_the_local_hour_is_kept_when_new_york_springs_forward_in_march() -> None:
    # 2027-03-14: clocks go forward. 20:00 EST is 01:00 UTC; 20:00 EDT is 00:00 UTC.
    before, after = THURSDAYS.upcoming(utc(2027, 3, 11, 12), count=2)
    assert before.start_utc == utc(2027, 3, 12, 1)
    assert after.start_utc == utc(2027, 3, 19, 0)
    assert after.start.hour == 20


def test_a_call_spanning_the_change_lasts_its_real_minutes() -> None:
    night = parse_schedule("FREQ=DAILY;BYHOUR=1", "America/New_York", 120)
    (call,) = night.upcoming(utc(2026, 11, 1, 4))  # 00:00 EDT, 1 November
    assert call.end_utc - call.start_utc == timedelta(minutes=120)
    assert call.end.hour == 2  # 01:00 EDT + 2 h = 02:00 EST (the clock went back)


def test_a_call_is_current_from_the_grace_before_its_start_to_its_end() -> None:
    start = utc(2026, 12, 11, 1)
    early = timedelta(minutes=10)
    assert THURSDAYS.current(start - timedelta(minutes=11), early) is None
    assert THURSDAYS.current(start - timedelta(minutes=9), early) is not None
    assert THURSDAYS.current(start + timedelta(minutes=89), early) is not None
    assert THURSDAYS.current(start + timedelta(minutes=90), early) is None


def test_a_live_call_comes_first_among_the_upcoming_ones() -> None:
    live, following = THURSDAYS.upcoming(utc(2026, 12, 11, 2), count=2)
    assert live.live(utc(2026, 12, 11, 2))
    assert following.start_utc == utc(2026, 12, 18, 1)


def test_every_other_week_counts_from_the_start_date() -> None:
    fortnightly = parse_schedule(
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH;BYHOUR=20", "Europe/Paris", 60, date(2026, 12, 3)
    )
    starts = [c.start.date() for c in fortnightly.upcoming(utc(2026, 12, 1), count=3)]
    assert starts == [date(2026, 12, 3), date(2026, 12, 17), date(2026, 12, 31)]


def test_a_rule_that_has_ended_has_no_next_call() -> None:
    once = parse_schedule(
        "FREQ=WEEKLY;BYDAY=TH;BYHOUR=20;UNTIL=20261231T000000Z", "America/New_York", 60
    )
    assert once.next_start(utc(2027, 1, 1)) is None
    assert once.upcoming(utc(2027, 1, 1)) == []


@pytest.mark.parametrize(
    ("rule", "tz", "minutes", "field", "words"),
    [
        ("FREQ=WEEKLY;BYDAY=XX;BYHOUR=20", "UTC", 60, "rrule", "invalid 'BYDAY': XX"),
        ("FREQ=MINUTELY;BYHOUR=20", "UTC", 60, "rrule", "FREQ must be one of DAILY"),
        ("FREQ=WEEKLY;BYDAY=TH", "UTC", 60, "rrule", "add BYHOUR=20"),
        ("FREQ=WEEKLY;COUNT=4;BYHOUR=20", "UTC", 60, "rrule", "give the schedule a 'start'"),
        ("freq=weekly", "UTC", 60, "rrule", "in capitals"),
        ("FREQ=WEEKLY;BYHOUR=20;UNTIL=20270101", "UTC", 60, "rrule", "UNTIL values must be"),
        ("FREQ=WEEKLY;BYHOUR=20", "America/New_Yrok", 60, "tz", "unknown time zone"),
        ("FREQ=WEEKLY;BYHOUR=20", "UTC", 4, "minutes", "from 5 to 720"),
        ("FREQ=WEEKLY;BYHOUR=20", "UTC", 721, "minutes", "from 5 to 720"),
    ],
)
def test_a_bad_schedule_names_its_field_and_what_was_expected(
    rule: str, tz: str, minutes: int, field: str, words: str
) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(rule, tz, minutes)
    assert caught.value.field == field
    assert words in str(caught.value)


def test_every_problem_of_a_schedule_is_reported_at_once() -> None:
    found = problems("FREQ=WEEKLY;BYDAY=XX;BYHOUR=20", "Nowhere/Town", 900)
    assert [p.field for p in found] == ["tz", "minutes", "rrule"]


def test_a_schedule_is_a_plain_comparable_value() -> None:
    again = Schedule("FREQ=WEEKLY;BYDAY=TH;BYHOUR=20", "America/New_York", 90)
    assert again == THURSDAYS
