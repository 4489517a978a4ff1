"""Masked numbers: a room's assistants see "+1 555 *** **23" in the roster and the stack
over the API (so ``stack show --json``) and on the panel's overview, unless
the room says ``show_numbers_to_assistants``; its hosts see the whole number. Decided by
the service for each reader, never left to the browser."""

from __future__ import annotations

import dataclasses
import time

from bridge.domain.events import ParticipantJoined, Role, RoomStarted
from bridge.domain.privacy import mask_number
from bridge.service.room_view import numbers_for, room_view, shown_stack, whole_numbers
from bridge.web.panel.live import RoomFeed
from tests.adapters.conftest import Web
from tests.adapters.test_api_errors import bearer

ROOM, CHANNEL, NUMBER = "e2e-panel", "PJSIP/anonymous-7", "+15550123423"


async def in_room(web_app: Web) -> None:
    service = web_app.service
    now = time.time()
    service.roster.receive(RoomStarted(ROOM, now))
    service.roster.receive(ParticipantJoined(ROOM, CHANNEL, NUMBER, Role.PARTICIPANT, True, now))


async def room_as(web_app: Web, username: str) -> dict:  # type: ignore[type-arg]
    headers = bearer(await web_app.token(username))
    response = await web_app.client.get(f"/api/v1/rooms/{ROOM}", headers=headers)
    assert response.status == 200, await response.text()
    return await response.json()  # type: ignore[no-any-return]


async def test_an_assistant_s_token_sees_masked_numbers_and_a_host_s_the_whole(
    web_app: Web,
) -> None:
    await in_room(web_app)
    seen = await room_as(web_app, "dana")  # an assistant of e2e-panel
    (person,) = seen["participants"]
    assert person["caller_id"] == "+1 555 *** **23"
    assert NUMBER not in str(seen)
    listed = await web_app.client.get("/api/v1/rooms", headers=bearer(await web_app.token("dana")))
    assert NUMBER not in await listed.text()

    seen = await room_as(web_app, "alice")  # a host
    assert seen["participants"][0]["caller_id"] == NUMBER


async def test_the_panel_feed_of_assistants_is_built_masked(web_app: Web) -> None:
    await in_room(web_app)
    service = web_app.service
    spec = await service.find_room(ROOM)
    masked = RoomFeed(service, spec, mask_number)
    await masked._next_version()
    assert masked.state is not None and NUMBER not in str(masked.state)
    assert masked.state["participants"][0]["caller_id"] == "+1 555 *** **23"


async def test_a_room_may_show_numbers_to_its_assistants(web_app: Web) -> None:
    await in_room(web_app)
    service = web_app.service
    spec = dataclasses.replace(await service.find_room(ROOM), show_numbers_to_assistants=True)
    principal = await service.tokens.principal(await web_app.token("dana"))
    assert principal is not None
    assert numbers_for(principal, spec)(NUMBER) == NUMBER
    assert room_view(service, spec).participants[0].caller_id == NUMBER


def test_the_stack_s_numbers_are_masked_for_an_assistant() -> None:
    stack = {
        "room": ROOM,
        "policy": "fifo",
        "speaker": {"channel": "PJSIP/a-1", "caller_id": "5550177", "name": ""},
        "queue": [{"place": 1, "channel": CHANNEL, "caller_id": NUMBER, "name": "Alex"}],
    }
    shown = shown_stack(stack, mask_number)
    assert shown["speaker"]["caller_id"] == "555 *** **77"
    assert shown["queue"][0] == {**stack["queue"][0], "caller_id": "+1 555 *** **23"}
    assert shown_stack(stack, whole_numbers) is stack
