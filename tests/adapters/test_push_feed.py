"""The push feed over HTTP: ``GET /api/v1/events`` (a token hears only its rooms), and the
webhooks' outboxes against real aiohttp receivers (signed, retried, bounded, never
waited for)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from bridge.domain.events import ParticipantJoined, Role
from bridge.domain.feed import FeedEvent, Kind, signature_holds
from bridge.errors import StartupError
from bridge.service.feed import Published
from bridge.service.metrics import Metrics
from bridge.settings import Webhook
from bridge.web.webhooks import Outbox, outboxes
from tests.adapters.conftest import Web
from tests.adapters.test_api_errors import bearer, error_of

T = time.time()


def join(room: str, n: int) -> ParticipantJoined:
    return ParticipantJoined(
        room, f"PJSIP/anonymous-{n:08d}", f"+1555000{n:04d}", Role.PARTICIPANT, True, T
    )


async def next_event(stream: aiohttp.StreamReader) -> dict[str, Any]:
    """The next event's data, comments skipped."""
    async with asyncio.timeout(5):
        while True:
            line = (await stream.readline()).decode()
            if line.startswith("data: "):
                found: dict[str, Any] = json.loads(line.removeprefix("data: "))
                return found


async def test_a_token_hears_the_events_of_its_rooms_only(web_app: Web) -> None:
    carol = bearer(await web_app.token("carol"))  # e2e-open only
    response = await web_app.client.get("/api/v1/events", headers=carol)
    assert response.status == 200 and response.content_type == "text/event-stream"
    await response.content.readline()  # the opening comment: subscribed
    web_app.service.roster.apply(join("e2e-panel", 1))
    web_app.service.roster.apply(join("e2e-open", 2))
    started = await next_event(response.content)
    assert (started["kind"], started["room"]) == ("call.started", "e2e-open")
    joined = await next_event(response.content)
    assert joined["kind"] == "participant.joined"
    assert joined["data"]["caller_id"] == "+15550000002"
    response.close()


async def test_a_stream_of_one_room_and_some_kinds(web_app: Web) -> None:
    tester = bearer(await web_app.token("tester"))
    url = "/api/v1/events?room=e2e-panel&kinds=participant.joined"
    response = await web_app.client.get(url, headers=tester)
    await response.content.readline()
    web_app.service.roster.apply(join("e2e-open", 1))
    web_app.service.roster.apply(join("e2e-panel", 2))
    found = await next_event(response.content)
    assert (found["kind"], found["room"]) == ("participant.joined", "e2e-panel")
    response.close()


async def test_a_room_not_the_tokens_or_an_unknown_kind_is_refused(web_app: Web) -> None:
    carol = bearer(await web_app.token("carol"))
    response = await web_app.client.get("/api/v1/events?room=e2e-panel", headers=carol)
    assert response.status == 403
    response = await web_app.client.get("/api/v1/events?kinds=hand.waved", headers=carol)
    assert response.status == 400 and "hand.waved" in (await error_of(response))["message"]
    assert (await web_app.client.get("/api/v1/events")).status == 401


def published(n: int, kind: Kind = Kind.PARTICIPANT_JOINED) -> Published:
    return Published(f"t-{n}", FeedEvent(kind, "e2e-open", T, {"n": n}))


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[web.Request | bytes], dict[str, int]]]:
    """An aiohttp receiver: /ok takes everything, /flaky answers 500 twice, /hang never
    answers. What reached it (bodies with their headers) is kept."""
    got: list[Any] = []
    calls = {"flaky": 0}

    async def ok(request: web.Request) -> web.Response:
        got.append((dict(request.headers), await request.read()))
        return web.Response(status=204)

    async def flaky(request: web.Request) -> web.Response:
        calls["flaky"] += 1
        if calls["flaky"] <= 2:
            return web.Response(status=500)
        return await ok(request)

    async def hang(request: web.Request) -> web.Response:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    app = web.Application()
    app.router.add_post("/ok", ok)
    app.router.add_post("/flaky", flaky)
    app.router.add_post("/hang", hang)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")), got, calls
    finally:
        await server.close()


