"""The foundation, end to end: a real SIP caller reaches the real Asterisk, the dialplan
hands the call to the bridge's FastAGI, the service sees it come and go."""

from __future__ import annotations

from bridge.asterisk.ami_events import EVENTS_READ
from bridge.domain.events import CallArrived, CallHungUp
from bridge.service import BridgeService
from tests.integration.conftest import Dial, unique_caller_id
from tests.support import AmiWatcher, event


async def test_a_caller_reaches_the_bridge_and_leaves_no_trace(
    service: BridgeService, ami: AmiWatcher, dial: Dial
) -> None:
    caller_id = unique_caller_id("found")
    mark = ami.mark()
    requests_before = service.desk.entry_requests
    async with service.roster.changes.subscribe("test") as changes:
        caller = await dial(keys="", stay=3.0, caller_id=caller_id)

        # Asterisk answers in the entry context, and the dialplan reaches our FastAGI.
        arrived = await ami.wait_for(
            event("Newchannel", Context="iobridge-entry", CallerIDNum=caller_id), since=mark
        )
        channel = arrived["Channel"]
        await service.roster.wait_until(lambda: service.desk.entry_requests > requests_before)
        await service.roster.wait_until(lambda: channel in service.desk.dialogues)

        result = await caller.wait()
        await ami.wait_for(event("Hangup", Channel=channel), since=mark)
        await service.roster.wait_until(
            lambda: (
                channel not in service.switchboard.entry_calls
                and channel not in service.desk.dialogues
            )
        )
        seen = []
        while not changes.queue.empty():
            seen.append(changes.queue.get_nowait().event)

    assert result.answered
    assert result.ended_by == "caller"
    assert any(
        isinstance(e, CallArrived) and e.channel == channel and e.caller_id == caller_id
        for e in seen
    ), "the service never saw the call arrive"
    assert any(isinstance(e, CallHungUp) and e.channel == channel for e in seen)
    assert not any(channel in room.participants for room in service.switchboard.rooms.values())


async def test_the_services_ami_user_hears_only_the_events_the_bridge_reads(
    service: BridgeService, ami: AmiWatcher, dial: Dial
) -> None:
    """A call that talks in a room makes Asterisk emit dozens of events (Newstate,
    BridgeEnter, VarSet, RTCPSent ...); manager.conf's filters pass the service's AMI user
    only those in EVENTS_READ, and the roster still follows the call in and out."""
    mark = ami.mark()
    caller = await dial("1111#", audio=True, stay=4.0, caller_id=unique_caller_id("filter"))
    joined = await ami.wait_for(event("ConfbridgeJoin", Conference="e2e-lobby"), since=mark)
    await ami.wait_for(event("ConfbridgeTalking", Channel=joined["Channel"]), since=mark)
    await caller.wait()
    await ami.wait_for(event("Hangup", Channel=joined["Channel"]), since=mark)
    await service.roster.wait_until(lambda: service.switchboard.room_of(joined["Channel"]) is None)

    heard = {str(e.get("Event")) for e in ami.events[mark:]}
    assert {"Newchannel", "ConfbridgeJoin", "ConfbridgeLeave", "Hangup"} <= heard
    assert heard <= set(EVENTS_READ), f"heard events the bridge does not read: {heard}"
