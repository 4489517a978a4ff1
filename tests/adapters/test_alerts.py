"""Alerts at their doors, with no Asterisk: the message's format and the rights are checked
before anything is queued or kept (an assistant, a host without a room: 403; a stereo
WAV: one line), and the command names a bad file's line before it asks the service."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from bridge.cli import main
from bridge.domain.alerts import Alert
from bridge.domain.dialout import CallOut, CallState
from bridge.store.alerts import add_alert
from bridge.store.dialouts import keep_calls
from tests.adapters.conftest import Web
from tests.adapters.test_api_errors import bearer, error_of
from tests.adapters.test_panel_front_door import log_in
from tests.unit.test_alerts import wav

T = 1_796_000_000.0


def alert(message: bytes, room: str | None = None) -> dict[str, Any]:
    return {
        "numbers": ["+15557770001"],
        "message": base64.b64encode(message).decode(),
        "room": room,
    }


def nothing_queued_or_kept(web: Web) -> bool:
    messages = web.settings.recordings_dir / "alerts"
    return not web.service.dialout.book.calls and not any(messages.glob("*"))


async def test_only_the_admin_or_a_host_of_the_room_may_send_an_alert(web_app: Web) -> None:
    cases = [
        ("dana", "e2e-panel", "dana may not send an alert: only a host of room 'e2e-panel'"),
        ("alice", None, "alice may not send an alert: only the admin (an alert with no room)"),
        ("alice", "e2e-open", "alice may not send an alert: only a host of room 'e2e-open'"),
    ]
    for user, room, message in cases:
        headers = bearer(await web_app.token(user))
        response = await web_app.client.post(
            "/api/v1/alerts", json=alert(wav(), room), headers=headers
        )
        assert response.status == 403, (user, room)
        assert (await error_of(response))["message"] == message
    assert nothing_queued_or_kept(web_app)


async def test_a_message_of_the_wrong_format_is_refused_in_one_line(web_app: Web) -> None:
    headers = bearer(web_app.admin_token)
    response = await web_app.client.post(
        "/api/v1/alerts", json=alert(wav(rate=44100, channels=2)), headers=headers
    )
    assert response.status == 400
    error = await error_of(response)
    assert error["code"] == "alert_refused"
    assert error["message"] == (
        "the message is 44100 Hz, stereo: expected a WAV file, 8000 Hz, mono, 16-bit "
        "(sox IN -r 8000 -c 1 -b 16 OUT.wav)"
    )
    assert nothing_queued_or_kept(web_app)


async def test_a_host_s_alert_refused_by_the_limits_leaves_no_message_behind(
    web_app: Web,
) -> None:
    headers = bearer(await web_app.token("alice"))
    response = await web_app.client.post(
        "/api/v1/alerts", json=alert(wav(), "e2e-panel"), headers=headers
    )
    assert response.status == 400  # no trunk in this rooms file
    assert "no trunk to dial out through" in (await error_of(response))["message"]
    assert nothing_queued_or_kept(web_app)
    await web_app.service.audit.flushed()
    [entry] = await web_app.service.audit.of_room("e2e-panel", 10)
    assert (entry.actor, entry.action, entry.result) == ("alice", "alert", "alert_refused")


async def test_another_s_alert_is_not_found_and_the_list_is_empty(web_app: Web) -> None:
    headers = bearer(await web_app.token("alice"))
    response = await web_app.client.get("/api/v1/alerts/alert-0123456789ab", headers=headers)
    assert response.status == 404
    response = await web_app.client.get("/api/v1/alerts", headers=headers)
    assert (await response.json()) == {"alerts": []}


def test_the_command_names_a_bad_file_and_its_line_before_it_asks_the_service(
    tmp_path: Path,
) -> None:
    env = {"IOBRIDGE_STATE_DIR": str(tmp_path / "state")}
    good, stereo = tmp_path / "message.wav", tmp_path / "stereo.wav"
    good.write_bytes(wav())
    stereo.write_bytes(wav(channels=2))
    numbers = tmp_path / "numbers.csv"
    numbers.write_text("+15557770001, Ana\n# the list\n5557770002, Bo\n")
    cases = {
        ("--file", str(numbers), "--message", str(good)): f"{numbers}:3: '5557770002': a "
        "number needs its country code, like +15557770000",
        ("+15557770001", "--message", str(stereo)): f"--message {stereo}: the message is "
        "stereo: expected a WAV file, 8000 Hz, mono, 16-bit (sox IN -r 8000 -c 1 -b 16 OUT.wav)",
        ("+15557770001",): "alert needs its message: --message FILE.wav",
    }
    for arguments, message in cases.items():
        result = CliRunner().invoke(main, ["alert", *arguments], env=env)
        assert result.exit_code == 1, result.output
        assert result.output.strip().splitlines() == [f"iobridge: {message}"]


async def keep_an_alert(web: Web, room: str | None) -> str:
    """An alert as the database keeps it once its calls are over (no Asterisk here)."""
    alert = Alert("alert-00000000000a", "admin", T, room, None, 1.0)
    calls = [
        CallOut("dial-x-1", room or "", "+15557770001", "Ana", "carrier", "admin", False, 0,
                state=CallState.JOINED, attempts=1, updated_at=T + 9, channel="PJSIP/c-1",
                alert=alert.id, heard=True),
        CallOut("dial-x-2", room or "", "+15557770002", "", "carrier", "admin", False, 0,
                state=CallState.BUSY, attempts=1, updated_at=T + 3, alert=alert.id),
    ]  # fmt: skip
    async with web.service.db.sessions.begin() as session:
        await keep_calls(session, calls, T)
        await add_alert(session, alert)
    return alert.id


async def test_a_kept_alert_is_shown_to_the_admin_and_its_room_s_hosts_only(web_app: Web) -> None:
    alert_id = await keep_an_alert(web_app, "e2e-panel")
    response = await web_app.client.get(
        f"/api/v1/alerts/{alert_id}", headers=bearer(web_app.admin_token)
    )
    shown = await response.json()
    assert [(n["number"], n["name"], n["result"]) for n in shown["numbers"]] == [
        ("+15557770001", "Ana", "joined"),
        ("+15557770002", "", "busy"),
    ]
    assert (shown["asked_by"], shown["room"], shown["seconds"]) == ("admin", "e2e-panel", 1.0)
    assert (await log_in(web_app, "alice")).status == 303
    page = await (await web_app.client.get(f"/alerts/{alert_id}")).text()
    assert "+15557770001" in page and "joined" in page and "Ana" in page
    assert alert_id in await (await web_app.client.get("/alerts")).text()
    assert (await log_in(web_app, "dana")).status == 303  # e2e-panel's assistant
    assert (await web_app.client.get(f"/alerts/{alert_id}")).status == 404
    assert alert_id not in await (await web_app.client.get("/alerts")).text()
