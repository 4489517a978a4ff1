"""The guessing figures: computed from the guard's rules, and the admin guide shows them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.domain.guard import GuardPolicy
from bridge.domain.guessing import (
    Guessers,
    expected_hours,
    expected_hours_to_find,
    failures_per_hour,
    figures_table,
)

POLICY = GuardPolicy()
ADMIN_GUIDE = Path(__file__).parents[2] / "docs" / "admin.md"


def test_one_address_fails_at_most_its_first_burst_of_parallel_calls_an_hour() -> None:
    assert failures_per_hour(POLICY, Guessers("", sources=1)) == POLICY.max_pending
    assert expected_hours_to_find(POLICY, sources=1) == pytest.approx(25_000, rel=1e-3)


def test_many_addresses_are_held_to_the_alarm_and_its_prompt_rate() -> None:
    alarm_rate = POLICY.alarm_prompts_per_minute * 60
    ipv6_48 = Guessers("", sources=65_536)
    assert failures_per_hour(POLICY, ipv6_48) == POLICY.global_alarm + alarm_rate
    # More addresses than that change nothing: the rate, not the addresses, is the limit.
    assert (
        failures_per_hour(POLICY, Guessers("", sources=10**9)) == POLICY.global_alarm + alarm_rate
    )


def test_a_trunk_is_held_to_twice_its_shared_budget_whatever_numbers_it_passes_on() -> None:
    assert failures_per_hour(POLICY, Guessers("", trunks=1)) == 2 * POLICY.trunk_threshold
    two = expected_hours(POLICY, Guessers("", trunks=2), pin_digits=8, rooms=1)
    one = expected_hours(POLICY, Guessers("", trunks=1), pin_digits=8, rooms=1)
    assert two == pytest.approx(one / 2)


def test_the_admin_guide_shows_the_figures_the_code_computes_for_the_defaults() -> None:
    assert figures_table(POLICY) in ADMIN_GUIDE.read_text()


def test_the_figures_for_the_running_settings_are_printed_on_the_command_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from click.testing import CliRunner

    from bridge.cli import main

    monkeypatch.setenv("IOBRIDGE_GUARD_TRUNK_THRESHOLD", "30")
    result = CliRunner().invoke(main, ["lockouts", "figures"])
    assert result.exit_code == 0, result.output
    assert "| one trunk, numbers withheld | 60 |" in result.output
