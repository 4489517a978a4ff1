"""When a room's call happens: an RFC 5545 recurrence rule in a time zone, and a length.

The rule is expanded by dateutil's ``rrule`` (a maintained implementation of RFC 5545),
never by hand, in the room's zone: the rule's times are wall-clock times there, so a call
"every Thursday at 20:00 in New York" stays at 20:00 local across daylight-saving changes
(its UTC time moves by an hour). Lengths are added in UTC, so a call that spans a change
lasts its minutes, not its minutes plus or minus an hour.

Pure: the current time is always an argument. ``parse_schedule`` is the one place that
checks a schedule (the rooms file's reader turns its ``ScheduleError`` into a file:line
message); a ``Schedule`` built another way is trusted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule as RecurrenceRule, rrulestr

MIN_MINUTES = 5
MAX_MINUTES = 720  # twelve hours
# The day a rule counts from when the schedule gives no ``start``: only rules that do not
# depend on it (no INTERVAL above 1, no COUNT) may leave it out.
DEFAULT_START = date(2026, 1, 1)
FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")  # a call at most once a day's rule
_RULE_TEXT = re.compile(r"[A-Z0-9=;,+\-]+")
EXAMPLE_RULE = "FREQ=WEEKLY;BYDAY=TH;BYHOUR=20"


class ScheduleError(ValueError):
    """A schedule that cannot be used: ``field`` (rrule, tz, minutes, start) and why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Occurrence:
    """One call of a schedule: when it starts (in the room's zone) and ends."""

    start: datetime
    end: datetime

    def live(self, now: datetime) -> bool:
        return self.start <= now < self.end

    @property
    def start_utc(self) -> datetime:
        return self.start.astimezone(UTC)

    @property
    def end_utc(self) -> datetime:
        return self.end.astimezone(UTC)


@dataclass(frozen=True)
class Schedule:
    rrule: str  # RFC 5545 RRULE value, e.g. FREQ=WEEKLY;BYDAY=TH;BYHOUR=20
    tz: str  # an IANA zone, e.g. America/New_York
    minutes: int
    start: date | None = None  # the day the rule counts from (DTSTART's date)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def first_day(self) -> date:
        return self.start or DEFAULT_START

    def _rule(self) -> RecurrenceRule:
        return _expanded(self.rrule, self.tz, self.first_day())

    def _occurrence(self, start: datetime) -> Occurrence:
        end = (start.astimezone(UTC) + timedelta(minutes=self.minutes)).astimezone(self.zone)
        return Occurrence(start, end)

    def upcoming(self, now: datetime, count: int = 1) -> list[Occurrence]:
        """The next ``count`` calls that have not ended at ``now`` (a live one first)."""
        found: list[Occurrence] = []
        current = self.current(now)
        if current is not None:
            found.append(current)
        for start in self._rule().xafter(now, count=count, inc=False):
            if len(found) >= count:
                break
            found.append(self._occurrence(start))
        return found

    def current(self, now: datetime, early: timedelta = timedelta(0)) -> Occurrence | None:
        """The call whose window holds ``now``: from ``early`` before its start to its end."""
        start = self._rule().before(now + early, inc=True)
        if start is None:
            return None
        occurrence = self._occurrence(start)
        return occurrence if now < occurrence.end else None

    def next_start(self, now: datetime) -> Occurrence | None:
        """The first call starting after ``now``; None once the rule has ended."""
        start = self._rule().after(now, inc=False)
        return None if start is None else self._occurrence(start)


@lru_cache(maxsize=256)
def _expanded(rule: str, tz: str, first_day: date) -> RecurrenceRule:
    """The rule as dateutil expands it, from midnight of ``first_day`` in the zone; cached
    (with dateutil's own cache of occurrences), so a PIN decision costs a look-up."""
    dtstart = datetime.combine(first_day, time(0, 0), tzinfo=ZoneInfo(tz))
    parsed = rrulestr(rule, dtstart=dtstart, cache=True)
    if not isinstance(parsed, RecurrenceRule):
        raise ScheduleError("rrule", f"expected one rule, like {EXAMPLE_RULE!r}")
    return parsed


def parse_schedule(rule: str, tz: str, minutes: int, start: date | None = None) -> Schedule:
    """A checked schedule, or the first of its ``ScheduleError`` (see ``problems``)."""
    found = problems(rule, tz, minutes, start)
    if found:
        raise found[0]
    return Schedule(rule, tz, minutes, start)


def problems(rule: str, tz: str, minutes: int, start: date | None = None) -> list[ScheduleError]:
    """Everything wrong with a schedule, each naming its field and what was expected."""
    found = []
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        message = f"unknown time zone {tz!r} (expected an IANA zone like 'America/New_York')"
        found.append(ScheduleError("tz", message))
    if not MIN_MINUTES <= minutes <= MAX_MINUTES:
        message = f"must be from {MIN_MINUTES} to {MAX_MINUTES} minutes, got {minutes}"
        found.append(ScheduleError("minutes", message))
    try:
        _check_rule(rule, "UTC" if found and found[0].field == "tz" else tz, start)
    except ScheduleError as exc:
        found.append(exc)
    return found


def _check_rule(rule: str, tz: str, start: date | None) -> None:
    parts = _rule_parts(rule)
    if parts.get("FREQ") not in FREQUENCIES:
        raise ScheduleError(
            "rrule",
            f"FREQ must be one of {', '.join(FREQUENCIES)} (a call at most every day), "
            f"got {parts.get('FREQ', 'none')}",
        )
    if "BYHOUR" not in parts:
        raise ScheduleError("rrule", "say the hour the call starts: add BYHOUR=20 (24-hour)")
    if "BYSECOND" in parts or "DTSTART" in parts:
        raise ScheduleError("rrule", "BYSECOND and DTSTART are not used here (see 'start')")
    if start is None and ("COUNT" in parts or parts.get("INTERVAL", "1") != "1"):
        raise ScheduleError(
            "rrule", "COUNT and INTERVAL count from a first day: give the schedule a 'start' date"
        )
    try:
        expanded = _expanded(rule, tz, start or DEFAULT_START)
    except ScheduleError:
        raise
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise ScheduleError("rrule", f"not a recurrence rule: {exc}") from None
    if expanded.after(datetime.combine(start or DEFAULT_START, time(0), UTC)) is None:
        raise ScheduleError("rrule", "the rule gives no call at all")


def _rule_parts(rule: str) -> dict[str, str]:
    if not rule or not _RULE_TEXT.fullmatch(rule):
        raise ScheduleError(
            "rrule",
            f"expected an RFC 5545 rule in capitals, like {EXAMPLE_RULE!r}, got {rule[:60]!r}",
        )
    parts: dict[str, str] = {}
    for part in rule.split(";"):
        name, equals, value = part.partition("=")
        if not equals or not value:
            raise ScheduleError("rrule", f"expected NAME=VALUE parts, got {part!r}")
        parts[name] = value
    return parts
