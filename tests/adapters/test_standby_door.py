"""What a standby service answers while another is active: /healthz alive and saying
"standby", /readyz 503 (with the metrics token; 401 without), and nothing else of the
panel or the API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bridge.settings import Settings
from bridge.web.standby import create_standby_app


@pytest.fixture
async def standby(tmp_path: Path) -> AsyncIterator[tuple[TestClient[Any, Any], str]]:
    settings = Settings(state_dir=tmp_path / "state")
    client: TestClient[Any, Any] = TestClient(
        TestServer(create_standby_app(settings), host="127.0.0.1")
    )
    await client.start_server()
    try:
        yield client, settings.ensure_metrics_token().get_secret_value()
    finally:
        await client.close()


async def test_a_standby_is_alive_and_says_it_is_the_standby(
    standby: tuple[TestClient[Any, Any], str],
) -> None:
    client, _ = standby
    async with client.get("/healthz") as response:
        assert response.status == 200
        assert await response.json() == {"ok": True, "role": "standby", "pbx": "standby"}


async def test_a_standby_is_not_ready_and_asks_for_the_metrics_token(
    standby: tuple[TestClient[Any, Any], str],
) -> None:
    client, token = standby
    async with client.get("/readyz") as response:
        assert response.status == 401
    async with client.get("/readyz", headers={"Authorization": "Bearer wrong"}) as response:
        assert response.status == 401
    async with client.get("/readyz", headers={"Authorization": f"Bearer {token}"}) as response:
        assert response.status == 503
        assert (await response.json())["role"] == "standby"


@pytest.mark.parametrize("path", ["/", "/api/v1/rooms", "/metrics"])
async def test_a_standby_answers_nothing_of_the_panel_or_the_api(
    standby: tuple[TestClient[Any, Any], str], path: str
) -> None:
    client, _ = standby
    async with client.get(path) as response:
        assert response.status == 503
        assert (await response.json())["error"]["code"] == "standby"
