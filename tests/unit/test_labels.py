"""Labels on callers: what a label may hold, and whom it follows."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from bridge.domain.labels import MAX_LABEL, BadLabel, RoomLabels, check_label


def test_a_label_follows_the_callers_number_across_channels() -> None:
    labels = RoomLabels()
    assert labels.give("5550123", "PJSIP/a-1", "  Alex, Occupy Oakland ") == "Alex, Occupy Oakland"
    assert labels.of("5550123", "PJSIP/a-2") == "Alex, Occupy Oakland"  # dialled back
    assert labels.of("5550124", "PJSIP/a-1") == ""


def test_a_caller_without_a_number_keeps_the_label_on_the_channel() -> None:
    labels = RoomLabels()
    labels.give("", "PJSIP/a-1", "Sam")
    assert labels.of("", "PJSIP/a-1") == "Sam"
    assert labels.of("", "PJSIP/a-2") == ""


def test_an_empty_label_takes_the_label_away() -> None:
    labels = RoomLabels()
    labels.give("5550123", "PJSIP/a-1", "Alex")
    labels.give("5550123", "PJSIP/a-1", "   ")
    assert labels.of("5550123", "PJSIP/a-1") == ""


def test_a_label_over_80_characters_is_refused_and_changes_nothing() -> None:
    labels = RoomLabels()
    labels.give("5550123", "PJSIP/a-1", "Alex")
    with pytest.raises(BadLabel, match="at most 80 characters, got 81"):
        labels.give("5550123", "PJSIP/a-1", "x" * 81)
    assert labels.of("5550123", "PJSIP/a-1") == "Alex"
    assert check_label("x" * MAX_LABEL) == "x" * MAX_LABEL


@pytest.mark.parametrize("bad", ["Alex\n", "Al\x00ex", "Alex\x1b[31m", "A\u202eB", "A\u2028B"])
def test_a_label_with_control_characters_is_refused(bad: str) -> None:
    with pytest.raises(BadLabel, match="control characters"):
        check_label("x" + bad + "y")


@given(st.text(max_size=120))
def test_whatever_is_kept_is_short_and_free_of_control_characters(text: str) -> None:
    try:
        label = check_label(text)
    except BadLabel:
        return
    assert len(label) <= MAX_LABEL
    assert label == label.strip()
    assert all(ord(c) >= 32 and c != "\x7f" for c in label)
