"""The room page's past calls: links to their reports and to the room's recordings, which
download only for moderators of the room, after login; and the login page, which says
nothing about the PBX to someone not logged in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bridge.recordings import recording_name
from tests.adapters.conftest import Web
from tests.adapters.test_api_history import a_finished_call, a_recording

ROOM = "e2e-panel"  # alice moderates it; carol does not


async def test_the_room_page_links_its_past_calls_and_recordings_for_its_moderators(
    web_app: Web,
) -> None:
    call = await a_finished_call(web_app, ROOM)
    other = await a_finished_call(web_app, "e2e-open")
    name = recording_name(ROOM, datetime.now(UTC) - timedelta(minutes=58))
    a_recording(web_app.settings.recordings_dir, name, seconds=1.0)
    client, accounts = web_app.client, web_app.service.accounts
    alice = await accounts.log_in("alice", "alice-panel-pw", "127.0.0.1")
    carol = await accounts.log_in("carol", "carol-panel-pw", "127.0.0.1")

    page = await client.get(f"/rooms/{ROOM}", cookies={"iobridge_session": alice.token})
    assert page.status == 200
    html = await page.text()
    assert f'href="/calls/{call}"' in html and f'href="/calls/{other}"' not in html
    assert f'href="/recordings/{name}" download' in html

    download = await client.get(f"/recordings/{name}", cookies={"iobridge_session": alice.token})
    assert download.status == 200 and download.content_type == "audio/wav"
    assert (await download.read())[:4] == b"RIFF"
    assert name in download.headers["Content-Disposition"]

    refused = await client.get(f"/recordings/{name}", cookies={"iobridge_session": carol.token})
    assert refused.status == 403
    anonymous = await client.get(f"/recordings/{name}", allow_redirects=False)
    assert anonymous.status == 302
    assert anonymous.headers["Location"] == f"/login?next=/recordings/{name}"
    for bad in ("../../etc/passwd", "e2e-panel-nothing.wav", "%2e%2e%2fsecret.wav"):
        answer = await client.get(f"/recordings/{bad}", cookies={"iobridge_session": alice.token})
        assert answer.status in (400, 404), bad


async def test_the_login_page_says_nothing_about_the_pbx_to_someone_not_logged_in(
    web_app: Web,
) -> None:
    page = await (await web_app.client.get("/login")).text()
    assert "PBX" not in page and "pbx" not in page.lower()
    alice = await web_app.service.accounts.log_in("alice", "alice-panel-pw", "127.0.0.1")
    rooms = await web_app.client.get("/rooms", cookies={"iobridge_session": alice.token})
    assert 'id="pbx-state"' in await rooms.text()
