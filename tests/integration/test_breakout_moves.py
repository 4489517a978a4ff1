"""Breakout moves on the real Asterisk: callers taken by AMI Redirect into a group's
conference (ROOM~group-1) and back, no call dropped; the roster keeps them in the room (one
leg, their group shown) and they come back muted as the room says."""

from __future__ import annotations

import asyncio

from bridge.domain.breakouts import conference_name
from bridge.domain.events import LeaveReason, RemovalOrdered
from bridge.service import BridgeService
from tests.integration.conftest import Dial, unique_caller_id
from tests.support import AmiWatcher, event

ROOM, PIN = "e2e-breakout", "8686#"


async def listed(ami: AmiWatcher, service: BridgeService, conference: str) -> set[str]:
    items = await service.pbx_directory.bridge_for(ROOM)._list(
        "ConfbridgeList", Conference=conference
    )
    return {str(i["Channel"]) for i in items if i.get("Event") == "ConfbridgeList"}


async def test_callers_redirected_into_a_group_and_back_stay_on_the_call_and_in_the_room(
    dial: Dial, ami: AmiWatcher, service: BridgeService
) -> None:
    mark = ami.mark()
    ids = [unique_caller_id("brk") for _ in range(2)]
    await asyncio.gather(*(dial(PIN, caller_id=c, stay=60) for c in ids))
    channels = []
    for caller_id in ids:
        joined = await ami.wait_for(
            event("ConfbridgeJoin", CallerIDNum=caller_id), since=mark, timeout=30
        )
        channels.append(str(joined["Channel"]))
    await service.roster.wait_until(
        lambda: all(service.switchboard.room_of(c) == ROOM for c in channels)
    )
    pbx = service.pbx_directory.bridge_for(ROOM)
    group = conference_name(ROOM, "group-1")
    moved = ami.mark()
    for channel in channels:
        service.roster.receive(RemovalOrdered(ROOM, channel, LeaveReason.MOVED, 0.0))
        await pbx.move(ROOM, channel, "group-1")
    for channel in channels:
        await ami.wait_for(
            event("ConfbridgeJoin", Channel=channel, Conference=group), since=moved, timeout=30
        )
    assert await listed(ami, service, group) == set(channels)
    live = service.switchboard.room(ROOM)
    assert live is not None
    await service.roster.wait_until(
        lambda: all(live.participants[c].group == "group-1" for c in channels)
    )

    back = ami.mark()
    for channel in channels:
        service.roster.receive(RemovalOrdered(ROOM, channel, LeaveReason.MOVED, 0.0))
        await pbx.move(ROOM, channel, None)
    for channel in channels:
        joined = await ami.wait_for(
            event("ConfbridgeJoin", Channel=channel, Conference=ROOM), since=back, timeout=30
        )
        assert joined["Muted"] == "Yes"  # muted as the room says (muted_on_entry)
    assert await listed(ami, service, ROOM) == set(channels)
    await service.roster.wait_until(
        lambda: all(live.participants[c].group is None for c in channels)
    )
    hung_up = [e for e in ami.events[mark:] if e.get("Event") == "Hangup"]
    assert not [e for e in hung_up if e.get("Channel") in channels]  # no call dropped
