"""Bars: a kicked and barred caller is kept out by number and by source, for a time or
until the call ends."""

from __future__ import annotations

from bridge.domain.bars import RoomBars, bar_keys


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
