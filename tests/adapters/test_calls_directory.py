"""The directory of calls, for anyone: ``/calls`` and ``/calls.ics`` (parsed here with the
icalendar library), on a real socket with a real service and database. Only public rooms,
their next calls in their own zone across a daylight-saving change, the numbers that lead
to them, a PIN only where the room shows it, and nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient, TestServer
from icalendar import Calendar

from bridge.provision import FilePins, provision_rooms
from bridge.service import BridgeService
from bridge.service.directory import CallDirectory
from bridge.settings import Settings
from bridge.store.db import Database, upgrade
from bridge.web.app import create_app

NEW_YORK = ZoneInfo("America/New_York")
# Thursday 29 October 2026, noon UTC: New York falls back on Sunday 1 November.
NOW = datetime(2026, 10, 29, 12, tzinfo=UTC)
ROOMS = """\
rooms:
  - name: thursday
    title: Thursday general call
    pin: "42424242"
    moderator_pin: "91919191"
    public: true
    show_pin: true
    schedule: {rrule: "FREQ=WEEKLY;BYDAY=TH;BYHOUR=20", tz: America/New_York, minutes: 90}
  - name: paris
    title: Paris working group
    pin: "52525252"
    public: true
    schedule: {rrule: "FREQ=WEEKLY;BYDAY=MO;BYHOUR=19;BYMINUTE=30", tz: Europe/Paris, minutes: 60}
  - name: secret-plans
    title: Secret planning
    pin: "62626262"
    moderator_pin: "72727272"
    schedule: {rrule: "FREQ=DAILY;BYHOUR=9", tz: UTC, minutes: 30}
trunks:
  - name: carrier
    kind: ip
    host: 203.0.113.10
    match: ["203.0.113.0/28"]
    numbers:
      - number: "+15557770000"
      - number: "+15557770001"
        room: thursday
        pin_required: false
      - number: "+15557770002"
        room: secret-plans
"""


@dataclass
class Directory:
    client: TestClient[Any, Any]
    service: BridgeService

    async def page(self) -> str:
        response = await self.client.get("/calls")
        assert response.status == 200
        return str(await response.text())

    async def feed(self) -> Calendar:
        response = await self.client.get("/calls.ics")
        assert response.status == 200
        assert response.content_type == "text/calendar"
        return Calendar.from_ical(await response.read())


@pytest.fixture
async def directory(tmp_path: Path) -> AsyncIterator[Directory]:
    rooms_file = tmp_path / "rooms.yaml"
    rooms_file.write_text(ROOMS)
    settings = Settings(state_dir=tmp_path / "state", rooms_file=rooms_file)
    await upgrade(settings.effective_database_url)
    db = Database(settings.effective_database_url)
    await provision_rooms(db, settings, lambda _: None)
    service = BridgeService(settings, db, FilePins(rooms_file))
    service.directory = CallDirectory(
        db, service.desk.rooms, FilePins(rooms_file), clock=NOW.timestamp
    )
    client: TestClient[Any, Any] = TestClient(
        TestServer(create_app(settings, service), host="127.0.0.1")
    )
    await client.start_server()
    try:
        yield Directory(client, service)
    finally:
        await client.close()
        await db.dispose()


def events(feed: Calendar, title: str) -> list[Any]:
    return [e for e in feed.walk("VEVENT") if str(e["summary"]) == title]


async def test_the_feed_lists_the_next_call_in_the_rooms_zone_across_a_dst_change(
    directory: Directory,
) -> None:
    feed = await directory.feed()
    thursdays = events(feed, "Thursday general call")
    before, after = (e.decoded("dtstart") for e in thursdays[:2])
    assert thursdays[0]["dtstart"].params["TZID"] == "America/New_York"
    assert (before, after) == (
        datetime(2026, 10, 29, 20, tzinfo=NEW_YORK),
        datetime(2026, 11, 5, 20, tzinfo=NEW_YORK),
    )
    assert before.astimezone(UTC).hour == 0 and after.astimezone(UTC).hour == 1  # EDT, EST
    assert thursdays[0].decoded("dtend") == datetime(2026, 10, 29, 21, 30, tzinfo=NEW_YORK)
    assert {str(tz["tzid"]) for tz in feed.walk("VTIMEZONE")} >= {"America/New_York"}


async def test_the_page_shows_times_for_the_visitors_zone_with_the_rooms_as_text(
    directory: Directory,
) -> None:
    page = await directory.page()
    assert '<time datetime="2026-10-30T00:00:00Z" data-zone="America/New_York">' in page
    assert "Thu 29 Oct 2026, 20:00 (America/New_York)" in page
    assert '<time datetime="2026-11-02T18:30:00Z" data-zone="Europe/Paris">' in page


async def test_the_numbers_that_lead_to_a_room_are_listed(directory: Directory) -> None:
    feed = await directory.feed()
    (first, *_) = events(feed, "Thursday general call")
    assert str(first["description"]).splitlines()[:2] == [
        "Dial +15557770001 (no PIN)",
        "Dial +15557770000",
    ]
    page = await directory.page()
    assert 'href="tel:+15557770001"' in page and "(no PIN needed)" in page


async def test_a_pin_is_shown_only_where_the_room_says_so_and_never_a_moderators(
    directory: Directory,
) -> None:
    page, feed = await directory.page(), (await directory.feed()).to_ical().decode()
    for text in (page, feed):
        assert "42424242" in text  # thursday: show_pin
        assert "52525252" not in text  # paris: public, its PIN not shown
        assert "91919191" not in text


async def test_rooms_that_are_not_public_are_absent(directory: Directory) -> None:
    page, feed = await directory.page(), (await directory.feed()).to_ical().decode()
    for text in (page, feed):
        for secret in ("secret-plans", "Secret planning", "62626262", "72727272", "+15557770002"):
            assert secret not in text


async def test_a_pin_in_a_file_that_was_not_synced_is_not_shown(directory: Directory) -> None:
    service = directory.service
    service.directory = CallDirectory(
        service.db, service.desk.rooms, lambda: {"thursday": "99999999"}, clock=NOW.timestamp
    )
    page = await directory.page()
    assert "99999999" not in page and "PIN:" not in page


async def test_the_directory_needs_no_login_and_may_be_cached(directory: Directory) -> None:
    response = await directory.client.get("/calls", allow_redirects=False)
    assert response.status == 200
    assert response.headers["Cache-Control"] == "public, max-age=60"
