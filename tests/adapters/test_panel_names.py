"""A caller's recorded name (``ask_name``) on the panel: played to a logged-in moderator
of the caller's room, host or assistant alike, and to nobody else."""

from __future__ import annotations

from pathlib import Path

from tests.adapters.conftest import Web
from tests.adapters.test_panel_front_door import log_in

ROOM, CHANNEL = "e2e-panel", "PJSIP/anonymous-0000002a"
WAV = b"RIFF....WAVEfmt a name said at entry"


def recorded(web_app: Web, tmp_path: Path) -> None:
    file = tmp_path / f"{ROOM}-1765000000.42.wav"
    file.write_bytes(WAV)
    web_app.service.names.name_recorded(ROOM, CHANNEL, file)


async def test_an_assistant_of_the_room_hears_a_caller_s_name(web_app: Web, tmp_path: Path) -> None:
    recorded(web_app, tmp_path)
    await log_in(web_app, "dana")  # an assistant of e2e-panel
    response = await web_app.client.get(f"/rooms/{ROOM}/name", params={"channel": CHANNEL})
    assert response.status == 200
    assert response.headers["Content-Type"] == "audio/wav"
    assert response.headers["Cache-Control"] == "no-store"
    assert await response.read() == WAV


async def test_a_moderator_of_another_room_does_not(web_app: Web, tmp_path: Path) -> None:
    recorded(web_app, tmp_path)
    await log_in(web_app, "carol")  # e2e-open only
    response = await web_app.client.get(f"/rooms/{ROOM}/name", params={"channel": CHANNEL})
    assert response.status == 403


async def test_nobody_logged_in_hears_a_name(web_app: Web, tmp_path: Path) -> None:
    recorded(web_app, tmp_path)
    response = await web_app.client.get(
        f"/rooms/{ROOM}/name", params={"channel": CHANNEL}, allow_redirects=False
    )
    assert response.status in (302, 303, 401)
    assert await response.read() != WAV


async def test_a_caller_without_a_name_is_a_clear_404(web_app: Web, tmp_path: Path) -> None:
    recorded(web_app, tmp_path)
    await log_in(web_app, "alice")
    response = await web_app.client.get(
        f"/rooms/{ROOM}/name", params={"channel": "PJSIP/anonymous-00000099"}
    )
    assert response.status == 404
    assert "said no name" in await response.text()
