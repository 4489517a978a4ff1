"""A moderator by phone: a caller who joined with the moderator PIN presses *2 (the
stack's length), *5 (the next speaker), *4 (mute everyone but the moderators) and *3
(lock, then unlock) inside ConfBridge on the real Asterisk; each runs the action table's
entry, audited as the caller's number."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bridge.service import BridgeService
from bridge.store.models import ModeratorAction
from tests.integration.conftest import Dial, fresh_loopback, unique_caller_id
from tests.support import JOIN_SECONDS, AmiWatcher, event, eventually, keypad_answers

ROOM, PIN, MODERATOR_PIN = "e2e-panel", "8642#", "8643#"


async def joined(dial: Dial, ami: AmiWatcher, service: BridgeService, keys: str, **more: Any):  # type: ignore[no-untyped-def]
    caller_id = unique_caller_id("phone")
    mark = ami.mark()
    caller = await dial(keys, caller_id=caller_id, local_ip=fresh_loopback(), stay=60, **more)
    found = await ami.wait_for(
        event("ConfbridgeJoin", CallerIDNum=caller_id), since=mark, timeout=JOIN_SECONDS
    )
    channel = str(found["Channel"])
    await service.roster.wait_until(lambda: service.switchboard.room_of(channel) == ROOM)
    await service.roster.wait_until(lambda: ROOM in service.speakers.stacks)
    return caller, channel, caller_id


async def pressed(caller: Any, channel: str, keys: str) -> str | None:
    answers = keypad_answers()
    mark = answers.mark()
    await caller.press(keys)
    await eventually(lambda: answers.heard(channel, since=mark), timeout=10, every=0.05)
    return answers.said(channel, since=mark)


async def test_a_moderator_runs_the_stack_mutes_and_locks_from_the_keypad(
    dial: Dial, ami: AmiWatcher, service: BridgeService
) -> None:
    participant, p_channel, _ = await joined(dial, ami, service, PIN, later_keys=("*9",))
    moderator, m_channel, m_number = await joined(
        dial, ami, service, MODERATOR_PIN, later_keys=("*2", "*5", "*4", "*3", "*3")
    )
    await service.speakers.clear(ROOM, None)
    assert await pressed(participant, p_channel, "*9") == "hand_raised"

    assert await pressed(moderator, m_channel, "*2") == "stack_length"
    assert await pressed(moderator, m_channel, "*5") == "next_called"
    await eventually(lambda: service.speakers.stacks[ROOM].speaker == p_channel, timeout=5)

    mark = ami.mark()
    assert await pressed(moderator, m_channel, "*4") == "all_muted"
    await ami.wait_for(event("ConfbridgeMute", Channel=p_channel), since=mark)

    assert await pressed(moderator, m_channel, "*3") == "room_locked_now"
    await eventually(lambda: service.switchboard.room(ROOM).locked, timeout=5)  # type: ignore[union-attr]
    assert await pressed(moderator, m_channel, "*3") == "room_unlocked_now"
    await eventually(lambda: not service.switchboard.room(ROOM).locked, timeout=5)  # type: ignore[union-attr]

    async with service.db.sessions() as session:
        rows = await session.scalars(
            select(ModeratorAction).where(ModeratorAction.actor == f"{m_number} (phone)")
        )
        done = [(row.action, row.result) for row in rows]
    assert done == [("next", "ok"), ("mute-all", "ok"), ("lock", "ok"), ("unlock", "ok")]
