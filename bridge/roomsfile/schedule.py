"""A room's ``schedule:``: ``{rrule: "FREQ=WEEKLY;BYDAY=TH;BYHOUR=20", tz: America/New_York,
minutes: 90}`` (and an optional ``start: 2026-12-03``), read node by node so that each
problem names its own line; what the values mean is checked by
``bridge.domain.schedule.parse_schedule``."""

from __future__ import annotations

import datetime
from collections.abc import Callable

import yaml

from bridge.domain.schedule import (
    EXAMPLE_RULE,
    MAX_MINUTES,
    MIN_MINUTES,
    Schedule,
    parse_schedule,
    problems,
)
from bridge.roomsfile.nodes import STR_TAG, describe, line_of, unknown_key

SCHEDULE_KEYS = ("rrule", "tz", "minutes", "start")
REQUIRED = ("rrule", "tz", "minutes")
INT_TAG = "tag:yaml.org,2002:int"
EXPECTED = {
    "rrule": f'a recurrence rule in quotes, like "{EXAMPLE_RULE}"',
    "tz": "a time zone like America/New_York",
    "minutes": f"a whole number of minutes from {MIN_MINUTES} to {MAX_MINUTES}",
    "start": "a date like 2026-12-03 (the first day the rule counts from)",
}
SCHEDULE_EXPECTED = "{rrule: RULE, tz: ZONE, minutes: N}"

Report = Callable[[int, str], None]  # (line, message)
Construct = Callable[[yaml.Node], object]


def schedule_of(node: yaml.MappingNode, report: Report, construct: Construct) -> Schedule | None:
    """The schedule the mapping declares; None (each problem reported) if it is wrong."""
    found: dict[str, object] = {}
    lines: dict[str, int] = {}
    good = True
    for key_node, value_node in node.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        if key not in SCHEDULE_KEYS:
            report(line_of(key_node), unknown_key(str(key), SCHEDULE_KEYS))
            good = False
            continue
        value = _value(key, value_node, construct)
        if value is None:
            report(
                line_of(value_node), f"{key}: must be {EXPECTED[key]}, got {describe(value_node)}"
            )
            good = False
            continue
        found[key], lines[key] = value, line_of(value_node)
    missing = [key for key in REQUIRED if key not in found and good]
    for key in missing:
        report(line_of(node), f"required key {key!r} is missing (expected {SCHEDULE_EXPECTED})")
    if not good or missing:
        return None
    start = found.get("start")
    values = (
        str(found["rrule"]),
        str(found["tz"]),
        int(str(found["minutes"])),
        start if isinstance(start, datetime.date) else None,
    )
    wrong = problems(*values)
    for problem in wrong:
        report(lines.get(problem.field, line_of(node)), f"{problem.field}: {problem}")
    return None if wrong else parse_schedule(*values)


def _value(key: str, node: yaml.Node, construct: Construct) -> object | None:
    """The value if it has the right shape for ``key``, else None."""
    if not isinstance(node, yaml.ScalarNode):
        return None
    if key in ("rrule", "tz"):
        return str(node.value) if node.tag == STR_TAG and node.value else None
    if key == "minutes":
        return int(node.value) if node.tag == INT_TAG and str(node.value).isdigit() else None
    try:
        value = construct(node)
    except Exception:  # a date that does not exist (2026-02-30), an odd tag: wrong shape
        return None
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime.datetime):
        return None  # a day, not a moment: the rule says the hour
    return value if isinstance(value, datetime.date) else None


def listing_problems(good: dict[str, object], has_schedule: bool) -> list[tuple[str, str]]:
    """A room's directory and schedule settings that make no sense together, as (field,
    message): a PIN shown for a room the directory does not list, a room closed outside a
    schedule it does not have."""
    problems = []
    if good.get("show_pin") is True and good.get("public") is not True:
        problems.append(("show_pin", "only a public room shows its PIN: add public: true"))
    if good.get("admit_outside_schedule") is False and not has_schedule:
        problems.append(
            (
                "admit_outside_schedule",
                f"needs a schedule to be outside of: add {SCHEDULE_EXPECTED}",
            )
        )
    return problems
