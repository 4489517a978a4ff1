"""Bars: a kicked and barred caller is kept out by number and by source, for a time or
until the call ends."""

from __future__ import annotations

import pytest

from bridge.domain.bars import RoomBars, bar_keys
from bridge.domain.events import ParticipantJoined, ParticipantLeft, Role, RoomStarted
from bridge.domain.roster import Switchboard
from bridge.errors import NoSuchParticipant
from bridge.service.bars import CallerBars


def test_a_bar_holds_by_number_and_by_source() -> None:
    bars = RoomBars()
    bars.bar(bar_keys("5550123", "address:127.0.1.9"), until=None)
    assert bars.holds(bar_keys("5550123", "address:10.0.0.1"), now=0)
    assert bars.holds(bar_keys("5550999", "address:127.0.1.9"), now=0)
    assert not bars.holds(bar_keys("5550999", "address:10.0.0.1"), now=0)


def test_a_withheld_number_bars_nobody_else() -> None:
    assert bar_keys("anonymous", None) == frozenset()
    bars = RoomBars()
    bars.bar(bar_keys("Anonymous", "address:127.0.1.9"), until=None)
    assert not bars.holds(bar_keys("anonymous", "address:10.0.0.1"), now=0)


def test_a_timed_bar_ends_at_its_time_and_outlives_the_call() -> None:
    bars = RoomBars()
    bars.bar(bar_keys("5550123", None), until=600.0)
    bars.bar(bar_keys("5550124", None), until=None)
    bars.call_ended(now=10.0)
    assert bars.holds(bar_keys("5550123", None), now=599.0)
    assert not bars.holds(bar_keys("5550124", None), now=11.0)  # until the call ended
    assert not bars.holds(bar_keys("5550123", None), now=600.0)


def test_a_caller_s_source_bars_them_while_they_are_in_and_is_forgotten_when_they_leave() -> None:
    """A room in session for hours admits thousands: only those still in are kept."""
    board, channel = Switchboard(), "PJSIP/trunk-00000001"
    bars = CallerBars(board, clock=lambda: 0.0)
    board.apply(RoomStarted("ga", 0.0))
    board.apply(ParticipantJoined("ga", channel, "5550123", Role.PARTICIPANT, True, 0.0))
    bars.admitted(channel, "address:127.0.1.9")
    assert bars.bar("ga", channel, None) == bar_keys("5550123", "address:127.0.1.9")
    left = ParticipantLeft("ga", channel, 1.0)
    board.apply(left)
    bars.on_event(left)
    assert bars.remembered() == 0
    with pytest.raises(NoSuchParticipant):
        bars.bar("ga", channel, None)
