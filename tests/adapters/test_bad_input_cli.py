"""Issue 20's bad input through the commands people type, against the real web application
and service (no Asterisk): a breakout on an empty room or with more groups than callers, a
poll with no option or nine, a cue that does not exist. Each is one line on stderr
(`iobridge: ...`), exit status 1, and nothing changed."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from click.testing import CliRunner

from bridge.cli import main
from bridge.domain.events import ParticipantJoined, Role, RoomStarted
from tests.adapters.conftest import Web

ROOM = "e2e-open"


async def iobridge(web_app: Web, *arguments: str) -> tuple[int, list[str]]:
    """The command, run as a person would against this service (its address and token in
    the state folder, as `iobridge up` leaves them)."""
    settings = web_app.settings
    settings.ensure_admin_token()
    address = str(web_app.client.make_url("")).rstrip("/")
    settings.runtime_file.write_text(json.dumps({"pid": 1, "http": address}) + "\n")
    env = {"IOBRIDGE_STATE_DIR": str(settings.state_dir)}
    result = await asyncio.to_thread(CliRunner().invoke, main, list(arguments), env=env)
    return result.exit_code, result.output.strip().splitlines()


async def room_state(web_app: Web) -> Any:
    admin = {"Authorization": f"Bearer {web_app.admin_token}"}
    return await (await web_app.client.get(f"/api/v1/rooms/{ROOM}", headers=admin)).json()


async def test_each_bad_breakout_poll_and_cue_is_one_line_and_changes_nothing(
    web_app: Web,
) -> None:
    code, said = await iobridge(web_app, "breakout", ROOM, "start", "--groups", "2")
    assert code == 1 and len(said) == 1 and said[0].startswith("iobridge: "), said
    assert "nobody is in the room" in said[0]

    board = web_app.service.switchboard
    board.apply(RoomStarted(ROOM, 100.0))
    for n in range(2):
        channel = f"PJSIP/anonymous-0000000{n + 1}"
        board.apply(ParticipantJoined(ROOM, channel, f"555{n}", Role.PARTICIPANT, True, 101.0))
    cases = {
        ("breakout", ROOM, "start", "--groups", "3"): "3 groups for 2 callers: at most 2 groups",
        ("poll", ROOM, "open", "--options", ""): "at least 1 option",
        ("poll", ROOM, "open", "--options", "a,b,c,d,e,f,g,h,i"): "at most 8 options",
        ("room", ROOM, "play", "chimes"): "no cue named 'chimes'",
    }
    for arguments, message in cases.items():
        code, said = await iobridge(web_app, *arguments)
        assert code == 1 and len(said) == 1, (arguments, said)
        assert said[0].startswith("iobridge: ") and message in said[0], (arguments, said)
    state = await room_state(web_app)
    assert state["breakout"] is None and state["poll"] is None
