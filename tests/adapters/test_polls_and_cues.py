"""Temperature checks and cues through the API's doors: bad input is a 4xx JSON error that
changes nothing; keys reach the poll; the room's state and the actions' answers carry the
tally as ``iobridge poll ROOM show --json`` prints it."""

from __future__ import annotations

from typing import Any

from bridge.asterisk.keypad import SILENCE, Answer
from bridge.domain.events import ParticipantJoined, Role, RoomStarted
from tests.adapters.conftest import Web

ROOM = "e2e-open"
ANA, BEN = "PJSIP/anonymous-00000001", "PJSIP/anonymous-00000002"


def a_live_room(web_app: Web) -> None:
    board = web_app.service.switchboard
    board.apply(RoomStarted(ROOM, 100.0))
    board.apply(ParticipantJoined(ROOM, ANA, "5551", Role.PARTICIPANT, False, 101.0, "Ana"))
    board.apply(ParticipantJoined(ROOM, BEN, "5552", Role.PARTICIPANT, False, 102.0))


async def post(web_app: Web, action: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    admin = {"Authorization": f"Bearer {web_app.admin_token}"}
    url = f"/api/v1/rooms/{ROOM}/actions/{action}"
    response = await web_app.client.post(url, json=body, headers=admin)
    return response.status, await response.json()


async def shown_poll(web_app: Web) -> Any:
    admin = {"Authorization": f"Bearer {web_app.admin_token}"}
    return (await (await web_app.client.get(f"/api/v1/rooms/{ROOM}", headers=admin)).json())["poll"]


async def test_a_poll_with_no_options_or_nine_is_refused_and_changes_nothing(web_app: Web) -> None:
    a_live_room(web_app)
    for options, said in (([], "at least 1 option"), (list("abcdefghi"), "at most 8 options")):
        status, answer = await post(web_app, "poll-open", {"options": options})
        assert status == 400 and said in answer["error"]["message"], answer
    assert await shown_poll(web_app) is None
    keys = web_app.service.keys
    assert await keys.key_pressed(ROOM, ANA, "5551", "poll1") == Answer(SILENCE)


async def test_keys_count_once_each_latest_and_the_block_is_named(web_app: Web) -> None:
    a_live_room(web_app)
    status, answer = await post(
        web_app, "poll-open", {"question": "Lunch?", "options": ["yes", "no"], "block": True}
    )
    assert status == 200 and answer["poll"]["open"], answer
    keys = web_app.service.keys
    assert await keys.key_pressed(ROOM, ANA, "5551", "poll1") == Answer("poll_answer", 1)
    assert await keys.key_pressed(ROOM, ANA, "5551", "poll9") == Answer("poll_block")
    assert await keys.key_pressed(ROOM, BEN, "5552", "poll2") == Answer("poll_answer", 2)
    assert await keys.key_pressed(ROOM, BEN, "5552", "poll5") == Answer(SILENCE)  # no option 5
    assert await shown_poll(web_app) == {
        "room": ROOM,
        "question": "Lunch?",
        "open": True,
        "options": [
            {"key": "1", "label": "yes", "count": 0},
            {"key": "2", "label": "no", "count": 1},
            {"key": "9", "label": "block", "count": 1},
        ],
        "voters": 2,
        "present": 2,
        "blocks": [{"channel": ANA, "caller_id": "5551", "name": "Ana"}],
    }
    status, closed = await post(web_app, "poll-close", {})
    assert status == 200 and not closed["poll"]["open"] and closed["poll"]["voters"] == 2
    assert await keys.key_pressed(ROOM, BEN, "5552", "poll1") == Answer(SILENCE)
    status, again = await post(web_app, "poll-close", {})
    assert status == 409 and "no open poll" in again["error"]["message"]


async def test_the_room_cli_form_takes_the_options_as_one_argument(web_app: Web) -> None:
    a_live_room(web_app)
    status, answer = await post(web_app, "poll-open", {"options": "for, against"})
    assert status == 200, answer
    assert [o["label"] for o in answer["poll"]["options"]] == ["for", "against"]


async def test_a_cue_that_does_not_exist_is_a_404_naming_the_cues(web_app: Web) -> None:
    a_live_room(web_app)
    status, answer = await post(web_app, "play", {"cue": "chimes"})
    assert status == 404 and answer["error"]["code"] == "no_such_cue"
    assert answer["error"]["message"] == (
        "no cue named 'chimes' (cues: chime, hold-music, starting, two-minutes); "
        "did you mean 'chime'?"
    )
