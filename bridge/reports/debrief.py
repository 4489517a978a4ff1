"""A practice call's debrief: how the moderators ran the stack, read from the report itself.

- how long each hand waited (queued to called on), and the hands never called on (lowered
  by the caller, or still up when they left or the call ended);
- the first-time speakers' share of talk (the report's own figure);
- turns that ran over the time limit (ended by the limit);
- points of process answered within 30 s (they are meant to jump the stack).

A hand is matched to the first turn of the same person in the same lane that began after
it was raised, and before that person lowered it.
"""

from __future__ import annotations

from collections.abc import Sequence

from bridge.reports.model import (
    PROCESS_ANSWER_SECONDS,
    Debrief,
    HandWait,
    StackEventLine,
    TalkShares,
    TurnLine,
)

QUEUED = {"hand_raised": "stack", "direct_response": "direct", "point_of_process": "process"}
LOWERED = "hand_lowered"


def debrief(
    events: Sequence[StackEventLine], turns: Sequence[TurnLine], talk: TalkShares
) -> Debrief:
    hands: list[HandWait] = []
    used: set[int] = set()  # turns already matched to a hand
    for n, event in enumerate(events):
        lane = QUEUED.get(event.kind)
        if lane is None:
            continue
        lowered = next(
            (e.at for e in events[n + 1 :] if e.who == event.who and e.kind == LOWERED), None
        )
        turn = next(
            (
                (i, t)
                for i, t in enumerate(turns)
                if i not in used
                and t.who == event.who
                and t.lane == lane
                and t.started_at >= event.at
                and (lowered is None or t.started_at <= lowered)
            ),
            None,
        )
        waited = None
        if turn is not None:
            used.add(turn[0])
            waited = round((turn[1].started_at - event.at).total_seconds(), 1)
        hands.append(HandWait(who=event.who, lane=lane, raised_at=event.at, waited=waited))
    waits = sorted(h.waited for h in hands if h.waited is not None)
    process = [h for h in hands if h.lane == "process"]
    return Debrief(
        hands=hands,
        called=len(waits),
        never_called=len(hands) - len(waits),
        median_wait=_median(waits),
        longest_wait=waits[-1] if waits else None,
        first_time_share=talk.first_time_share,
        overruns=sum(t.ended_by == "time_limit" for t in turns),
        points_of_process=len(process),
        points_of_process_answered=sum(
            h.waited is not None and h.waited <= PROCESS_ANSWER_SECONDS for h in process
        ),
    )


def _median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    middle = len(values) // 2
    if len(values) % 2:
        return values[middle]
    return round((values[middle - 1] + values[middle]) / 2, 1)
