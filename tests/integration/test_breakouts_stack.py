"""The speaker stack during breakouts, on the real Asterisk: a caller who raised their hand
in the main room and was then split into a group keeps their place; called on, they are
unmuted in their group's conference (ConfBridge's own Unmute event there says so), and the
turn clock (5 s in this room) mutes them there again."""

from __future__ import annotations

from bridge.domain.breakouts import SplitBy, conference_name
from bridge.service import BridgeService
from tests.integration.conftest import Dial, unique_caller_id
from tests.support import AmiWatcher, event, eventually, keypad_answers

ROOM, PIN = "e2e-group-stack", "7373#"


async def test_a_caller_called_on_in_a_group_is_unmuted_there_and_muted_there_at_the_turns_end(
    dial: Dial, ami: AmiWatcher, service: BridgeService
) -> None:
    caller_id = unique_caller_id("gstk")
    mark = ami.mark()
    caller = await dial(PIN, caller_id=caller_id, later_keys=("*9",), stay=60)
    joined = await ami.wait_for(
        event("ConfbridgeJoin", CallerIDNum=caller_id, Conference=ROOM), since=mark, timeout=30
    )
    channel = str(joined["Channel"])
    await service.roster.wait_until(lambda: service.switchboard.room_of(channel) == ROOM)
    await service.roster.wait_until(lambda: ROOM in service.speakers.stacks)
    answers = keypad_answers()
    pressed = answers.mark()
    await caller.press("*9")
    await eventually(lambda: answers.heard(channel, since=pressed), timeout=15, every=0.05)

    async def queued() -> list[str]:
        return [e["channel"] for e in (await service.speakers.show(ROOM))["queue"]]

    assert await queued() == [channel]

    group = conference_name(ROOM, "group-1")
    moved = ami.mark()
    await service.breakouts.start(
        ROOM, groups=1, size=None, minutes=5, by=SplitBy.RANDOM, listed=None
    )
    await ami.wait_for(
        event("ConfbridgeJoin", Channel=channel, Conference=group), since=moved, timeout=30
    )
    live = service.switchboard.room(ROOM)
    assert live is not None
    await service.roster.wait_until(lambda: live.participants[channel].group == "group-1")
    assert await queued() == [channel]  # the place kept

    called = ami.mark()
    assert (await service.speakers.call_next(ROOM))["speaker"] == channel
    unmuted = await ami.wait_for(
        event("ConfbridgeUnmute", Channel=channel), since=called, timeout=10
    )
    assert unmuted["Conference"] == group
    muted = await ami.wait_for(
        event("ConfbridgeMute", Channel=channel), since=called, timeout=20
    )  # the 5 s limit
    assert muted["Conference"] == group
    assert (await service.speakers.show(ROOM))["speaker"] is None

    back = ami.mark()
    await service.breakouts.end(ROOM)
    await ami.wait_for(
        event("ConfbridgeJoin", Channel=channel, Conference=ROOM), since=back, timeout=30
    )
    hung_up = {e.get("Channel") for e in ami.events[mark:] if e.get("Event") == "Hangup"}
    assert channel not in hung_up  # no call dropped
