"""A room opened on demand, end to end: opened over the JSON API with the admin token, its
PINs admit SIPp callers into its conference, and once it closed (time up, nobody in it)
the same PIN is refused as a wrong PIN and counted against the caller's source."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import aiohttp
import pytest

from bridge.domain.accounts import Principal, Via
from bridge.domain.guard import internet_source
from bridge.errors import NotAllowed
from bridge.service import BridgeService
from bridge.settings import Settings
from tests.integration.conftest import Dial, unique_caller_id
from tests.support import AmiWatcher, event, eventually


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


async def test_a_room_opened_on_demand_admits_its_pins_then_refuses_them_once_closed(
    api: aiohttp.ClientSession, ami: AmiWatcher, dial: Dial, service: BridgeService
) -> None:
    body = {"title": "Pop-up e2e", "hours": 1, "copy_settings_from": "e2e-muted"}
    async with api.post("/api/v1/rooms", json=body) as response:
        assert response.status == 200, await response.text()
        opened = await response.json()
    name, pin, moderator_pin = opened["name"], opened["pin"], opened["moderator_pin"]
    assert name.startswith("pop-up-e2e-") and len(pin) == len(moderator_pin) == 8

    participant_id, moderator_id = unique_caller_id("odp"), unique_caller_id("odm")
    mark = ami.mark()
    first = await dial(f"{pin}#", caller_id=participant_id)
    second = await dial(f"{moderator_pin}#", caller_id=moderator_id)
    joined = await ami.wait_for(event("ConfbridgeJoin", CallerIDNum=participant_id), since=mark)
    host = await ami.wait_for(event("ConfbridgeJoin", CallerIDNum=moderator_id), since=mark)
    # The settings of e2e-muted came along: participants join muted, the host does not.
    assert (joined["Conference"], joined["Admin"], joined["Muted"]) == (name, "No", "Yes")
    assert (host["Conference"], host["Admin"], host["Muted"]) == (name, "Yes", "No")

    closes_at = datetime.fromisoformat(opened["closes_at"])
    assert await service.on_demand.close_due(closes_at + timedelta(seconds=1)) == [], (
        "a room with people in it stays open past its time"
    )
    await first.hangup()
    await second.hangup()
    await service.roster.wait_until(lambda: service.switchboard.room(name) is None)
    await service.history.flushed(timeout=5)
    assert await service.on_demand.close_due(closes_at + timedelta(seconds=1)) == [name]
    assert name not in {spec.name for spec in await service.room_specs()}

    late_id = unique_caller_id("odlate")
    mark = ami.mark()
    late = await dial(f"{pin}#", caller_id=late_id)
    source = internet_source(late.local_ip)
    await eventually(lambda: service.desk.guard.failures(source, time.time()) == 1, timeout=20)
    assert not ami.saw(event("ConfbridgeJoin", CallerIDNum=late_id), since=mark)


async def test_anyone_but_a_host_is_refused_a_room_and_nothing_is_opened(
    api: aiohttp.ClientSession, service: BridgeService
) -> None:
    before = [spec.name for spec in await service.room_specs()]
    read_only = Principal("watcher", rooms=frozenset({"e2e-open"}), via=Via.TOKEN, read_only=True)
    with pytest.raises(NotAllowed, match="may not open rooms"):
        await service.on_demand.open(read_only, "Not mine", hours=1)
    async with api.post("/api/v1/rooms", json={"title": "  ", "hours": 1}) as response:
        assert response.status == 400
        assert "title" in (await response.json())["error"]["message"]
    async with api.post("/api/v1/rooms", json={"title": "x", "copy_settings_from": "nope"}) as r:
        assert r.status == 404
    assert [spec.name for spec in await service.room_specs()] == before
