"""Post-call reports end to end: SIPp callers in a room on the real Asterisk, two turns
through the speaker stack (hands raised with *9 on the keypad, the floor given with
``next`` through the API), a recording; after the call the report (JSON, CSV and the page
with its chart) shows the right people, turns and talk times, each within a second of
what Asterisk itself reported.

Who talks: a moderator plays speech the whole call; the two who take turns are echo
callers (they send back what they hear), so Asterisk hears them when they have the floor.
The API is used with a real moderator's token (tester, every room): its actions are
audited under that name, and the recording's starter is that moderator.
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
from bridge.asterisk.recorder import is_recorder
from bridge.service import BridgeService
from bridge.settings import Settings
from tests.integration.conftest import Dial, unique_caller_id
from tests.integration.test_speaker_stack import Person, raise_hand
from tests.support import JOIN_SECONDS, AmiWatcher, event, roster_rows

ROOM = "e2e-report"
PIN, MODERATOR_PIN = "8181#", "8182#"
TOLERANCE = 1.0  # seconds: the report against Asterisk's own figures
TURN = 5.0  # seconds each speaker holds the floor


@dataclass
class Figures:
    """One channel as Asterisk reported it over AMI."""

    caller_id: str
    joined: float = 0.0
    left: float = 0.0
    talk: float = 0.0
    spurts: list[tuple[float, float]] = field(default_factory=list)
    unmuted: list[tuple[float, float]] = field(default_factory=list)  # the floor, as heard

    def talk_within(self, start: float, end: float) -> float:
        return sum(max(0.0, min(b, end) - max(a, start)) for a, b in self.spurts)


def asterisk_figures(events: list[dict[str, Any]], room: str) -> dict[str, Figures]:
    """Join, leave, talk and unmuted times per channel from Asterisk's own events."""
    found: dict[str, Figures] = {}
    talking: dict[str, float] = {}
    unmuted: dict[str, float] = {}
    for e in events:
        channel, at = str(e.get("Channel", "")), float(e.get("Timestamp", 0))
        if e.get("Conference") != room or is_announcer(channel) or is_recorder(channel):
            continue  # the bridge's announcer and recorder are nobody's stay
        match e.get("Event"):
            case "ConfbridgeJoin":
                found[channel] = Figures(str(e.get("CallerIDNum")), joined=at)
            case "ConfbridgeTalking" if channel in found:
                if e.get("TalkingStatus") == "on":
                    talking.setdefault(channel, at)
                elif channel in talking:
                    found[channel].spurts.append((talking.pop(channel), at))
            case "ConfbridgeUnmute" if channel in found:
                unmuted.setdefault(channel, at)
            case "ConfbridgeMute" if channel in unmuted:
                found[channel].unmuted.append((unmuted.pop(channel), at))
            case "ConfbridgeLeave" if channel in found:
                if channel in talking:
                    found[channel].spurts.append((talking.pop(channel), at))
                if channel in unmuted:
                    found[channel].unmuted.append((unmuted.pop(channel), at))
                found[channel].left = at
    for figures in found.values():
        figures.talk = sum(end - start for start, end in figures.spurts)
    return found


@pytest.fixture
async def http(
    service: BridgeService, runtime_settings: Settings
) -> AsyncIterator[aiohttp.ClientSession]:
    """The API as a script uses it: a moderator's token."""
    token = (await service.tokens.create("tester", expires_days=1)).token
    async with aiohttp.ClientSession(
        f"http://127.0.0.1:{runtime_settings.http_port}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=aiohttp.ClientTimeout(total=15),
    ) as session:
        yield session


async def enter(
    ami: AmiWatcher, dial: Dial, service: BridgeService, pin: str, **options: Any
) -> Person:
    caller_id = unique_caller_id(options.pop("prefix", "rep"))
    mark = ami.mark()
    caller = await dial(pin, caller_id=caller_id, stay=90, **options)
    joined = await ami.wait_for(
        event("ConfbridgeJoin", CallerIDNum=caller_id), since=mark, timeout=JOIN_SECONDS
    )
    channel = str(joined["Channel"])
    await service.roster.wait_until(lambda: service.switchboard.room_of(channel) == ROOM)
    await service.roster.wait_until(lambda: ROOM in service.speakers.stacks)
    return Person(caller, channel, caller_id)


