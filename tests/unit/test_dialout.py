"""Dial-out's limits and calls, without a loop: which numbers may be dialled through which
trunk, how fast, how many a day, and how each call moves from queued to joined or not."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings, strategies as st

from bridge.domain.dialout import (
    KEEP_SECONDS,
    RETRY_SECONDS,
    Callee,
    CallState,
    DialBook,
    DialRefused,
    TrunkPacer,
    check_daily,
    choose_trunk,
    read_callees,
    state_for_cause,
)
from bridge.domain.trunks import Outbound, TrunkKind, TrunkSpec

T = 1_764_100_000.0


def trunk(
    name: str, prefixes: tuple[str, ...], concurrent: int = 10, cps: float = 5.0
) -> TrunkSpec:
    return TrunkSpec(
        name, TrunkKind.IP, "203.0.113.10", outbound=Outbound(prefixes, concurrent, cps)
    )


OUTSIDE = r"^\+33612345678: outside the allowed prefixes \(\+1555\)$"
UNKNOWN = r"^--trunk carier: no such trunk \(did you mean carrier\?\)"
CARRIER = trunk("carrier", ("+1555",))
CLOSED = trunk("closed", ())


def test_numbers_are_read_as_e164_with_an_optional_name_after_a_comma() -> None:
    callees = read_callees(["+1 (555) 777-0001, Alex Doe", "", "# the list", "0015557770002"])
    assert callees == [Callee("+15557770001", "Alex Doe"), Callee("+15557770002", "")]


def test_a_number_twice_is_called_once() -> None:
    assert read_callees(["+15557770001,A", "+1 555 777 0001,B"]) == [Callee("+15557770001", "A")]


def test_a_malformed_number_refuses_the_whole_list_naming_its_line() -> None:
    with pytest.raises(DialRefused, match=r"^line 2: '5557770002': a number needs its country"):
        read_callees(["+15557770001", "5557770002"])
    with pytest.raises(DialRefused, match=r"^calls.csv:1: '\+1abc': not a phone number"):
        read_callees(["+1abc"], where="calls.csv")


def test_a_number_outside_the_allowed_prefixes_is_refused() -> None:
    with pytest.raises(DialRefused, match=OUTSIDE):
        choose_trunk([CARRIER, CLOSED], "+33612345678")


def test_a_trunk_without_prefixes_dials_nothing() -> None:
    with pytest.raises(DialRefused, match="allowed_prefixes is empty"):
        choose_trunk([CARRIER, CLOSED], "+15557770001", "closed")


def test_an_unknown_trunk_is_refused_with_a_suggestion() -> None:
    with pytest.raises(DialRefused, match=UNKNOWN):
        choose_trunk([CARRIER], "+15557770001", "carier")


def test_the_first_trunk_that_allows_a_number_takes_it() -> None:
    other = trunk("another", ("+44",))
    assert choose_trunk([CARRIER, other], "+15557770001").name == "carrier"
    assert choose_trunk([CARRIER, other], "+442071234567").name == "another"


def test_the_daily_cap_refuses_a_request_that_would_pass_it() -> None:
    check_daily("alice", 10, 190, 200)
    with pytest.raises(DialRefused, match="alice may dial 10 more numbers today"):
        check_daily("alice", 11, 190, 200)


def test_a_pacer_spaces_starts_and_holds_its_concurrency() -> None:
    pacer = TrunkPacer(max_concurrent=2, calls_per_second=4)
    pacer.start(T)
    assert pacer.wait(T) == pytest.approx(0.25)
    pacer.start(T + 0.25)
    assert pacer.wait(T + 10) is None
    pacer.ended()
    assert pacer.wait(T + 10) == 0.0


def test_causes_name_how_an_attempt_ended() -> None:
    assert state_for_cause(17) is CallState.BUSY
    assert state_for_cause(19) is CallState.NO_ANSWER
    assert state_for_cause(21) is CallState.DECLINED
    assert state_for_cause(16, reason=5) is CallState.BUSY
    assert state_for_cause(None, reason=3) is CallState.NO_ANSWER
    assert state_for_cause(38) is CallState.FAILED


def book(*callees: str, retries: int = 0, concurrent: int = 10, cps: float = 5.0) -> DialBook:
    dial = DialBook({"carrier": trunk("carrier", ("+1555",), concurrent, cps)})
    dial.add(
        "ga",
        [(Callee(n), "carrier") for n in callees],
        asked_by="alice",
        confirm=True,
        retries=retries,
        now=T,
    )
    return dial


def test_a_call_moves_from_queued_to_joined_and_frees_its_slot_when_it_hangs_up() -> None:
    dial = book("+15557770001")
    (call,), _ = dial.due(T)
    assert (call.state, call.attempts) == (CallState.RINGING, 1)
    dial.answered(call.id, "PJSIP/carrier-01", T + 3)
    assert dial.joined(call.id, T + 5).state is CallState.JOINED  # type: ignore[union-attr]
    assert dial.up_on("carrier") == 1
    assert dial.ended(call.id, CallState.FAILED, T + 60).state is CallState.JOINED  # type: ignore[union-attr]
    assert dial.up_on("carrier") == 0


def test_a_busy_number_is_tried_again_a_minute_later_while_retries_are_left() -> None:
    dial = book("+15557770001", retries=1)
    (call,), _ = dial.due(T)
    dial.ended(call.id, CallState.BUSY, T + 1)
    started, wake = dial.due(T + 2)
    assert started == [] and wake == pytest.approx(RETRY_SECONDS - 1)
    (again,), _ = dial.due(T + 1 + RETRY_SECONDS)
    assert again.attempts == 2
    assert dial.ended(again.id, CallState.BUSY, T + 70).state is CallState.BUSY  # type: ignore[union-attr]
    assert dial.due(T + 500) == ([], None)


def test_an_alerts_busy_number_is_tried_again_after_its_own_delay_unless_cancelled() -> None:
    dial = DialBook({"carrier": trunk("carrier", ("+1555",), 10, 5.0)})
    added = dial.add(
        "", [(Callee("+15557770001"), "carrier"), (Callee("+15557770002"), "carrier")],
        asked_by="alice", confirm=False, retries=1, now=T, alert="alert-1", retry_after=5.0,
    )  # fmt: skip
    first, second = dial.due(T)[0] + dial.due(T + 1)[0]
    dial.ended(first.id, CallState.BUSY, T + 2)
    dial.ended(second.id, CallState.NO_ANSWER, T + 2)
    assert dial.due(T + 3) == ([], pytest.approx(4.0))
    (again,), _ = dial.due(T + 7)
    assert (again.number, again.attempts) == ("+15557770001", 2)
    assert [c.state for c in dial.cancel_alert("alert-1", T + 7)] == [CallState.CANCELLED] * 2
    assert dial.calls[added[1].id].attempts == 1  # cancelled while waiting: never dialled
    assert dial.due(T + 500) == ([], None)


def test_calls_over_for_good_are_forgotten_after_a_while_and_nothing_still_to_do() -> None:
    """A service up for a year: the book (and a room's panel) keeps the last hours' calls."""
    dial = book("+15557770001", "+15557770002", "+15557770003", "+15557770004", retries=1)
    over, busy, joined, _ = [call for n in range(4) for call in dial.due(T + n)[0]]
    dial.ended(over.id, CallState.DECLINED, T + 10)  # over for good
    dial.ended(busy.id, CallState.BUSY, T + 10)  # tried again in a minute
    dial.joined(joined.id, T + 20)  # still in the room
    later = T + KEEP_SECONDS + 3_600
    assert dial.due(later)[0] == [dial.calls[busy.id]]  # a retry due long after: still kept
    dial.add("ga", [(Callee("+15557770009"), "carrier")], asked_by="bob", confirm=True,
             retries=0, now=later)  # fmt: skip
    assert over.id not in dial.calls
    kept = {c.number for c in dial.calls.values()}
    assert kept == {"+15557770002", "+15557770003", "+15557770004", "+15557770009"}


def test_a_declined_call_is_not_tried_again() -> None:
    dial = book("+15557770001", retries=3)
    (call,), _ = dial.due(T)
    dial.ended(call.id, CallState.DECLINED, T + 1)
    assert dial.due(T + 500) == ([], None)


def test_cancelling_stops_queued_and_ringing_calls_but_not_joined_ones() -> None:
    dial = book("+15557770001", "+15557770002", "+15557770003", concurrent=2)
    first, second = dial.due(T)[0] + dial.due(T + 1)[0]
    dial.joined(first.id, T + 2)
    cancelled = dial.cancel("ga", None, T + 3)
    assert sorted(c.number for c in cancelled) == ["+15557770002", "+15557770003"]
    assert dial.ended(second.id, CallState.NO_ANSWER, T + 4).state is CallState.CANCELLED  # type: ignore[union-attr]
    states = {c.number: c.state for c in dial.calls_of("ga")}
    assert states["+15557770001"] is CallState.JOINED


def test_a_number_already_queued_in_the_room_is_not_added_twice() -> None:
    dial = book("+15557770001")
    again = dial.add("ga", [(Callee("+15557770001"), "carrier")], asked_by="bob",
                     confirm=True, retries=0, now=T)  # fmt: skip
    assert again == [] and len(dial.calls_of("ga")) == 1


@settings(max_examples=60, deadline=None)
@given(
    concurrent=st.integers(1, 5),
    cps=st.sampled_from([0.5, 1.0, 5.0]),
    steps=st.lists(st.tuples(st.floats(0.01, 3.0), st.integers(0, 3)), max_size=40),
)
def test_a_trunk_never_holds_more_calls_than_its_cap_nor_starts_them_faster(
    concurrent: int, cps: float, steps: list[tuple[float, int]]
) -> None:
    dial = book(
        *[f"+155577700{i:02d}" for i in range(30)], retries=1, concurrent=concurrent, cps=cps
    )
    now, starts = T, []
    for gap, ending in steps:
        now += gap
        started, _ = dial.due(now)
        starts += [now] * len(started)
        up = [c for c in dial.calls.values() if c.up]
        for call in up[:ending]:
            dial.ended(call.id, CallState.NO_ANSWER, now)
        assert dial.up_on("carrier") == len([c for c in dial.calls.values() if c.up])
        assert dial.up_on("carrier") <= concurrent
    assert all(b - a >= 1 / cps - 1e-9 for a, b in itertools.pairwise(starts))
