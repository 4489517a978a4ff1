"""Operations on the real stack: /healthz answers, /readyz says 503 while Asterisk's AMI is
away and 200 once it is back, /metrics counts a caller let in by their PIN."""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bridge.runtime import Runtime
from bridge.service import BridgeService
from bridge.settings import Settings
from tests.integration.conftest import Dial, unique_caller_id
from tests.support import JOIN_SECONDS, AmiWatcher, event, eventually

PIN = "2468#"  # e2e-open


@pytest.fixture
async def http(runtime_settings: Settings) -> AsyncIterator[aiohttp.ClientSession]:
    """A scraper's credentials: the metrics token, and no moderator's login."""
    token = runtime_settings.ensure_metrics_token().get_secret_value()
    async with aiohttp.ClientSession(
        f"http://127.0.0.1:{runtime_settings.http_port}",
        timeout=aiohttp.ClientTimeout(total=10),
        headers={"Authorization": f"Bearer {token}"},
    ) as session:
        yield session


async def metrics(
    http: aiohttp.ClientSession,
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with http.get("/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = await response.text()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def admissions(found: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> float:
    return found[("iobridge_pin_admissions_total", (("role", "participant"),))]


async def test_metrics_count_a_caller_let_in_by_their_pin(
    http: aiohttp.ClientSession, ami: AmiWatcher, dial: Dial, service: BridgeService
) -> None:
    before = await metrics(http)
    caller_id = unique_caller_id("metric")
    mark = ami.mark()
    await dial(PIN, caller_id=caller_id, stay=20)
    joined = await ami.wait_for(
        event("ConfbridgeJoin", CallerIDNum=caller_id), since=mark, timeout=JOIN_SECONDS
    )
    # Our AMI watcher may hear the join before the service does.
    await service.roster.wait_until(lambda: service.switchboard.room_of(joined["Channel"]))

    after = await metrics(http)
    assert admissions(after) == admissions(before) + 1
    assert after[("iobridge_ami_events_total", ())] > before[("iobridge_ami_events_total", ())]
    assert after[("iobridge_ami_connected", ())] == 1
    assert after[("iobridge_rooms_live", ())] >= 1
    assert after[("iobridge_participants", ())] >= 1
    refused = {labels: v for (name, labels), v in after.items() if name.endswith("refusals_total")}
    assert (("reason", "wrong-pin"),) in refused  # every reason is there from the start
    assert ("iobridge_websocket_clients", ()) in after and ("iobridge_hands_raised", ()) in after


async def test_an_action_is_timed_in_the_metrics(
    http: aiohttp.ClientSession, runtime_settings: Settings
) -> None:
    token = runtime_settings.ensure_admin_token().get_secret_value()
    headers = {"Authorization": f"Bearer {token}"}
    async with http.post("/api/v1/rooms/e2e-open/actions/lock", headers=headers) as response:
        assert response.status == 404  # nobody in the room: Asterisk says so, timed all the same
    found = await metrics(http)
    key = ("iobridge_action_seconds_count", (("action", "lock"), ("outcome", "no_such_room")))
    assert found[key] >= 1


async def test_readyz_is_503_while_the_ami_is_away_and_200_once_back(
    http: aiohttp.ClientSession, runtime: Runtime
) -> None:
    service = runtime.service
    assert service is not None and runtime.asterisk is not None and runtime.asterisk.pid is not None
    async with http.get("/readyz") as response:
        assert response.status == 200
        assert await response.json() == {
            "ready": True, "database": "ok", "pbx": "connected", "role": "active",
        }  # fmt: skip

    pid = runtime.asterisk.pid
    os.kill(pid, signal.SIGSTOP)  # a hung Asterisk: its AMI answers nothing
    try:
        await service.roster.wait_until(lambda: not service.switchboard.pbx_connected, timeout=20)
        async with http.get("/readyz") as response:
            assert response.status == 503
            assert (await response.json())["pbx"] == "disconnected"
        async with http.get("/healthz") as response:
            assert response.status == 200  # the process itself answers
    finally:
        os.kill(pid, signal.SIGCONT)
    await service.roster.wait_until(lambda: service.switchboard.pbx_connected, timeout=20)

    async def ready() -> bool:
        async with http.get("/readyz") as response:
            return response.status == 200

    await eventually(ready)
