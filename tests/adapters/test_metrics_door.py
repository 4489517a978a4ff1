"""/metrics and /readyz answer only the metrics token: a stranger who can reach the panel's
address learns neither the rooms nor how busy the bridge is; /healthz stays open."""

from __future__ import annotations

import pytest

from tests.adapters.conftest import Web


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("path", ["/metrics", "/readyz"])
async def test_without_the_metrics_token_the_answer_is_401(web_app: Web, path: str) -> None:
    async with web_app.client.get(path) as response:
        assert response.status == 401
        assert "metrics token" in (await response.json())["error"]["message"]
    moderator = await web_app.token("alice")
    for token in ("not-the-token", moderator, web_app.admin_token):
        async with web_app.client.get(path, headers=bearer(token)) as response:
            assert response.status == 401, token


async def test_the_metrics_token_reads_the_metrics(web_app: Web) -> None:
    token = web_app.settings.ensure_metrics_token().get_secret_value()
    async with web_app.client.get("/metrics", headers=bearer(token)) as response:
        assert response.status == 200
        assert "iobridge_" in await response.text()
    async with web_app.client.get("/readyz", headers=bearer(token)) as response:
        assert response.status == 503  # no Asterisk here: not ready, but answered


async def test_healthz_needs_no_token(web_app: Web) -> None:
    async with web_app.client.get("/healthz") as response:
        assert response.status == 200
        answer = await response.json()
        assert set(answer) == {"ok", "pbx", "role"}
        assert answer["role"] == "active"  # a standby answers from bridge.web.standby
