"""A room closed outside its schedule, end to end: a SIPp caller with the room's right PIN,
outside its one call (29 February, 03:00 UTC), is told when the call begins (io-bridge's
prompt, then the time said by Asterisk's SAY DATETIME in the room's zone), is hung up on,
never joins, and nothing is counted against its source."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from datetime import UTC, datetime

import pytest

from bridge.domain.guard import internet_source
from bridge.service import BridgeService
from bridge.store import pin_failures
from tests.integration.conftest import Dial, unique_caller_id
from tests.support import JOIN_SECONDS, AmiWatcher, event

NEXT_LEAP_DAY_CALL = datetime(2028, 2, 29, 3, tzinfo=UTC)


async def test_a_right_pin_outside_the_schedule_hears_when_the_call_begins_and_counts_nothing(
    ami: AmiWatcher, dial: Dial, service: BridgeService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bridge")
    caller_id = unique_caller_id("sched")
    mark = ami.mark()
    caller = await dial("2929#", caller_id=caller_id, stay=40)
    arrived = await ami.wait_for(event("Newchannel", CallerIDNum=caller_id), since=mark)
    result = await asyncio.wait_for(caller.wait(), 60)
    assert result.ended_by == "remote", "the bridge, not the caller, should hang up"
    await ami.wait_for(event("Hangup", Channel=arrived["Channel"]), since=mark)
    assert not ami.saw(event("ConfbridgeJoin", CallerIDNum=caller_id), since=mark)

    found = re.search(
        rf"channel={re.escape(arrived['Channel'])} reason=not-started heard=(\S+)", caplog.text
    )
    assert found is not None, caplog.text
    heard = found.group(1).split(",")
    assert heard[0] == "conf-getpin" and heard[1].endswith("/call-not-started")
    assert heard[2] == f"time:{int(NEXT_LEAP_DAY_CALL.timestamp())}@UTC"
    assert heard[3] == "vm-goodbye"
    assert "agi.command_failed" not in caplog.text  # Asterisk took SAY DATETIME as sent

    source = internet_source(caller.local_ip)
    assert service.desk.guard.failures(source, time.time()) == 0
    await service.desk.flushed()
    async with service.db.sessions() as session:
        rows = await pin_failures.failures_since(session, datetime(2026, 1, 1, tzinfo=UTC))
    assert str(source) not in {row.source for row in rows}


async def test_the_rooms_moderator_gets_in_outside_the_schedule(
    ami: AmiWatcher, dial: Dial
) -> None:
    caller_id = unique_caller_id("schedm")
    mark = ami.mark()
    caller = await dial("2930#", caller_id=caller_id)
    joined = await ami.wait_for(
        event("ConfbridgeJoin", CallerIDNum=caller_id), since=mark, timeout=JOIN_SECONDS
    )
    assert joined["Conference"] == "e2e-scheduled"
    await caller.hangup()
