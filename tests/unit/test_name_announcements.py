"""The queue of names waiting for a room's announcer: names one by one while few wait and
none is stale; a burst folded into one count; nothing dropped unsaid."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from bridge.domain.name_announcements import NameCount, NameQueue, WaitingName


def name(n: int, joined: bool = True, at: float = 0.0) -> WaitingName:
    return WaitingName(f"PJSIP/c-{n}", f"/names/room-{n}", joined, at)


def test_a_few_names_are_played_one_by_one_in_order() -> None:
    queue = NameQueue(in_a_row=3, stale_after=20)
    for n in range(3):
        queue.add(name(n))
    assert [queue.next(now=1), queue.next(now=2), queue.next(now=3)] == [
        name(0),
        name(1),
        name(2),
    ]
    assert queue.next(now=4) is None


def test_a_burst_is_folded_into_one_count_of_joins_and_leaves() -> None:
    queue = NameQueue(in_a_row=3, stale_after=20)
    waiting = [name(0), name(1), name(2, joined=False), name(3), name(4)]
    for each in waiting:
        queue.add(each)
    assert queue.next(now=1) == NameCount(joined=4, left=1, names=tuple(waiting))
    assert len(queue) == 0
    queue.add(name(5, at=2))
    assert queue.next(now=3) == name(5, at=2)  # names resume after the burst


def test_a_name_that_waited_too_long_is_counted_not_read() -> None:
    queue = NameQueue(in_a_row=3, stale_after=20)
    queue.add(name(0, at=0))
    assert queue.next(now=20.5) == NameCount(joined=1, left=0, names=(name(0),))


def test_the_room_ending_forgets_what_waits() -> None:
    queue = NameQueue()
    queue.add(name(0))
    assert queue.clear() == (name(0),)
    assert queue.next(now=0) is None


def test_a_queue_that_would_never_read_a_name_is_refused() -> None:
    with pytest.raises(ValueError):
        NameQueue(in_a_row=0)


@given(
    st.lists(st.tuples(st.booleans(), st.floats(0, 5), st.integers(0, 3)), max_size=60),
    st.integers(1, 5),
)
def test_every_join_and_leave_is_heard_once_by_name_or_in_a_count(
    steps: list[tuple[bool, float, int]], in_a_row: int
) -> None:
    queue = NameQueue(in_a_row=in_a_row, stale_after=10)
    now, added, heard = 0.0, [], []
    for n, (joined, later, taken) in enumerate(steps):
        now += later
        added.append(name(n, joined, now))
        queue.add(added[-1])
        for _ in range(taken):
            match queue.next(now):
                case WaitingName() as one:
                    assert now - one.at <= 10
                    heard.append(one)
                case NameCount(names=names) as count:
                    assert len(names) > in_a_row or now - names[0].at > 10
                    assert count.joined + count.left == len(names)
                    heard.extend(names)
    while (rest := queue.next(now)) is not None:
        heard.extend(rest.names if isinstance(rest, NameCount) else [rest])
    assert heard == added
