"""``iobridge room ROOM bar CHANNEL [--minutes N]``, ``keys CHANNEL on|off`` and
``iobridge stack ROOM limit SECONDS|off``, ``auto-advance on|off``: what each sends to the
running service's API (the API itself is tested in tests/adapters)."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from bridge.cli import main

CHANNEL = "PJSIP/anonymous-0000002a"


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, Any]]:
    calls: list[tuple[str, str, Any]] = []

    def call_api(config: object, method: str, path: str, body: Any = None) -> dict[str, Any]:
        calls.append((method, path, body))
        return {}

    for module in ("bridge.cli.live", "bridge.cli.speaker_stack"):
        monkeypatch.setattr(f"{module}.call_api", call_api)
        monkeypatch.setattr(f"{module}.settings", lambda: object())
    return calls


def run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


@pytest.mark.parametrize(
    ("args", "body"),
    [
        (("bar", CHANNEL), {"channel": CHANNEL}),
        (("bar", CHANNEL, "--minutes", "30"), {"channel": CHANNEL, "minutes": 30}),
        (("bar", CHANNEL, "30"), {"channel": CHANNEL, "minutes": "30"}),
        (("keys", CHANNEL, "off"), {"channel": CHANNEL, "state": "off"}),
    ],
)
def test_the_room_commands_send_their_arguments(
    sent: list[tuple[str, str, Any]], args: tuple[str, ...], body: dict[str, Any]
) -> None:
    result = run("room", "ga", *args)
    assert result.exit_code == 0, result.output
    assert sent == [("POST", f"/api/v1/rooms/ga/actions/{args[0]}", body)]


def test_minutes_are_for_bar_only_and_given_once(sent: list[tuple[str, str, Any]]) -> None:
    assert (
        "'kick' takes no --minutes" in run("room", "ga", "kick", CHANNEL, "--minutes", "5").output
    )
    twice = run("room", "ga", "bar", CHANNEL, "5", "--minutes", "5")
    assert twice.exit_code == 1 and "once" in twice.output
    assert run("room", "ga", "bar", CHANNEL, "--minutes", "0").exit_code == 2
    assert sent == []


@pytest.mark.parametrize(
    ("args", "path", "body"),
    [
        (("limit", "90"), "limit", {"seconds": "90"}),
        (("limit", "off"), "limit", {"seconds": "off"}),
        (("auto-advance", "on"), "auto-advance", {"state": "on"}),
    ],
)
def test_the_stack_rules_change_from_the_shell(
    sent: list[tuple[str, str, Any]], args: tuple[str, ...], path: str, body: dict[str, Any]
) -> None:
    result = run("stack", "ga", *args)
    assert result.exit_code == 0, result.output
    assert sent == [("POST", f"/api/v1/rooms/ga/stack/{path}", body)]
