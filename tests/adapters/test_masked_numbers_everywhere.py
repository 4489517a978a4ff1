"""Masked numbers through every other door live data and history leave by: the push feed's
stream (``GET /api/v1/events``), a call's report (JSON, CSV, chart, the page and its CSV),
the audit trail over the API, and the calls out and breakout groups on the panel, the API
and in an action's answer. A room's assistant (dana) reads "+1 555 *** **23" in each; its
host (alice) reads the whole number. One rule decides: ``numbers_for``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bridge.domain.privacy import mask_number
from bridge.service.room_view import shown_breakout, shown_calls_out, whole_numbers
from bridge.store.audit import ActionRecord, add_action
from bridge.web.door import _as_shown
from bridge.web.panel.live import RoomFeed
from tests.adapters.conftest import Web
from tests.adapters.test_api_errors import bearer
from tests.adapters.test_api_history import CALLER, a_finished_call
from tests.adapters.test_push_feed import join, next_event

ROOM = "e2e-panel"  # alice hosts it, dana assists
MASKED_CALLER = "+1 555 *** **34"  # CALLER, +15550001234, as an assistant reads it


async def stream_of(web_app: Web, username: str) -> Any:
    headers = bearer(await web_app.token(username))
    response = await web_app.client.get(f"/api/v1/events?room={ROOM}", headers=headers)
    assert response.status == 200
    await response.content.readline()  # the opening comment: subscribed
    return response


async def test_an_assistant_s_push_feed_carries_masked_numbers_and_a_host_s_whole(
    web_app: Web,
) -> None:
    dana, alice = await stream_of(web_app, "dana"), await stream_of(web_app, "alice")
    web_app.service.roster.apply(join(ROOM, 7))  # +15550000007
    for response, expected in ((dana, "+1 555 *** **07"), (alice, "+15550000007")):
        assert (await next_event(response.content))["kind"] == "call.started"
        joined = await next_event(response.content)
        assert joined["kind"] == "participant.joined"
        assert joined["data"]["caller_id"] == expected
        response.close()


async def test_an_assistant_reads_a_call_s_report_with_masked_numbers(web_app: Web) -> None:
    call = await a_finished_call(web_app, ROOM)
    client = web_app.client
    dana, alice = bearer(await web_app.token("dana")), bearer(await web_app.token("alice"))

    report = await (await client.get(f"/api/v1/calls/{call}/report", headers=dana)).json()
    assert report["caller_ids"] == "masked"
    assert [p["who"] for p in report["presence"]] == [MASKED_CALLER]
    for fmt in ("csv", "svg"):
        response = await client.get(f"/api/v1/calls/{call}/report?format={fmt}", headers=dana)
        assert response.status == 200
        text = await response.text()
        assert CALLER not in text and (fmt == "svg" or MASKED_CALLER in text), fmt

    report = await (await client.get(f"/api/v1/calls/{call}/report", headers=alice)).json()
    assert report["caller_ids"] == "full"
    assert [p["who"] for p in report["presence"]] == [CALLER]


async def test_the_report_page_and_its_csv_are_masked_for_an_assistant(web_app: Web) -> None:
    call = await a_finished_call(web_app, ROOM)
    accounts = web_app.service.accounts
    dana = await accounts.log_in("dana", "dana-panel-pw", "127.0.0.1")
    alice = await accounts.log_in("alice", "alice-panel-pw", "127.0.0.1")
    for path in (f"/calls/{call}", f"/calls/{call}/report.csv"):
        seen = await web_app.client.get(path, cookies={"iobridge_session": dana.token})
        assert seen.status == 200
        text = await seen.text()
        assert CALLER not in text and MASKED_CALLER in text, path
        seen = await web_app.client.get(path, cookies={"iobridge_session": alice.token})
        assert CALLER in await seen.text(), path


async def test_the_audit_trail_names_an_assistant_masked_numbers(web_app: Web) -> None:
    call = await a_finished_call(web_app, ROOM)
    record = ActionRecord(
        room=ROOM,
        at=datetime.now(UTC) - timedelta(minutes=50),
        actor="alice",
        action="mute",
        target_channel="PJSIP/anonymous-00000001",
        target_caller_id=CALLER,
        call_id=call,
    )
    async with web_app.service.db.sessions.begin() as session:
        await add_action(session, record)
    client = web_app.client
    dana, alice = bearer(await web_app.token("dana")), bearer(await web_app.token("alice"))
    for path in (f"/api/v1/calls/{call}/audit", f"/api/v1/rooms/{ROOM}/audit"):
        seen = await (await client.get(path, headers=dana)).json()
        assert [a["target_caller_id"] for a in seen["actions"]] == [MASKED_CALLER], path
        seen = await (await client.get(path, headers=alice)).json()
        assert [a["target_caller_id"] for a in seen["actions"]] == [CALLER], path


BREAKOUT = {
    "room": ROOM,
    "started_at": 0.0,
    "ends_at": 600.0,
    "broadcast": False,
    "groups": [
        {
            "name": "group-1",
            "members": [
                {"channel": "PJSIP/a-1", "caller_id": CALLER, "name": ""},
                {"channel": "PJSIP/a-2", "caller_id": "+15550004321", "name": "+15550004321"},
                {"channel": "PJSIP/a-3", "caller_id": "anonymous", "name": "Alex, Oakland"},
            ],
            "wants_moderator": False,
        }
    ],
}
CALLS_OUT = [{"number": CALLER, "name": "", "state": "ringing", "attempts": 1, "updated_at": 0.0}]


def test_breakout_groups_and_calls_out_are_masked_for_an_assistant() -> None:
    members = shown_breakout(BREAKOUT, mask_number)["groups"][0]["members"]  # type: ignore[index]
    assert [(m["caller_id"], m["name"]) for m in members] == [
        (MASKED_CALLER, ""),
        ("+1 555 *** **21", "+1 555 *** **21"),
        ("anonymous", "Alex, Oakland"),
    ]
    assert shown_calls_out(CALLS_OUT, mask_number)[0]["number"] == MASKED_CALLER
    assert shown_breakout(BREAKOUT, whole_numbers) is BREAKOUT
    assert shown_calls_out(CALLS_OUT, whole_numbers) is CALLS_OUT


async def test_an_assistant_s_panel_and_api_show_calls_out_and_groups_masked(
    web_app: Web,
) -> None:
    service = web_app.service
    service.roster.apply(join(ROOM, 7))
    service.breakouts.show = lambda room: BREAKOUT  # type: ignore[method-assign]
    # A breakout needs Asterisk to move people; the view's own reading of it is replaced.
    seen = await web_app.client.get(
        f"/api/v1/rooms/{ROOM}", headers=bearer(await web_app.token("dana"))
    )
    body = await seen.text()
    assert CALLER not in body and MASKED_CALLER in body

    spec = await service.find_room(ROOM)
    panel = RoomFeed(service, spec, mask_number)  # the assistants' feed of the room
    await panel._next_version()
    assert panel.state is not None and CALLER not in str(panel.state["breakout"])

    principal = await service.tokens.principal(await web_app.token("dana"))
    assert principal is not None
    answer = _as_shown({"breakout": BREAKOUT, "calls": CALLS_OUT}, spec, principal)
    assert CALLER not in str(answer)
    host = await service.tokens.principal(await web_app.token("alice"))
    assert host is not None
    assert CALLER in str(_as_shown({"breakout": BREAKOUT}, spec, host))
