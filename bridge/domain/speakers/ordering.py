"""The order the stack is served in, and the reason each place reads.

Lanes are served process, direct, stack. Within a lane, ``priority`` entries go first. The
process and direct lanes go in the order of the key presses; the policy orders the stack
lane: ``fifo`` by raised hand, ``progressive`` by (has not spoken, fewer turns, less talk
time, earlier hand). An entry a moderator moved keeps the standing it was given instead.
"""

from __future__ import annotations

from bridge.domain.rooms import QueuePolicy
from bridge.domain.speakers.model import LANE_RANK, Entry, Lane, Record, SortKey

NOTHING_SAID = Record()


def sort_key(entry: Entry, policy: QueuePolicy, record: Record | None) -> SortKey:
    """Where ``entry`` stands; ``record`` is what its person has said in this call."""
    if entry.placed is not None:
        return entry.placed
    key: SortKey = (LANE_RANK[entry.lane], 0.0 if entry.priority else 1.0)
    if entry.lane is Lane.STACK and policy is QueuePolicy.PROGRESSIVE:
        said = record or NOTHING_SAID
        key += (float(said.has_spoken), float(said.turns), said.talk_time)
    return (*key, entry.raised_at, float(entry.seq))


def lane_head(lane: Lane) -> SortKey:
    """A standing ahead of everyone in ``lane`` and behind every lane before it."""
    return (LANE_RANK[lane],)


def raised(entry: Entry) -> tuple[float, int]:
    """The order hands went up in."""
    return entry.raised_at, entry.seq


def reason(entry: Entry, policy: QueuePolicy, record: Record | None, raised_rank: int) -> str:
    """Why the entry stands where it does, in a few words: "has not spoken yet", "2 turns,
    1 min 5 s", "raised 3rd". ``raised_rank`` is its hand's rank among the stack lane's."""
    if entry.placed is not None:
        return "moved by a moderator"
    if entry.priority:
        return "priority"
    if entry.lane is Lane.PROCESS:
        return "point of process"
    if entry.lane is Lane.DIRECT:
        return "direct response"
    if policy is QueuePolicy.FIFO:
        return "raised first" if raised_rank == 1 else f"raised {ordinal(raised_rank)}"
    said = record or NOTHING_SAID
    if not said.has_spoken:
        return "has not spoken yet"
    turns = f"{said.turns} turn" if said.turns == 1 else f"{said.turns} turns"
    return f"{turns}, {duration(said.talk_time)}"


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def duration(seconds: float) -> str:
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    return f"{whole // 60} min {whole % 60} s"
