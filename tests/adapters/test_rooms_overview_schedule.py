"""The panel's rooms page says, for each room, the scheduled call on now or the next one,
in the room's own zone (tests/data/rooms-e2e.yaml: e2e-scheduled meets on leap days)."""

from __future__ import annotations

from tests.adapters.conftest import Web
from tests.adapters.test_panel_front_door import log_in


async def test_the_rooms_overview_shows_each_rooms_next_call(web_app: Web) -> None:
    assert (await log_in(web_app, "tester", password="test-moderator")).status == 303
    rooms = {
        room["name"]: room
        for room in (await (await web_app.client.get("/rooms.json")).json())["rooms"]
    }
    assert rooms["e2e-scheduled"]["schedule"] == "Next call Tue 29 Feb, 03:00 (UTC)"
    assert rooms["e2e-directory"]["schedule"].endswith(", 20:00 (America/New_York)")
    assert rooms["e2e-open"]["schedule"] == "Any time"
    page = await (await web_app.client.get("/rooms")).text()
    assert '<th scope="col">Schedule</th>' in page
    assert "Next call Tue 29 Feb, 03:00 (UTC)" in page
