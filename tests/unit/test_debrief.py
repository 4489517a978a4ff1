"""A practice call's debrief, read from the report's own lines (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bridge.reports.debrief import debrief
from bridge.reports.model import StackEventLine, TalkShares, TurnLine

T0 = datetime(2026, 12, 6, 20, 0, tzinfo=UTC)
TALK = TalkShares(total_talk=60, speakers=[], first_time_talk=30, first_time_share=0.5,
                  first_time_basis="turns")  # fmt: skip


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def event(seconds: float, kind: str, who: str, lane: str = "") -> StackEventLine:
    return StackEventLine(at=at(seconds), kind=kind, who=who, lane=lane, detail="")


def turn(seconds: float, who: str, lane: str, ended_by: str = "done") -> TurnLine:
    return TurnLine(who=who, name="", lane=lane, started_at=at(seconds), length=30,
                    talk_time=20, ended_by=ended_by, first_time=True)  # fmt: skip


def test_waits_hands_never_called_overruns_and_points_of_process() -> None:
    events = [
        event(0, "hand_raised", "a", "stack"),
        event(5, "hand_raised", "b", "stack"),
        event(10, "point_of_process", "c", "process"),
        event(20, "hand_raised", "d", "stack"),
        event(30, "hand_lowered", "d", "stack"),  # gave up before being called on
        event(40, "point_of_process", "e", "process"),
        event(50, "hand_raised", "a", "stack"),  # a second hand, never called on
    ]
    turns = [
        turn(25, "c", "process"),  # 15 s after the point of process: answered in time
        turn(60, "a", "stack", ended_by="time_limit"),
        turn(100, "b", "stack"),
        turn(120, "e", "process"),  # 80 s: too late
        turn(130, "d", "stack"),  # after d lowered: a new turn, not that hand's
    ]
    found = debrief(events, turns, TALK)
    assert [(h.who, h.waited) for h in found.hands] == [
        ("a", 60.0), ("b", 95.0), ("c", 15.0), ("d", None), ("e", 80.0), ("a", None),
    ]  # fmt: skip
    assert (found.called, found.never_called) == (4, 2)
    assert found.median_wait == 70.0 and found.longest_wait == 95.0
    assert found.overruns == 1 and found.first_time_share == 0.5
    assert (found.points_of_process, found.points_of_process_answered) == (2, 1)


def test_no_hands_no_figures() -> None:
    found = debrief([], [], TALK)
    assert found.hands == [] and found.median_wait is None and found.longest_wait is None
