"""What the history may show of a caller: masks and pseudonyms."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, strategies as st

from bridge.domain.entry import WITHHELD_CALLER_IDS
from bridge.domain.privacy import (
    is_pseudonym,
    mask_caller_id,
    mask_number,
    pseudonyms,
    retention_cutoff,
)


def test_a_masked_caller_id_shows_only_its_last_two_characters() -> None:
    assert mask_caller_id("5550123") == "…23"
    assert mask_caller_id("+4930123456") == "…56"


def test_a_short_caller_id_shows_nothing_when_masked() -> None:
    assert [mask_caller_id(c) for c in ("1234", "12", "7")] == ["…", "…", "…"]


def test_nothing_to_mask_stays_nothing_and_a_pseudonym_stays_as_it_is() -> None:
    assert mask_caller_id("") == ""
    assert mask_caller_id("caller 12") == "caller 12"
    assert mask_caller_id("anonymous") == "anonymous"


def test_pseudonyms_number_callers_in_order_and_keep_one_per_caller() -> None:
    assert pseudonyms(["5550101", "5550102", "5550101", "", "5550103"]) == {
        "5550101": "caller 1",
        "5550102": "caller 2",
        "5550103": "caller 3",
    }


def test_the_cutoff_is_the_retention_period_before_now() -> None:
    now = datetime(2026, 3, 31, 12, tzinfo=UTC)
    assert retention_cutoff(now, 30) == datetime(2026, 3, 1, 12, tzinfo=UTC)


@given(st.lists(st.text(min_size=1, max_size=20)))
def test_pseudonyms_are_distinct_and_recognised_as_such(caller_ids: list[str]) -> None:
    names = pseudonyms(caller_ids)
    assert set(names) == set(caller_ids)
    assert len(set(names.values())) == len(names)
    assert all(is_pseudonym(name) for name in names.values())


@given(
    st.text(min_size=5, max_size=30).filter(
        lambda c: not is_pseudonym(c) and c.lower() not in WITHHELD_CALLER_IDS
    )
)
def test_a_masked_caller_id_never_holds_more_than_two_of_its_characters(caller_id: str) -> None:
    masked = mask_caller_id(caller_id)
    assert masked == "…" + caller_id[-2:]


@pytest.mark.parametrize(
    ("number", "shown"),
    [
        ("+15550123423", "+1 555 *** **23"),
        ("5550123", "555 *** **23"),
        ("12345", "*** **45"),
        ("anonymous", "anonymous"),
        ("alice", "alice"),
    ],
)
def test_an_assistant_sees_a_number_s_first_digits_and_last_two(number: str, shown: str) -> None:
    assert mask_number(number) == shown
