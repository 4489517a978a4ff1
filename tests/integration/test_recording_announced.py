"""A recording is announced to everyone in the room, on the real Asterisk.

A start whose answer never came in time is stopped: Asterisk may have started it all the
same, and a recording nobody announced must not run.

The proof is a caller's own channel: an echo caller (SIPp sends back every RTP packet it
receives) is silent until the announcement reaches its phone, and then Asterisk's talk
detector hears it on that caller's channel (ConfbridgeTalking). The announcer itself is
never a participant: not in the roster, not in history.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import pytest
from sqlalchemy import select

from bridge.asterisk import recorder
from bridge.errors import PbxUnconfirmed
from bridge.service import BridgeService
from bridge.store.models import Leg
from tests.integration.conftest import Dial, unique_caller_id
from tests.support import JOIN_SECONDS, AmiWatcher, event, eventually, recorder_event, roster_rows

ROOM = "e2e-announce"
PIN = "8282#"
ANNOUNCER = re.compile(rf"^Local/{ROOM}@iobridge-announce-[0-9a-f]+;2$")


async def join(ami: AmiWatcher, dial: Dial, service: BridgeService, **options: Any) -> str:
    caller_id = unique_caller_id("ann")
    mark = ami.mark()
    await dial(PIN, caller_id=caller_id, **options)
    joined = await ami.wait_for(
        event("ConfbridgeJoin", CallerIDNum=caller_id), since=mark, timeout=JOIN_SECONDS
    )
    channel = str(joined["Channel"])
    await service.roster.wait_until(lambda: channel in _roster(service))
    return channel


def _roster(service: BridgeService) -> dict[str, dict[str, Any]]:
    return {p["channel"]: p for p in roster_rows(service.switchboard, ROOM)}


def _quiet_for(ami: AmiWatcher, channel: str, seconds: float, since: int) -> bool:
    """Asterisk has not heard ``channel`` for ``seconds`` (its last word was "off")."""
    heard = [
        e
        for e in ami.events[since:]
        if e.get("Event") in ("ConfbridgeJoin", "ConfbridgeTalking") and e.get("Channel") == channel
    ]
    if not heard or heard[-1].get("TalkingStatus") == "on":
        return False
    return time.time() - float(heard[-1]["Timestamp"]) >= seconds


def _talking_on(channel: str) -> Any:
    return event("ConfbridgeTalking", Channel=channel, TalkingStatus="on")


async def test_everyone_in_the_room_hears_that_it_is_now_recorded(
    ami: AmiWatcher, dial: Dial, service: BridgeService
) -> None:
    await join(ami, dial, service)  # a silent caller, so the room is not the echo's alone
    joined_at = ami.mark()
    # The echo types its PIN once the 2.4 s PIN prompt is over: echoed prompt audio, under
    # another RTP source, interleaved with the keys' packets could cost Asterisk a digit.
    echo = await join(ami, dial, service, echo=True, stay=40, key_delay=4.5)
    # The echo sends back the room's own sounds (its join beep ...): wait for silence.
    await eventually(lambda: _quiet_for(ami, echo, 2.0, since=joined_at), timeout=20)
    quiet = ami.mark()
    await asyncio.sleep(2)
    assert not ami.saw(_talking_on(echo), since=quiet), "the room was not quiet"

    mark = ami.mark()
    await service.moderation.start_recording(ROOM, started_by="admin")
    # The recording runs: the bridge's recorder is in the room (Asterisk's word).
    await ami.wait_for(recorder_event("ConfbridgeJoin", ROOM), since=mark)
    joined = await ami.wait_for(_announcer_joined, since=mark)
    assert joined["Conference"] == ROOM
    # The prompt reached the caller's phone: its echo is heard on the caller's channel.
    await ami.wait_for(_talking_on(echo), since=mark, timeout=10)
    # And the announcer leaves once it has said it.
    await ami.wait_for(
        event("ConfbridgeLeave", Channel=str(joined["Channel"])), since=mark, timeout=15
    )

    assert not any(ANNOUNCER.match(channel) for channel in _roster(service))
    await service.history.flushed()
    async with service.db.sessions() as session:
        channels = (await session.scalars(select(Leg.channel))).all()
    assert not any("iobridge-announce" in channel for channel in channels)
    await service.moderation.stop_recording(ROOM)


async def test_a_start_asterisk_answers_too_late_is_stopped_not_left_recording_unannounced(
    ami: AmiWatcher, dial: Dial, service: BridgeService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The late answer is made real: the bridge waits a tenth of a millisecond for the
    Originate's answer, so Asterisk starts the recorder after the bridge has given up. (On a
    starved box the answer can still be read first, when the process was not scheduled
    before it came: that start was in time, so it is stopped and tried again.)"""
    await join(ami, dial, service)
    monkeypatch.setattr(recorder, "ANSWER_WITHIN_S", 0.0001)
    for _ in range(5):
        mark = ami.mark()
        try:
            await service.moderation.start_recording(ROOM, started_by="admin")
        except PbxUnconfirmed as exc:
            assert "stopped in case it had started" in str(exc)
            break
        await service.moderation.stop_recording(ROOM)
        await _recorder_hung_up(ami, since=mark)  # (it may not have joined the room yet)
        await eventually(lambda: not _recording(service))
        # And its announcement is over, so that none is counted against the next attempt.
        announcer = await ami.wait_for(_announcer_joined, since=mark, timeout=15)
        await ami.wait_for(
            event("ConfbridgeLeave", Channel=str(announcer["Channel"])), since=mark, timeout=15
        )
    else:
        pytest.fail("Asterisk answered every start within 0.1 ms: no late answer to test")
    # Asterisk did start it (the fault is real), and the bridge hung it up: it records
    # nothing from now on, unannounced.
    await _recorder_hung_up(ami, since=mark)
    await eventually(lambda: not _recording(service))
    assert not ami.saw(_announcer_joined, since=mark), "nothing was announced: the start failed"


def _announcer_joined(e: dict[str, Any]) -> bool:
    return e.get("Event") == "ConfbridgeJoin" and bool(ANNOUNCER.match(str(e.get("Channel"))))


async def _recorder_hung_up(ami: AmiWatcher, since: int) -> None:
    """A recorder's channel came up after ``since``, and went."""
    started = await ami.wait_for(
        lambda e: e.get("Event") == "Newchannel" and recorder.is_recorder(str(e.get("Channel"))),
        since=since,
    )
    await ami.wait_for(event("Hangup", Channel=str(started["Channel"])), since=since, timeout=15)


def _recording(service: BridgeService) -> bool:
    live = service.switchboard.room(ROOM)
    return live is not None and live.recording