def recorder_joined(e: dict[str, Any]) -> bool:
    return e.get("Event") == "ConfbridgeJoin" and is_recorder(str(e.get("Channel", "")))


async def act(http: aiohttp.ClientSession, path: str, **body: str) -> dict[str, Any]:
    async with http.post(f"/api/v1/rooms/{ROOM}/{path}", json=body) as response:
        assert response.status == 200, await response.text()
        answer: dict[str, Any] = await response.json()
        return answer


async def test_after_a_call_its_report_shows_who_came_who_spoke_in_turn_and_how_long(
    ami: AmiWatcher,
    dial: Dial,
    service: BridgeService,
    http: aiohttp.ClientSession,
    runtime_settings: Settings,
) -> None:
    mark = ami.mark()
    listener = await enter(ami, dial, service, PIN, prefix="lst")
    voice = await enter(ami, dial, service, MODERATOR_PIN, audio=True, prefix="mod")
    first = await enter(ami, dial, service, PIN, echo=True, later_keys=("*9",), prefix="one")
    second = await enter(ami, dial, service, PIN, echo=True, later_keys=("*9",), prefix="two")
    people = (listener, voice, first, second)

    recording = (await act(http, "actions/record"))["file"]
    await ami.wait_for(recorder_joined, since=mark)  # the bridge records with a participant
    await raise_hand(service, ROOM, first)
    await raise_hand(service, ROOM, second)
    for speaker in (first, second):
        assert (await act(http, "stack/next"))["speaker"] == speaker.channel
        await ami.wait_for(event("ConfbridgeUnmute", Channel=speaker.channel), since=mark)
        await asyncio.sleep(TURN)
    await act(http, "stack/end-turn")
    await ami.wait_for(event("ConfbridgeMute", Channel=second.channel), since=mark)
    await act(http, "actions/stop-record")
    for person in people:
        await person.caller.hangup()
    await ami.wait_for(event("ConfbridgeEnd", Conference=ROOM), since=mark, timeout=20)
    await service.roster.wait_until(lambda: service.switchboard.room(ROOM) is None)
    await service.history.flushed()
    asterisk = asterisk_figures(ami.events[mark:], ROOM)

    async with http.get("/api/v1/calls", params={"room": ROOM, "limit": "1"}) as response:
        [call] = (await response.json())["calls"]
    assert call["ended_at"] is not None
    async with http.get(f"/api/v1/calls/{call['id']}/report") as response:
        assert response.status == 200
        report = await response.json()

    # The people, their roles, when they came and went and how long they spoke.
    assert report["caller_ids"] == "full"
    stays = {p["channel"]: p for p in report["presence"]}
    assert set(stays) == set(asterisk) == {p.channel for p in people}
    for channel, figures in asterisk.items():
        stay = stays[channel]
        assert stay["who"] == figures.caller_id
        assert abs(_epoch(stay["joined_at"]) - figures.joined) <= TOLERANCE
        assert abs(_epoch(stay["left_at"]) - figures.left) <= TOLERANCE
        assert abs(stay["talk_time"] - figures.talk) <= TOLERANCE, (channel, stay, figures)
    roles = {p["who"]: p["role"] for p in stays.values()}
    assert roles[voice.caller_id] == "moderator" and roles[listener.caller_id] == "participant"
    assert asterisk[voice.channel].talk > 3  # the room had something to echo

    # Two turns, in the order of the hands, each as long as Asterisk had them unmuted.
    turns = report["turns"]
    assert [(t["who"], t["lane"], t["first_time"]) for t in turns] == [
        (first.caller_id, "stack", True),
        (second.caller_id, "stack", True),
    ]
    for turn, speaker in zip(turns, (first, second), strict=True):
        [(unmuted, muted)] = asterisk[speaker.channel].unmuted
        assert abs(_epoch(turn["started_at"]) - unmuted) <= TOLERANCE
        assert abs(turn["length"] - (muted - unmuted)) <= TOLERANCE
        heard = asterisk[speaker.channel].talk_within(unmuted, muted)
        assert abs(turn["talk_time"] - heard) <= TOLERANCE, (turn, heard)
        assert turn["length"] >= TURN - TOLERANCE
    assert report["talk"]["first_time_basis"] == "turns"
    shares = {s["who"]: s for s in report["talk"]["speakers"]}
    for person in people:
        talk = asterisk[person.channel].talk
        if talk > 0:
            assert abs(shares[person.caller_id]["talk_time"] - talk) <= TOLERANCE
    assert abs(sum(s["share"] for s in shares.values()) - 1.0) < 0.01

    # The moderator's token is who ran the stack and started the recording.
    done = [(a["moderator"], a["action"]) for a in report["moderator_actions"]]
    assert done == [
        ("tester", name) for name in ("record", "next", "next", "end-turn", "stop-record")
    ]
    [made] = report["recordings"]
    assert (made["file"], made["started_by"], made["on_disk"]) == (recording, "tester", True)
    assert made["duration"] > 2 * TURN - TOLERANCE
    async with http.get(f"/api/v1/calls/{call['id']}/audit") as response:
        trail = (await response.json())["actions"]
    assert [(a["actor"], a["action"], a["result"]) for a in trail][1:3] == [
        ("tester", "next", "ok"),
        ("tester", "next", "ok"),
    ]

    # The CSV carries the same facts.
    async with http.get(f"/api/v1/calls/{call['id']}/report", params={"format": "csv"}) as response:
        assert response.headers["Content-Type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert {r["who"] for r in rows if r["section"] == "presence"} == set(roles)
    assert [r["who"] for r in rows if r["section"] == "turn"] == [first.caller_id, second.caller_id]
    for row in (r for r in rows if r["section"] == "talk"):
        assert abs(float(row["talk_time"]) - shares[row["who"]]["talk_time"]) <= 0.01
    assert [r["detail"] for r in rows if r["section"] == "recording"] == [recording]

    # The page, for a moderator of the room: caller IDs in full, the chart, the turns.
    page = await _page_as(runtime_settings, "tester", "test-moderator", f"/calls/{call['id']}")
    assert f"Talk time in call {call['id']} (room {ROOM})" in page
    assert "<svg" in page and all(p.caller_id in page for p in people)
    assert f"{recording}</a>: started" in page and "by tester" in page  # a download link
    turns_section = page[page.index('id="turns-heading"') :].split("</section>")[0]
    assert turns_section.count("<td>stack</td>") == 2
    assert turns_section.index(first.caller_id) < turns_section.index(second.caller_id)


async def _page_as(settings: Settings, username: str, password: str, path: str) -> str:
    """A page as a browser gets it after logging in to the panel."""
    base = f"http://127.0.0.1:{settings.http_port}"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        form = {"username": username, "password": password, "next": path}
        async with browser.post(f"{base}/login", data=form, headers={"Origin": base}) as response:
            assert response.status == 200 and str(response.url).endswith(path)
            return await response.text()


async def test_a_report_of_a_call_that_never_was_is_a_404(http: aiohttp.ClientSession) -> None:
    async with http.get("/api/v1/calls/987654/report") as response:
        assert response.status == 404
        assert (await response.json())["error"]["code"] == "no_such_call"
    async with http.get("/api/v1/calls/1/report", params={"format": "pdf"}) as response:
        assert response.status == 400


def _participants(service: BridgeService) -> list[dict[str, Any]]:
    participants: list[dict[str, Any]] = roster_rows(service.switchboard, ROOM)
    return participants


def _epoch(iso: str | None) -> float:
    assert iso is not None
    return datetime.fromisoformat(iso).timestamp()
