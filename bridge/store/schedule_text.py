"""A room's schedule in the rooms table: one JSON text column (``Room.schedule``)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import String, TypeDecorator
from sqlalchemy.engine import Dialect

from bridge.domain.schedule import Schedule

SCHEDULE_LIMIT = 1000  # characters of a room's schedule (its rule, zone, length, start)


class ScheduleText(TypeDecorator[Schedule | None]):
    """A room's schedule as one JSON text: {"rrule", "tz", "minutes", "start"}."""

    impl = String(SCHEDULE_LIMIT)
    cache_ok = True

    def process_bind_param(self, value: Schedule | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        start = value.start.isoformat() if value.start else None
        return json.dumps(
            {"rrule": value.rrule, "tz": value.tz, "minutes": value.minutes, "start": start}
        )

    def process_result_value(self, value: Any, dialect: Dialect) -> Schedule | None:
        if not value:
            return None
        found = json.loads(value)
        start = date.fromisoformat(found["start"]) if found.get("start") else None
        return Schedule(found["rrule"], found["tz"], int(found["minutes"]), start)
