"""Callers on the shared number: PINs typed as real RFC 2833 digits by SIPp, checked
against Asterisk's own ConfbridgeJoin (which conference, admin or not, muted or not)."""

from __future__ import annotations

import asyncio
import time

from bridge.domain.guard import internet_source
from bridge.runtime import Runtime
from bridge.service import BridgeService
from bridge.sipcaller import Caller
from tests.integration.conftest import Dial, unique_caller_id
from tests.support import AmiWatcher, event

# A wrong PIN is followed by "invalid PIN" (2.7 s) before the next prompt: wait it out.
NEXT_TRY = ",,,"


async def join_of(ami: AmiWatcher, caller_id: str, since: int) -> dict[str, str]:
    return await ami.wait_for(event("ConfbridgeJoin", CallerIDNum=caller_id), since=since)


async def test_a_participant_pin_joins_the_room_unmuted(ami: AmiWatcher, dial: Dial) -> None:
    caller_id = unique_caller_id("pin")
    mark = ami.mark()
    caller = await dial("2468#", caller_id=caller_id)
    joined = await join_of(ami, caller_id, mark)
    assert joined["Conference"] == "e2e-open"
    assert joined["Admin"] == "No"
    assert joined["Muted"] == "No"
    await caller.hangup()
    await ami.wait_for(event("ConfbridgeLeave", Channel=joined["Channel"]), since=mark)


async def test_a_pin_typed_in_the_silence_before_the_prompt_is_kept(
    ami: AmiWatcher, dial: Dial
) -> None:
    # A caller who knows the drill does not wait for the prompt: the dialogue listens from
    # its first command, and reads the rest of a PIN begun there in silence. (Keys that reach
    # Asterisk before that first command, or between two commands, are thrown away: typed
    # the instant of the answer, a PIN raced the service's start of the dialogue and lost
    # on a busy box, so this caller types once the dialogue listens.)
    caller_id = unique_caller_id("early")
    mark = ami.mark()
    await dial("2468#", caller_id=caller_id, moment="listening")
    joined = await join_of(ami, caller_id, mark)
    assert joined["Conference"] == "e2e-open"


async def test_a_stray_key_before_the_prompt_is_followed_by_the_prompt_as_usual(
    ami: AmiWatcher, dial: Dial
) -> None:
    caller_id = unique_caller_id("stray")
    mark = ami.mark()
    # One key at once, then nothing for 5 s (the prompt plays), then the PIN.
    await dial("5,,,,,2468#", caller_id=caller_id, key_delay=0.0)
    joined = await join_of(ami, caller_id, mark)
    assert joined["Conference"] == "e2e-open"


async def test_a_room_muted_on_entry_lets_participants_in_muted(
    ami: AmiWatcher, dial: Dial, service: BridgeService
) -> None:
    caller_id = unique_caller_id("muted")
    mark = ami.mark()
    await dial("424242#", caller_id=caller_id)
    joined = await join_of(ami, caller_id, mark)
    assert (joined["Conference"], joined["Admin"], joined["Muted"]) == ("e2e-muted", "No", "Yes")
    channel = joined["Channel"]
    await service.roster.wait_until(lambda: _participant(service, "e2e-muted", channel) is not None)
    person = _participant(service, "e2e-muted", channel)
    assert person is not None and person.muted


async def test_a_moderator_pin_joins_as_an_unmuted_marked_admin(
    ami: AmiWatcher, dial: Dial, service: BridgeService
) -> None:
    caller_id = unique_caller_id("mod")
    mark = ami.mark()
    await dial("919191#", caller_id=caller_id)
    joined = await join_of(ami, caller_id, mark)
    assert (joined["Conference"], joined["Admin"], joined["Muted"]) == ("e2e-muted", "Yes", "No")
    listed = await service.ami.send({"Action": "ConfbridgeList", "Conference": "e2e-muted"})
    mine = [m for m in listed if m.get("Channel") == joined["Channel"]]
    assert mine and mine[0].get("MarkedUser") == "Yes" and mine[0].get("Admin") == "Yes"


