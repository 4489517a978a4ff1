"""One live room, one view: the API's room and list, the panel's feed and overview all show
what ``room_view`` built, with the fields scripts and pages read (unchanged by the move)."""

from __future__ import annotations

from bridge.domain.events import LockChanged, MuteChanged, ParticipantJoined, Role, RoomStarted
from bridge.service.room_view import room_view
from bridge.web.panel.state import overview_row, room_snapshot
from tests.adapters.conftest import Web

ROOM = "e2e-open"
PARTICIPANT_FIELDS = {
    "channel", "caller_id", "name", "caller_name", "role", "muted", "talking", "joined_at",
    "talk_time", "turns", "keys_paused", "dialed_out", "group", "name_recorded",
}  # fmt: skip


def a_live_room(web_app: Web) -> None:
    board = web_app.service.switchboard
    board.apply(RoomStarted(ROOM, 100.0))
    board.apply(ParticipantJoined(ROOM, "PJSIP/b-2", "5552", Role.PARTICIPANT, False, 102.0))
    board.apply(ParticipantJoined(ROOM, "PJSIP/a-1", "5551", Role.MODERATOR, False, 101.0))
    board.apply(MuteChanged(ROOM, "PJSIP/b-2", True, 103.0))
    board.apply(LockChanged(ROOM, True, 104.0))


async def test_the_api_shows_the_room_as_the_view_has_it_with_every_field(web_app: Web) -> None:
    a_live_room(web_app)
    admin = {"Authorization": f"Bearer {web_app.admin_token}"}
    shown = await (await web_app.client.get(f"/api/v1/rooms/{ROOM}", headers=admin)).json()
    assert set(shown) == {
        "room", "title", "live", "pbx", "locked", "recording", "started_at", "participants",
        "stack", "poll", "practice_room", "practice", "calls_out", "breakout", "nodes",
        "first_time_share", "links",
    }  # fmt: skip
    assert shown["calls_out"] == []  # nobody called out
    assert shown["nodes"] == []  # one Asterisk
    assert shown["poll"] is None  # no poll in this call yet
    assert (shown["practice_room"], shown["practice"]) == (False, None)
    assert shown["breakout"] is None  # no breakout running
    assert shown["first_time_share"] is None  # no turn yet
    assert (shown["room"], shown["live"], shown["locked"], shown["recording"]) == (
        ROOM, True, True, False,
    )  # fmt: skip
    assert shown["started_at"] == 100.0 and shown["pbx"] == "disconnected"
    assert [p["channel"] for p in shown["participants"]] == ["PJSIP/a-1", "PJSIP/b-2"]
    assert all(set(p) == PARTICIPANT_FIELDS for p in shown["participants"])
    assert shown["participants"][1]["muted"] and shown["participants"][0]["role"] == "moderator"
    assert shown["stack"] == {
        "room": ROOM, "policy": "fifo", "speaking_time_limit": 0, "auto_advance": False,
        "speaker": None, "queue": [],
    }  # fmt: skip

    listed = await (await web_app.client.get("/api/v1/rooms", headers=admin)).json()
    (summary,) = [room for room in listed["rooms"] if room["name"] == ROOM]
    assert summary == {
        "name": ROOM, "title": shown["title"], "live": True, "participants": 2,
        "hands_raised": 0, "speaker": None, "locked": True, "recording": False,
        "queue": "fifo", "max_participants": summary["max_participants"], "on_demand": False,
        "practice": False,
    }  # fmt: skip


async def test_the_panel_shows_the_same_view_with_its_own_clock_fields(web_app: Web) -> None:
    a_live_room(web_app)
    service = web_app.service
    view = room_view(service, await service.find_room(ROOM), now=200.0)
    snapshot = room_snapshot(view, [])
    assert snapshot["room"] == {
        "name": ROOM, "title": view.spec.title, "live": True, "locked": True,
        "recording": False, "pbx": "disconnected", "nodes_down": [],
        "speaking_time_limit": view.spec.speaking_time_limit, "count": 2,
        "practice_room": False, "practice": None,
        "first_time_share": None, "links": [],
    }  # fmt: skip
    rows = snapshot["participants"]
    assert [row["channel"] for row in rows] == ["PJSIP/a-1", "PJSIP/b-2"]
    assert all(set(row) == PARTICIPANT_FIELDS | {"talking_since"} for row in rows)
    assert snapshot["stack"] == view.stack and snapshot["now"] == 200.0
    assert overview_row(view) == {
        "name": ROOM, "title": view.spec.title, "live": True, "count": 2, "speaker": None,
        "hands": 0, "locked": True, "recording": False, "schedule": "Any time",
        "practice": False,
    }  # fmt: skip


async def test_a_room_nobody_is_in_is_not_live_and_has_its_policys_empty_stack(
    web_app: Web,
) -> None:
    view = room_view(web_app.service, await web_app.service.find_room(ROOM))
    assert (view.live, view.locked, view.started_at, view.participants) == (False, False, None, ())
    assert view.stack["queue"] == [] and view.speaker is None