def outbox(url: str, **options: Any) -> tuple[Outbox, Metrics]:
    metrics = Metrics(lambda: None, lambda: True)  # type: ignore[arg-type,return-value]
    hook = Webhook(url=url, secret=SecretStr("s3cret"), events=options.pop("events", []))
    return Outbox(1, hook, b"s3cret", metrics, first_retry=0.01, **options), metrics


def count(metrics: Metrics, outcome: str) -> float:
    return metrics.webhook_events.labels("1", outcome)._value.get()


async def run_until(box: Outbox, session: aiohttp.ClientSession, done: Any) -> None:
    task = asyncio.create_task(box.run(session))
    try:
        async with asyncio.timeout(10):
            while not done():  # noqa: ASYNC110 (the outbox tells nobody; its counters do)
                await asyncio.sleep(0.01)
    finally:
        task.cancel()


async def test_each_post_is_signed_over_its_timestamp_and_body(receiver: Any) -> None:
    base, got, _ = receiver
    box, metrics = outbox(f"{base}/ok")
    box.offer(published(1))
    async with aiohttp.ClientSession() as session:
        await run_until(box, session, lambda: count(metrics, "delivered") == 1)
    [(headers, body)] = got
    assert headers["X-IOBridge-Event"] == "participant.joined"
    assert abs(int(headers["X-IOBridge-Timestamp"]) - time.time()) < 5
    assert signature_holds(
        b"s3cret", headers["X-IOBridge-Timestamp"], body, headers["X-IOBridge-Signature"]
    )
    assert json.loads(body)["id"] == "t-1"


async def test_a_500_is_tried_again_with_backoff_and_order_is_kept(receiver: Any) -> None:
    base, got, calls = receiver
    box, metrics = outbox(f"{base}/flaky")
    box.offer(published(1))
    box.offer(published(2))
    async with aiohttp.ClientSession() as session:
        await run_until(box, session, lambda: count(metrics, "delivered") == 2)
    assert [json.loads(body)["id"] for _, body in got] == ["t-1", "t-2"]
    assert (calls["flaky"], count(metrics, "retried"), count(metrics, "failed")) == (4, 2, 0)


async def test_a_receiver_that_never_answers_costs_its_outbox_the_timeout_and_nothing_else(
    receiver: Any,
) -> None:
    base, _, _ = receiver
    box, metrics = outbox(f"{base}/hang", timeout=0.1, attempts=2)
    box.offer(published(1))
    async with aiohttp.ClientSession() as session:
        began = time.monotonic()
        await run_until(box, session, lambda: count(metrics, "failed") == 1)
    assert time.monotonic() - began < 2


def test_a_full_outbox_drops_its_oldest_and_counts_it() -> None:
    box, metrics = outbox("http://127.0.0.1:9/x", queue_size=3)
    for n in range(5):
        box.offer(published(n))
    assert box.pending == 3 and count(metrics, "dropped") == 2


def test_an_outbox_takes_only_the_kinds_asked_for() -> None:
    box, _ = outbox("http://127.0.0.1:9/x", events=["hand.raised"])
    box.offer(published(1))
    box.offer(published(2, Kind.HAND_RAISED))
    assert box.pending == 1


def test_a_secret_file_that_cannot_be_read_stops_the_start(tmp_path: Path) -> None:
    metrics = Metrics(lambda: None, lambda: True)  # type: ignore[arg-type,return-value]
    hook = Webhook(url="https://example.org/h", secret_file=tmp_path / "missing")
    with pytest.raises(StartupError, match=r"IOBRIDGE_WEBHOOKS\[0\]\.secret_file: .*missing"):
        outboxes([hook], metrics)
    (tmp_path / "secret").write_text("from-a-file\n")
    [box] = outboxes(
        [Webhook(url="https://example.org/h", secret_file=tmp_path / "secret")], metrics
    )
    assert box._key == b"from-a-file"


@pytest.mark.parametrize(
    ("hook", "message"),
    [
        ({"url": "ftp://example.org/h", "secret": "x"}, "http:// or https://"),
        ({"url": "https://example.org/h"}, "a secret or a secret_file"),
        ({"url": "https://example.org/h", "secret": "x", "events": ["hand.waved"]}, "hand.waved"),
    ],
)
def test_a_bad_webhook_is_refused_with_what_is_wrong(hook: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Webhook(**hook)