async def test_three_wrong_pins_end_the_call_with_a_goodbye(
    ami: AmiWatcher, dial: Dial, service: BridgeService
) -> None:
    caller_id = unique_caller_id("wrong")
    mark = ami.mark()
    caller = await dial(f"9999#{NEXT_TRY}8888#{NEXT_TRY}9990#", caller_id=caller_id, stay=40)
    arrived = await ami.wait_for(event("Newchannel", CallerIDNum=caller_id), since=mark)
    result = await asyncio.wait_for(caller.wait(), 60)
    assert result.ended_by == "remote", "the bridge, not the caller, should hang up"
    assert not ami.saw(event("ConfbridgeJoin", CallerIDNum=caller_id), since=mark)
    await ami.wait_for(event("Hangup", Channel=arrived["Channel"]), since=mark)
    assert _failures(service, caller) == 3


async def test_wrong_pins_hold_the_source_back_even_after_a_restart(
    ami: AmiWatcher, dial: Dial, runtime: Runtime
) -> None:
    wrong3 = f"9999#{NEXT_TRY}9998#{NEXT_TRY}9997#"
    first = await dial(wrong3, caller_id=unique_caller_id("lock"), stay=40)
    assert (await asyncio.wait_for(first.wait(), 60)).ended_by == "remote"
    # Two more wrong PINs reach the threshold (5): the next prompt is refused.
    second = await dial(
        f"9996#{NEXT_TRY}9995#{NEXT_TRY}2468#", caller_id=unique_caller_id("lock"), stay=40
    )
    assert (await asyncio.wait_for(second.wait(), 60)).ended_by == "remote"
    assert runtime.service is not None
    assert _failures(runtime.service, first) == 5
    assert _refused(runtime.service, first)

    await runtime.restart_service()

    # The right PIN no longer helps, and the hold outlived the restart.
    mark = ami.mark()
    caller_id = unique_caller_id("lock")
    third = await dial("2468#", caller_id=caller_id, stay=20)
    result = await asyncio.wait_for(third.wait(), 40)
    assert result.ended_by == "remote", "a refused caller hears why and is hung up"
    print(f"a refused caller was hung up after {result.duration:.1f} s")  # reported
    assert not ami.saw(event("ConfbridgeJoin", CallerIDNum=caller_id), since=mark)
    assert runtime.service is not None
    assert _refused(runtime.service, third)


async def test_a_full_room_turns_the_next_caller_away(ami: AmiWatcher, dial: Dial) -> None:
    mark = ami.mark()
    ids = [unique_caller_id("full") for _ in range(3)]
    for caller_id in ids[:2]:
        await dial("5555#", caller_id=caller_id)
        await join_of(ami, caller_id, mark)
    third = await dial("5555#", caller_id=ids[2], stay=30)
    result = await asyncio.wait_for(third.wait(), 40)
    assert result.ended_by == "remote"
    assert not ami.saw(event("ConfbridgeJoin", CallerIDNum=ids[2]), since=mark)


async def test_hanging_up_mid_pin_leaves_nothing_behind(
    ami: AmiWatcher, dial: Dial, service: BridgeService
) -> None:
    caller_id = unique_caller_id("midpin")
    mark = ami.mark()
    caller = await dial("24", caller_id=caller_id, stay=0.5)
    arrived = await ami.wait_for(event("Newchannel", CallerIDNum=caller_id), since=mark)
    channel = arrived["Channel"]
    await service.roster.wait_until(lambda: channel in service.desk.dialogues)
    await caller.wait()
    await ami.wait_for(event("Hangup", Channel=channel), since=mark)
    await service.roster.wait_until(
        lambda: (
            channel not in service.desk.dialogues and channel not in service.switchboard.entry_calls
        )
    )
    assert service.switchboard.room_of(channel) is None
    assert _failures(service, caller) == 0
    assert service.desk.guard.pending(internet_source(caller.local_ip)) == 0


def _participant(service: BridgeService, room: str, channel: str) -> object | None:
    live = service.switchboard.room(room)
    return live.participants.get(channel) if live else None


def _failures(service: BridgeService, caller: Caller) -> int:
    """Failed PINs counted against the caller's source (the address it calls from)."""
    return service.desk.guard.failures(internet_source(caller.local_ip), time.time())


def _refused(service: BridgeService, caller: Caller) -> bool:
    source = internet_source(caller.local_ip)
    return any(held.source == source and held.refused for held in service.desk.held_back())


async def test_star_six_mutes_a_participant_in_an_open_room(ami: AmiWatcher, dial: Dial) -> None:
    caller_id = unique_caller_id("star6")
    mark = ami.mark()
    await dial(f"2468#{NEXT_TRY}*6", caller_id=caller_id)
    joined = await join_of(ami, caller_id, mark)
    await ami.wait_for(event("ConfbridgeMute", Channel=joined["Channel"]), since=mark)
