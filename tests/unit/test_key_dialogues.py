"""A caller's key dialogue, as the room's keys follow it: a move between conferences waits
for the caller to be out of it (``settled``), and nobody waits for a caller who is gone."""

from __future__ import annotations

import asyncio

from bridge.domain.events import ParticipantJoined, ParticipantLeft, Role, RoomStarted
from bridge.domain.roster import Switchboard
from bridge.service.keys import RoomKeys

CHANNEL = "PJSIP/trunk-00000001"


def room_keys() -> RoomKeys:
    board = Switchboard()
    board.apply(RoomStarted("ga", 0.0))
    board.apply(ParticipantJoined("ga", CHANNEL, "5550123", Role.PARTICIPANT, True, 0.0))

    async def no_room(name: str) -> None:
        return None

    # Paused keys are answered before anything reaches the stack, polls or breakouts.
    keys = RoomKeys(None, None, None, board, lambda *_: None, no_room)  # type: ignore[arg-type]
    keys.set_keys("ga", CHANNEL, on=False)
    return keys


async def test_a_caller_in_a_key_dialogue_is_waited_for_until_it_is_answered() -> None:
    keys = room_keys()
    keys.opened(CHANNEL)  # as the keypad's dialogue does, before the key
    assert (await keys.key_pressed("ga", CHANNEL, "5550123", "*9")).heard == "keys_paused"
    waiting = asyncio.ensure_future(keys.settled(CHANNEL, timeout=30))
    await asyncio.sleep(0.01)
    assert not waiting.done()
    keys.answered(CHANNEL)
    await asyncio.wait_for(waiting, 1)


async def test_nobody_waits_for_a_caller_who_left_in_the_middle_of_a_key_dialogue() -> None:
    keys = room_keys()
    keys.opened(CHANNEL)
    await keys.key_pressed("ga", CHANNEL, "5550123", "*9")
    waiting = asyncio.ensure_future(keys.settled(CHANNEL, timeout=30))
    await asyncio.sleep(0.01)
    keys.on_event(ParticipantLeft("ga", CHANNEL, 1.0))
    await asyncio.wait_for(waiting, 1)
    await asyncio.wait_for(keys.settled(CHANNEL, timeout=30), 1)  # and nothing is kept of it


async def test_a_key_run_outside_the_callers_channel_opens_no_dialogue_and_closes_none() -> None:
    """A key held from before the join is answered by a whisper, the caller in the room:
    nothing waits for it, and a dialogue the caller opened meanwhile stays open."""
    keys = room_keys()
    await keys.key_pressed("ga", CHANNEL, "5550123", "*9")  # the held key, run
    await asyncio.wait_for(keys.settled(CHANNEL, timeout=30), 1)
    keys.opened(CHANNEL)  # a key pressed in the room
    await keys.key_pressed("ga", CHANNEL, "5550123", "*9")  # the held key again
    waiting = asyncio.ensure_future(keys.settled(CHANNEL, timeout=30))
    await asyncio.sleep(0.01)
    assert not waiting.done()
    keys.answered(CHANNEL)
    await asyncio.wait_for(waiting, 1)
