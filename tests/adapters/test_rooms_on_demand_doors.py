"""Opening a room on demand through its two doors: the JSON API (a host's token, 403 for a
read-only one, nothing opened) and the panel's "Open a room" (a form for hosts; the PINs
shown once; the new room the host's own and marked on demand on the overview)."""

from __future__ import annotations

from tests.adapters.conftest import Web
from tests.adapters.test_api_errors import bearer, error_of
from tests.adapters.test_api_token_scopes import listed_rooms, scoped
from tests.adapters.test_panel_front_door import csrf, log_in, origin_of


async def test_a_host_s_token_opens_a_room_that_is_then_its_own(web_app: Web) -> None:
    headers = bearer(await web_app.token("alice"))
    body = {"title": "Pop-up", "hours": 2, "copy_settings_from": "e2e-panel"}
    response = await web_app.client.post("/api/v1/rooms", json=body, headers=headers)
    assert response.status == 200, await response.text()
    opened = await response.json()
    assert opened["pin"] != opened["moderator_pin"] and len(opened["pin"]) == 8
    assert opened["name"] in await listed_rooms(web_app, headers)
    response = await web_app.client.get("/api/v1/rooms", headers=headers)
    marks = {room["name"]: room["on_demand"] for room in (await response.json())["rooms"]}
    assert marks[opened["name"]] is True and marks["e2e-panel"] is False


async def test_a_read_only_token_is_refused_a_room_and_nothing_is_opened(web_app: Web) -> None:
    reader = await scoped(web_app, "alice", read_only=True)
    before = await listed_rooms(web_app, bearer(web_app.admin_token))
    response = await web_app.client.post("/api/v1/rooms", json={"title": "Mine"}, headers=reader)
    assert response.status == 403
    assert "read-only" in (await error_of(response))["message"]
    assert await listed_rooms(web_app, bearer(web_app.admin_token)) == before


async def test_settings_are_copied_only_from_a_room_the_host_moderates(web_app: Web) -> None:
    headers = bearer(await web_app.token("carol"))  # carol: e2e-open only
    body = {"title": "Borrowed", "copy_settings_from": "e2e-panel"}
    response = await web_app.client.post("/api/v1/rooms", json=body, headers=headers)
    assert response.status == 403


async def test_the_panel_opens_a_room_and_shows_its_pins_once(web_app: Web) -> None:
    await log_in(web_app, "carol")
    page = await (await web_app.client.get("/rooms")).text()
    assert "Open a room" in page
    form = {"csrf": await csrf(web_app), "title": "Panel pop-up", "hours": "1"}
    response = await web_app.client.post(
        "/rooms/open", data=form, headers={"Origin": origin_of(web_app)}
    )
    assert response.status == 201
    shown = await response.text()
    assert "Participant PIN" in shown and "shown this once" in shown
    overview = await (await web_app.client.get("/rooms")).text()
    assert "Panel pop-up" in overview and "On demand, closes after" in overview


async def test_the_panel_refuses_a_form_without_its_csrf_token(web_app: Web) -> None:
    await log_in(web_app, "carol")
    response = await web_app.client.post(
        "/rooms/open", data={"title": "x"}, headers={"Origin": origin_of(web_app)}
    )
    assert response.status == 403
    assert "x" not in [s.title for s in await web_app.service.room_specs()]


async def test_a_room_copied_from_a_scheduled_public_one_takes_neither_schedule_nor_listing(
    web_app: Web,
) -> None:
    headers = bearer(web_app.admin_token)
    body = {"title": "Borrowed calendar", "copy_settings_from": "e2e-directory"}
    response = await web_app.client.post("/api/v1/rooms", json=body, headers=headers)
    assert response.status == 200, await response.text()
    spec = await web_app.service.find_room((await response.json())["name"])
    assert (spec.schedule, spec.public, spec.show_pin) == (None, False, False)
    assert spec.admit_outside_schedule
    assert "Borrowed calendar" not in await (await web_app.client.get("/calls")).text()
