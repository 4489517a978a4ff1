"""A caller's recorded name is kept while they are in the room and deleted when they leave,
from the room or from a breakout group, or hang up before joining; a room that does not
announce names plays none."""

from __future__ import annotations

import time
from pathlib import Path

from bridge.domain.events import (
    CallArrived,
    CallHungUp,
    ParticipantJoined,
    ParticipantLeft,
    Role,
    RoomStarted,
)
from tests.adapters.conftest import Web
from tests.support import eventually

ROOM = "e2e-open"  # announce_names: false


def said(tmp_path: Path, name: str) -> Path:
    file = tmp_path / f"{ROOM}-{name}.wav"
    file.write_bytes(b"RIFF")
    return file


async def test_a_name_is_kept_while_the_caller_is_in_and_deleted_when_they_leave(
    web_app: Web, tmp_path: Path
) -> None:
    names, roster = web_app.service.names, web_app.service.roster
    now = time.time()
    roster.receive(RoomStarted(ROOM, now))
    in_room, in_group = said(tmp_path, "1.1"), said(tmp_path, "1.2")
    for channel, file in (("PJSIP/a-1", in_room), ("PJSIP/b-2", in_group)):
        names.name_recorded(ROOM, channel, file)
        roster.receive(ParticipantJoined(ROOM, channel, "5550123", Role.PARTICIPANT, True, now))
    assert names.recorded_in(ROOM) == {"PJSIP/a-1", "PJSIP/b-2"}
    assert names.file_of(ROOM, "PJSIP/a-1") == in_room

    roster.receive(ParticipantLeft(ROOM, "PJSIP/a-1", now + 1))
    roster.receive(ParticipantLeft(ROOM, "PJSIP/b-2", now + 1, group="group-1"))
    await eventually(lambda: not in_room.exists() and not in_group.exists(), timeout=5)
    assert names.recorded_in(ROOM) == frozenset()
    assert names.file_of(ROOM, "PJSIP/a-1") is None


async def test_the_name_of_a_caller_who_hung_up_before_joining_goes_at_once(
    web_app: Web, tmp_path: Path
) -> None:
    names, roster = web_app.service.names, web_app.service.roster
    now = time.time()
    roster.receive(RoomStarted(ROOM, now))
    roster.receive(ParticipantJoined(ROOM, "PJSIP/b-2", "5550124", Role.PARTICIPANT, True, now))
    gone, stays = said(tmp_path, "1.3"), said(tmp_path, "1.4")
    roster.receive(CallArrived("PJSIP/a-1", "5550123", now))
    names.name_recorded(ROOM, "PJSIP/a-1", gone)  # then hangs up at the PIN's last step
    names.name_recorded(ROOM, "PJSIP/b-2", stays)
    roster.receive(CallHungUp("PJSIP/a-1", now + 1))
    assert not gone.exists() and names.file_of(ROOM, "PJSIP/a-1") is None
    assert stays.exists() and names.recorded_in(ROOM) == {"PJSIP/b-2"}
