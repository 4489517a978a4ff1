"""Post-call reports end to end: SIPp callers in a room on the real Asterisk, one of them
talking, a recording started through the API; after the call the report (JSON, CSV and
the page with its chart) shows the right people, when they came and went and how long
they spoke, each within a second of what Asterisk itself reported.

When the speaker stack lands, its turns join this call: ``asterisk_figures`` already
has each channel's talking spurts to check them against.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp
import pytest

from bridge.asterisk.announcer import is_announcer
from bridge.service import BridgeService
from bridge.settings import Settings
from bridge.web import render
from tests.integration.conftest import Dial, unique_caller_id
from tests.support import AmiWatcher, event

ROOM = "e2e-report"
PIN, MODERATOR_PIN = "8181#", "8182#"
TOLERANCE = 1.0  # seconds: the report against Asterisk's own figures


@dataclass
class Figures:
    """One channel as Asterisk reported it over AMI."""

    caller_id: str
    joined: float = 0.0
    left: float = 0.0
    talk: float = 0.0
    spurts: list[tuple[float, float]] = field(default_factory=list)


def asterisk_figures(events: list[dict[str, Any]], room: str) -> dict[str, Figures]:
    """Join, leave and talk time per channel from Asterisk's own events."""
    found: dict[str, Figures] = {}
    talking: dict[str, float] = {}
    for e in events:
        channel, at = str(e.get("Channel", "")), float(e.get("Timestamp", 0))
        if e.get("Conference") != room or is_announcer(channel):
            continue  # the bridge's announcer is nobody's stay
        match e.get("Event"):
            case "ConfbridgeJoin":
                found[channel] = Figures(str(e.get("CallerIDNum")), joined=at)
            case "ConfbridgeTalking" if channel in found:
                if e.get("TalkingStatus") == "on":
                    talking.setdefault(channel, at)
                elif channel in talking:
                    found[channel].spurts.append((talking.pop(channel), at))
            case "ConfbridgeLeave" if channel in found:
                if channel in talking:
                    found[channel].spurts.append((talking.pop(channel), at))
                found[channel].left = at
    for figures in found.values():
        figures.talk = sum(end - start for start, end in figures.spurts)
    return found


@pytest.fixture
async def http(stack_settings: Settings) -> AsyncIterator[aiohttp.ClientSession]:
    token = stack_settings.ensure_admin_token().get_secret_value()
    async with aiohttp.ClientSession(
        f"http://127.0.0.1:{stack_settings.http_port}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=aiohttp.ClientTimeout(total=15),
    ) as session:
        yield session


