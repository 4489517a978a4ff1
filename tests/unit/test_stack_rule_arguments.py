"""The arguments of the stack's ``limit`` and ``auto-advance`` actions, as the CLI passes
them (strings) and the API sends them (JSON)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bridge.actions.arguments import Limit, Switch


@pytest.mark.parametrize(
    ("given", "seconds"), [("90", 90), (120, 120), ("off", 0), ("OFF", 0), (0, 0)]
)
def test_a_limit_is_seconds_and_off_is_no_limit(given: object, seconds: int) -> None:
    assert Limit.model_validate({"seconds": given}).seconds == seconds


@pytest.mark.parametrize("given", ["soon", -5, 3601, "1.5h", None])
def test_a_limit_that_is_not_seconds_up_to_an_hour_is_refused(given: object) -> None:
    with pytest.raises(ValidationError):
        Limit.model_validate({"seconds": given})


def test_auto_advance_is_on_or_off() -> None:
    assert Switch.model_validate({"state": "on"}).state == "on"
    with pytest.raises(ValidationError):
        Switch.model_validate({"state": "yes"})
