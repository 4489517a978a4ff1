"""Every failure of the API is the same JSON shape, ``{"error": {"code", "message"}}``:
named failures, aiohttp's own (unknown route, wrong method) and unexpected ones; a 401
carries ``WWW-Authenticate: Bearer``. A browser asking for a page gets the panel's page."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.adapters.conftest import Web


async def error_of(response: Any) -> dict[str, str]:
    assert response.content_type == "application/json"
    body = await response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    return dict(body["error"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_without_a_token_the_api_answers_401_with_a_bearer_challenge(web_app: Web) -> None:
    for path in ("/api/v1/rooms", "/api/v1/rooms/e2e-open", "/api/v1/calls"):
        response = await web_app.client.get(path)
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="io-bridge"'
        assert (await error_of(response))["code"] == "not_logged_in"
    response = await web_app.client.get("/api/v1/rooms", headers={"Authorization": "Basic eDp5"})
    assert response.status == 401


async def test_an_unknown_token_is_401_invalid_token(web_app: Web) -> None:
    for token in ("iob_not-a-real-token", "something-else", "x" * 500):
        response = await web_app.client.get("/api/v1/rooms", headers=bearer(token))
        assert response.status == 401
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
        error = await error_of(response)
        assert error["code"] == "invalid_token"
        assert token not in error["message"]


async def test_unknown_routes_and_wrong_methods_answer_json(web_app: Web) -> None:
    client, headers = web_app.client, bearer(await web_app.token("tester"))
    response = await client.get("/api/v1/nowhere", headers=headers)
    assert response.status == 404 and (await error_of(response))["code"] == "not_found"
    response = await client.get("/api/rooms/e2e-open", headers=headers)  # the old routes are gone
    assert response.status == 404 and "/api/v1" in (await error_of(response))["message"]

    response = await client.delete("/api/v1/rooms", headers=headers)  # GET lists, POST opens
    assert response.status == 405 and set(response.headers["Allow"].split(",")) == {"GET", "POST"}
    error = await error_of(response)
    assert error["code"] == "method_not_allowed" and "DELETE" in error["message"]
    response = await client.get("/api/v1/rooms/e2e-open/actions/lock", headers=headers)
    assert response.status == 405 and "POST" in response.headers["Allow"]


async def test_an_unknown_action_is_404_naming_the_actions(web_app: Web) -> None:
    headers = bearer(await web_app.token("tester"))
    response = await web_app.client.post("/api/v1/rooms/e2e-open/actions/explode", headers=headers)
    assert response.status == 404
    error = await error_of(response)
    assert error["code"] == "unknown_action" and "mute-all" in error["message"]
    response = await web_app.client.post("/api/v1/rooms/e2e-open/stack/explode", headers=headers)
    assert response.status == 404 and "end-turn" in (await error_of(response))["message"]


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        ("actions/kick", {"channel": "all"}, "body.channel: 'all' is a ConfBridge keyword"),
        ("actions/kick", {}, "body.channel: Field required"),
        ("actions/kick", b"{not json", "the body is not JSON"),
        ("actions/kick", [1, 2], "the body must be a JSON object"),
        ("actions/lock", {"now": True}, "body.now: Extra inputs are not permitted"),
        ("stack/move", {"channel": "PJSIP/a-1", "place": 0}, "body.place: Input should be"),
        ("stack/policy", {"policy": "loudest"}, "body.policy: Input should be 'fifo'"),
    ],
)
async def test_a_body_the_action_does_not_take_is_a_400_saying_where(
    web_app: Web, path: str, body: Any, expected: str
) -> None:
    headers = bearer(await web_app.token("tester"))
    url = f"/api/v1/rooms/e2e-open/{path}"
    if isinstance(body, bytes):
        response = await web_app.client.post(url, data=body, headers=headers)
    else:
        response = await web_app.client.post(url, json=body, headers=headers)
    assert response.status == 400
    error = await error_of(response)
    assert error["code"] == "bad_field" and error["message"].startswith(expected), error


async def test_a_bad_path_or_query_is_a_400(web_app: Web) -> None:
    headers = bearer(await web_app.token("tester"))
    for path in (
        "/api/v1/rooms/Not_A_Room",
        "/api/v1/calls/0/report",
        "/api/v1/calls/99999999999/report",
        "/api/v1/calls?limit=0",
        "/api/v1/calls/1/report?format=pdf",
    ):
        response = await web_app.client.get(path, headers=headers)
        assert response.status == 400, path
        assert (await error_of(response))["code"] == "bad_field"


async def test_an_unexpected_failure_is_a_json_500_that_tells_nothing_inside(
    web_app: Web, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="bridge.web.errors")
    response = await web_app.client.get("/api/v1/test-only/boom")
    assert response.status == 500
    error = await error_of(response)
    assert error["code"] == "internal_error" and "secret" not in error["message"]
    assert "http.unexpected_error method=GET path=/api/v1/test-only/boom" in caplog.text
    assert "RuntimeError" in caplog.text  # the traceback is in the log


async def test_a_browser_gets_the_panels_error_page_and_a_script_json(web_app: Web) -> None:
    page = await web_app.client.get("/no-such-page", headers={"Accept": "text/html"})
    assert page.status == 404 and page.content_type == "text/html"
    assert "Not found" in await page.text()
    script = await web_app.client.get("/no-such-page")
    assert script.status == 404 and (await error_of(script))["code"] == "not_found"
    # Under /api/ it is JSON whatever the client asks for.
    api = await web_app.client.get("/api/v1/nowhere", headers={"Accept": "text/html"})
    assert api.status == 404 and (await error_of(api))["code"] == "not_found"


async def test_the_panels_json_routes_use_the_same_shape(web_app: Web) -> None:
    response = await web_app.client.get("/rooms.json")
    assert response.status == 401
    assert (await error_of(response))["code"] == "not_logged_in"
    assert "WWW-Authenticate" not in response.headers  # the panel logs in with a form


async def test_the_document_and_its_page_need_no_token(web_app: Web) -> None:
    response = await web_app.client.get("/api/v1/openapi.json")
    assert response.status == 200
    document = await response.json()
    assert document["openapi"] == "3.1.0"
    page = await web_app.client.get("/api/v1/docs")
    assert page.status == 200 and page.content_type == "text/html"
    text = await page.text()
    for item in document["paths"].values():
        for operation in item.values():
            assert f'id="op-{operation["operationId"]}"' in text
    assert "<script" not in text and "http://" not in text.replace("http://127.0.0.1", "")