async def test_after_a_call_its_report_shows_who_came_and_how_long_they_spoke(
    ami: AmiWatcher,
    dial: Dial,
    service: BridgeService,
    http: aiohttp.ClientSession,
    stack_settings: Settings,
) -> None:
    talker_id, listener_id, moderator_id = (unique_caller_id(p) for p in ("tlk", "lst", "mod"))
    mark = ami.mark()
    listener = await dial(PIN, caller_id=listener_id, stay=60)
    moderator = await dial(MODERATOR_PIN, caller_id=moderator_id, stay=60)
    for caller_id in (listener_id, moderator_id):
        await ami.wait_for(event("ConfbridgeJoin", CallerIDNum=caller_id), since=mark)
    talker = await dial(PIN, caller_id=talker_id, audio=True, stay=12)
    joined = await ami.wait_for(event("ConfbridgeJoin", CallerIDNum=talker_id), since=mark)
    await service.roster.wait_until(
        lambda: joined["Channel"] in {p["channel"] for p in _participants(service)}
    )

    async with http.post(f"/api/rooms/{ROOM}/record") as response:
        assert response.status == 200, await response.text()
        recording = (await response.json())["file"]
    await ami.wait_for(event("ConfbridgeRecord", Conference=ROOM), since=mark)
    await ami.wait_for(
        event("ConfbridgeTalking", Channel=str(joined["Channel"]), TalkingStatus="on"), since=mark
    )
    await asyncio.wait_for(talker.wait(), 40)  # SIPp talks for its stay, then hangs up
    async with http.post(f"/api/rooms/{ROOM}/stop-record") as response:
        assert response.status == 200, await response.text()
    await listener.hangup()
    await moderator.hangup()
    await ami.wait_for(event("ConfbridgeEnd", Conference=ROOM), since=mark, timeout=20)
    await service.roster.wait_until(lambda: service.switchboard.room(ROOM) is None)
    await service.history.flushed()
    asterisk = asterisk_figures(ami.events[mark:], ROOM)

    async with http.get("/api/calls", params={"room": ROOM, "limit": "1"}) as response:
        [call] = (await response.json())["calls"]
    assert call["ended_at"] is not None
    async with http.get(f"/api/calls/{call['id']}/report") as response:
        assert response.status == 200
        report = await response.json()

    # The people, their roles, and when they came and went, as Asterisk says.
    assert report["caller_ids"] == "full"
    stays = {p["channel"]: p for p in report["presence"]}
    assert set(stays) == set(asterisk)
    assert {p["who"] for p in stays.values()} == {talker_id, listener_id, moderator_id}
    for channel, figures in asterisk.items():
        stay = stays[channel]
        assert stay["who"] == figures.caller_id
        assert abs(_epoch(stay["joined_at"]) - figures.joined) <= TOLERANCE
        assert abs(_epoch(stay["left_at"]) - figures.left) <= TOLERANCE
        assert abs(stay["talk_time"] - figures.talk) <= TOLERANCE, (channel, stay, figures)
    roles = {p["who"]: p["role"] for p in stays.values()}
    assert roles[moderator_id] == "moderator" and roles[listener_id] == "participant"

    # Talk time: the talker held the floor; the chart's figures agree.
    talk = report["talk"]
    talker_figures = asterisk[str(joined["Channel"])]
    assert talker_figures.talk > 3
    assert [s["who"] for s in talk["speakers"]] == [talker_id]
    assert abs(talk["speakers"][0]["talk_time"] - talker_figures.talk) <= TOLERANCE
    assert talk["speakers"][0]["share"] == 1.0
    assert (talk["first_time_basis"], talk["first_time_share"]) == ("roster", 1.0)

    # The recording, and who started it (the admin token).
    [made] = report["recordings"]
    assert (made["file"], made["started_by"], made["on_disk"]) == (recording, "admin", True)
    assert made["duration"] > 1.0

    # The CSV carries the same facts.
    async with http.get(f"/api/calls/{call['id']}/report", params={"format": "csv"}) as response:
        assert response.headers["Content-Type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert {r["who"] for r in rows if r["section"] == "presence"} == set(roles)
    [talk_row] = [r for r in rows if r["section"] == "talk"]
    assert abs(float(talk_row["talk_time"]) - talker_figures.talk) <= TOLERANCE
    assert [r["detail"] for r in rows if r["section"] == "recording"] == [recording]

    # The page: the chart inline, and (no login yet) caller IDs masked.
    async with aiohttp.ClientSession() as anonymous:
        url = f"http://127.0.0.1:{stack_settings.http_port}"
        async with anonymous.get(f"{url}/calls/{call['id']}") as response:
            assert response.status == 200
            page = await response.text()
        async with anonymous.get(f"{url}/api/calls/{call['id']}/report") as response:
            assert response.status == 401
    assert f"Talk time in call {call['id']} (room {ROOM})" in page
    assert "<svg" in page and "First-time speakers: 100 % of the talk" in page
    assert f"…{talker_id[-2:]}" in page
    assert all(cid not in page for cid in (talker_id, listener_id, moderator_id))
    assert f"{recording}: started" in page and "by admin" in page


async def test_a_report_of_a_call_that_never_was_is_a_404(http: aiohttp.ClientSession) -> None:
    async with http.get("/api/calls/987654/report") as response:
        assert response.status == 404
        assert (await response.json())["code"] == "no_such_call"
    async with http.get("/api/calls/1/report", params={"format": "pdf"}) as response:
        assert response.status == 400


def _participants(service: BridgeService) -> list[dict[str, Any]]:
    participants: list[dict[str, Any]] = render.room(service.switchboard, ROOM)["participants"]
    return participants


def _epoch(iso: str | None) -> float:
    assert iso is not None
    return datetime.fromisoformat(iso).timestamp()
