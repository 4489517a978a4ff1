"""``announce_names`` on the real Asterisk: a caller's name is played to the whole room, and a
caller who joins while names wait for the announcer is in the room at once.

What the announcer plays, everyone in the room hears (test_recording_announced.py proves
it with an echo caller); here the proof that a name was played whole is the announcer's
time in the room, as long as the name and "has joined".
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import pytest

from bridge.service import BridgeService
from tests.integration.conftest import Dial, fresh_loopback, unique_caller_id
from tests.support import AmiWatcher, event

ROOM, PIN = "e2e-names", "5252#"  # announce_names: true
ANNOUNCER = re.compile(rf"^Local/{ROOM}@iobridge-announce-[0-9a-f]+;2$")
RECORDED = 12.0  # seconds from the call to the room: the PIN, the prompt, at most 6 s of name


async def join(ami: AmiWatcher, dial: Dial, **options: Any) -> dict[str, Any]:
    """Dial into the room; Asterisk's ConfbridgeJoin of the caller."""
    caller_id = unique_caller_id("named")
    mark = ami.mark()
    await dial(PIN, caller_id=caller_id, local_ip=fresh_loopback(), **options)
    return await ami.wait_for(
        event("ConfbridgeJoin", CallerIDNum=caller_id), since=mark, timeout=RECORDED + 20
    )


def announcer_joined(item: dict[str, Any]) -> bool:
    return item.get("Event") == "ConfbridgeJoin" and bool(ANNOUNCER.match(str(item["Channel"])))


async def test_a_callers_name_is_played_to_the_room_whole(
    ami: AmiWatcher, dial: Dial, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bridge.service.names")
    mark = ami.mark()
    # A caller who says something: speech-like audio through the recording, a 6 s name.
    speaker = str((await join(ami, dial, audio=True, stay=40))["Channel"])
    joined = await ami.wait_for(announcer_joined, since=mark, timeout=10)
    left = await ami.wait_for(
        event("ConfbridgeLeave", Channel=str(joined["Channel"])), since=mark, timeout=20
    )
    (seconds,) = [
        float(found["seconds"])
        for record in caplog.records
        if (
            found := re.search(
                rf"names.announced room={ROOM} channel={re.escape(speaker)} joined=True "
                r"seconds=(?P<seconds>[0-9.]+)",
                record.getMessage(),
            )
        )
    ]
    assert seconds >= 5.0  # by name, not folded into a count
    # The announcer stayed in the room for the name and "has joined": Asterisk played them
    # to the room whole (a Playback that fails takes it out within a second).
    assert float(left["Timestamp"]) - float(joined["Timestamp"]) >= seconds + 0.5


async def test_a_caller_joining_while_names_wait_is_in_the_room_at_once(
    ami: AmiWatcher, dial: Dial, service: BridgeService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bridge.asterisk.name_recording")
    # Three callers with 6 s names each (some 25 s of names for the announcer), and a silent
    # one who types their PIN 3 s after them, so joins while those names wait.
    *_, late = await asyncio.gather(
        *(join(ami, dial, audio=True, stay=40) for _ in range(3)),
        join(ami, dial, stay=20, key_delay=4.5),
    )
    assert service.names.waiting_in(ROOM) >= 1, "no names were waiting when the caller joined"
    channel = str(late["Channel"])
    (taken,) = [
        record.created
        for record in caplog.records
        if f"name_taken channel={channel} " in record.getMessage()
    ]
    # From the end of their own name's recording to the room: the dialogue's last steps and
    # ConfBridge's join, no wait for the names ahead of theirs (8 s each).
    assert float(late["Timestamp"]) - taken < 3.0
