"""What a client sends the JSON API, against the running service: ConfBridge's keywords are
no channel, and a body in a charset nobody knows, nested a thousand deep, or otherwise
unreadable gets a 400 that says why, never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bridge.service import BridgeService
from bridge.settings import Settings

ROOM = "e2e-live"


@pytest.fixture
async def api(
    runtime_settings: Settings, service: BridgeService
) -> AsyncIterator[aiohttp.ClientSession]:
    token = runtime_settings.ensure_admin_token().get_secret_value()
    async with aiohttp.ClientSession(
        base_url=f"http://127.0.0.1:{runtime_settings.http_port}",
        headers={"Authorization": f"Bearer {token}"},
    ) as session:
        yield session


async def post(
    api: aiohttp.ClientSession, path: str, body: bytes, content_type: str
) -> tuple[int, dict[str, Any]]:
    async with api.post(path, data=body, headers={"Content-Type": content_type}) as response:
        return response.status, await response.json()


@pytest.mark.parametrize("keyword", ["all", "participants", "ALL", "Participants"])
@pytest.mark.parametrize(
    "action", ["actions/kick", "actions/mute", "actions/unmute", "stack/call", "stack/remove"]
)
async def test_a_confbridge_keyword_is_not_a_channel(
    api: aiohttp.ClientSession, action: str, keyword: str
) -> None:
    body = f'{{"channel": "{keyword}"}}'.encode()
    status, answer = await post(api, f"/api/v1/rooms/{ROOM}/{action}", body, "application/json")
    assert status == 400, answer
    assert "ConfBridge keyword" in answer["error"]["message"]


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b'{"channel": "x"}', "application/json; charset=klingon", "unknown charset"),
        (b'{"channel": "x"}', "application/json; charset=base64", "unknown charset"),
        (b'{"channel": "x"}', "application/json; charset=rot13", "unknown charset"),
        ("{}".encode("utf-16"), "application/json; charset=utf-8", "not utf-8 text"),
        (b"\xff\xfe{", "application/json", "not utf-8 text"),
        (b"[" * 8000 + b"]" * 8000, "application/json", "not JSON"),
        (b'{"channel": ' + b"[" * 500 + b"]" * 500 + b"}", "application/json", "channel"),
        (b'{"place": 1' + b"0" * 5000 + b"}", "application/json", "not JSON"),
        (b"[1, 2]", "application/json", "must be a JSON object"),
        (b'{"channel": "x"', "application/json", "not JSON"),
    ],
    ids=[
        "unknown-charset",
        "bytes-codec",
        "text-codec",
        "wrong-charset",
        "not-utf8",
        "nested-deep",
        "nested-in-a-field",
        "number-too-long",
        "not-an-object",
        "cut-short",
    ],
)
async def test_a_body_that_cannot_be_read_is_a_400_never_a_500(
    api: aiohttp.ClientSession, body: bytes, content_type: str, expected: str
) -> None:
    status, answer = await post(api, f"/api/v1/rooms/{ROOM}/actions/kick", body, content_type)
    assert status == 400, answer
    assert expected in answer["error"]["message"]
    assert answer["error"]["code"] == "bad_field"


async def test_an_unreadable_content_type_is_a_400(api: aiohttp.ClientSession) -> None:
    status, answer = await post(api, f"/api/v1/rooms/{ROOM}/actions/kick", b"{}", 'a/b; charset="')
    assert status == 400, answer
