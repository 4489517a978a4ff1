"""Calls, reports, the audit trail and recordings over the API, and the report page: each
only for moderators of the call's room, who see caller IDs in full; nobody else sees a
caller ID at all (403), and lists leave other rooms out."""

from __future__ import annotations

import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bridge.store.models import Call, Leg
from tests.adapters.conftest import Web
from tests.adapters.test_api_errors import bearer, error_of

CALLER = "+15550001234"


async def a_finished_call(web_app: Web, room: str) -> int:
    started = datetime.now(UTC) - timedelta(hours=1)
    async with web_app.service.db.sessions.begin() as session:
        call = Call(room_name=room, started_at=started, ended_at=started + timedelta(minutes=5))
        session.add(call)
        await session.flush()
        session.add(
            Leg(
                call_id=call.id, channel="PJSIP/anonymous-00000001", caller_id=CALLER,
                role="participant", joined_at=started, left_at=started + timedelta(minutes=4),
                talk_time=42.0, turns=1,
            )
        )  # fmt: skip
        return call.id


def a_recording(folder: Path, name: str, seconds: float = 0.5) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"\0\0" * int(8000 * seconds))
    return path


async def test_calls_and_reports_only_for_moderators_of_the_room(web_app: Web) -> None:
    open_call = await a_finished_call(web_app, "e2e-open")
    panel_call = await a_finished_call(web_app, "e2e-panel")
    client, carol = web_app.client, bearer(await web_app.token("carol"))

    listed = await (await client.get("/api/v1/calls", headers=carol)).json()
    assert [call["id"] for call in listed["calls"]] == [open_call]
    response = await client.get("/api/v1/calls?room=e2e-panel", headers=carol)
    assert response.status == 403

    report = await (await client.get(f"/api/v1/calls/{open_call}/report", headers=carol)).json()
    assert report["caller_ids"] == "full"
    assert [p["who"] for p in report["presence"]] == [CALLER]
    response = await client.get(f"/api/v1/calls/{open_call}/report?format=csv", headers=carol)
    assert response.content_type == "text/csv" and CALLER in await response.text()
    response = await client.get(f"/api/v1/calls/{open_call}/report?format=svg", headers=carol)
    assert response.content_type == "image/svg+xml"

    for path in ("report", "report?format=csv", "audit"):
        response = await client.get(f"/api/v1/calls/{panel_call}/{path}", headers=carol)
        assert response.status == 403, path
        assert CALLER not in await response.text()
    response = await client.get("/api/v1/calls/987654/report", headers=carol)
    assert response.status == 404 and (await error_of(response))["code"] == "no_such_call"


async def test_recordings_are_listed_and_served_only_for_rooms_the_token_moderates(
    web_app: Web,
) -> None:
    folder = web_app.settings.recordings_dir
    mine = a_recording(folder, "e2e-open-20261126-080000.wav")
    a_recording(folder, "e2e-panel-20261126-090000.wav")
    (folder / "notes.txt").write_text("not a recording")
    client, carol = web_app.client, bearer(await web_app.token("carol"))

    listed = (await (await client.get("/api/v1/recordings", headers=carol)).json())["recordings"]
    assert [(r["file"], r["room"]) for r in listed] == [(mine.name, "e2e-open")]
    assert listed[0]["duration"] == 0.5 and listed[0]["size"] == mine.stat().st_size
    assert listed[0]["started_by"] is None  # made outside the service's history
    response = await client.get("/api/v1/recordings?room=e2e-panel", headers=carol)
    assert response.status == 403

    response = await client.get(f"/api/v1/recordings/{mine.name}", headers=carol)
    assert response.status == 200 and response.content_type == "audio/wav"
    assert await response.read() == mine.read_bytes()
    response = await client.get("/api/v1/recordings/e2e-panel-20261126-090000.wav", headers=carol)
    assert response.status == 403
    response = await client.get("/api/v1/recordings/e2e-open-20261126-100000.wav", headers=carol)
    assert response.status == 404 and (await error_of(response))["code"] == "no_such_recording"
    for name in ("notes.txt", "..%2Fiobridge.sqlite3", "e2e-open-20261126-080000.wav.bak"):
        response = await client.get(f"/api/v1/recordings/{name}", headers=carol)
        assert response.status in (400, 404), name
        assert response.content_type == "application/json"


async def test_the_report_page_is_for_the_rooms_moderators_after_login(web_app: Web) -> None:
    call = await a_finished_call(web_app, "e2e-panel")
    client = web_app.client
    response = await client.get(f"/calls/{call}", allow_redirects=False)
    assert response.status == 302
    assert response.headers["Location"] == f"/login?next=/calls/{call}"

    accounts = web_app.service.accounts
    carol = await accounts.log_in("carol", "carol-panel-pw", "127.0.0.1")
    response = await client.get(
        f"/calls/{call}", cookies={"iobridge_session": carol.token}, headers={"Accept": "text/html"}
    )
    assert response.status == 403 and response.content_type == "text/html"
    assert CALLER not in await response.text()
    response = await client.get(
        f"/calls/{call}/report.csv", cookies={"iobridge_session": carol.token}
    )
    assert response.status == 403

    alice = await accounts.log_in("alice", "alice-panel-pw", "127.0.0.1")
    response = await client.get(f"/calls/{call}", cookies={"iobridge_session": alice.token})
    assert response.status == 200
    page = await response.text()
    assert CALLER in page and "<svg" in page


async def test_a_host_purges_a_call_of_their_room_and_no_other(web_app: Web) -> None:
    mine = await a_finished_call(web_app, "e2e-open")
    theirs = await a_finished_call(web_app, "e2e-panel")
    client, carol = web_app.client, bearer(await web_app.token("carol"))

    response = await client.post(f"/api/v1/calls/{theirs}/purge", headers=carol)
    assert response.status == 403
    response = await client.post(f"/api/v1/calls/{mine}/purge", headers=carol)
    assert response.status == 200
    purged = await response.json()
    assert (purged["call_id"], purged["room"], purged["stays"]) == (mine, "e2e-open", 1)
    report = await (await client.get(f"/api/v1/calls/{mine}/report", headers=carol)).json()
    assert report["call"]["purged_at"] == purged["purged_at"] and report["presence"] == []
    [trail] = (await (await client.get(f"/api/v1/calls/{mine}/audit", headers=carol)).json())[
        "actions"
    ]
    assert (trail["actor"], trail["action"]) == ("carol", "purge call")
    again = await client.post(f"/api/v1/calls/{mine}/purge", headers=carol)
    assert again.status == 409 and (await error_of(again))["code"] == "action_refused"
    still = await (
        await client.get(
            f"/api/v1/calls/{theirs}/report", headers=bearer(await web_app.token("tester"))
        )
    ).json()
    assert len(still["presence"]) == 1
