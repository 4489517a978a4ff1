"""A speaker stack read back after a restart, on SQLite and PostgreSQL: the saved state keeps
the people in play, and what those who left said comes back from the call's history, so a
call of hours does not rewrite every caller it ever had each time its stack is saved."""

from __future__ import annotations

import asyncio

from bridge.domain.events import Role
from bridge.domain.rooms import QueuePolicy
from bridge.domain.roster import CallClosed, CallOpened, LegClosed, LegOpened, LegUpdated
from bridge.domain.speakers import Key, SpeakerStack
from bridge.service.stack_io import StackStorage
from bridge.store.db import Database
from bridge.store.history import apply_effects
from bridge.store.stacks import load_stack, save_stack, spoken_before
from bridge.store.turns import record_turn

T = 1_796_000_000.0
ALICE, BOB, CAROL, DAVE = "5550101", "5550102", "5550103", "5550104"


def leg(room: str, n: int, caller_id: str, at: float) -> LegOpened:
    return LegOpened(room, f"PJSIP/{room}-{n}", caller_id, Role.PARTICIPANT, at, "N")


async def test_what_those_who_left_said_comes_back_from_the_call_s_history(db: Database) -> None:
    async with db.sessions.begin() as session:  # an earlier call: none of it counts
        await apply_effects(session, [CallOpened("ga", T - 900), leg("ga", 9, BOB, T - 900)])
        await apply_effects(session, [LegClosed("ga", "PJSIP/ga-9", T - 800, 50.0, 3)])
        await apply_effects(session, [CallClosed("ga", T - 799)])
    async with db.sessions.begin() as session:
        await apply_effects(session, [CallOpened("ga", T), *(
            leg("ga", n, who, T) for n, who in enumerate((ALICE, BOB, CAROL))
        )])  # fmt: skip
        await record_turn(
            session, room="ga", channel="PJSIP/ga-0", caller_id=ALICE, lane="stack",
            started_at=T + 5, ended_at=T + 17, talk_time=12.0, ended_by="done",
        )  # fmt: skip
        await apply_effects(session, [
            LegClosed("ga", "PJSIP/ga-0", T + 60, 12.0, 1),  # Alice spoke, and left
            LegClosed("ga", "PJSIP/ga-1", T + 61, 0.0, 0),  # Bob left without a word
            # Dave spoke and left just before the service died: his leave not yet written
            leg("ga", 5, DAVE, T), LegUpdated("ga", "PJSIP/ga-5", 4.0, 1),
        ])  # fmt: skip
        stack = SpeakerStack("ga", QueuePolicy.PROGRESSIVE)
        stack.join("PJSIP/ga-2", CAROL, Role.PARTICIPANT, T)
        stack.note_speech("PJSIP/ga-2", 1, 3.0, T + 70)  # Carol, still here, has spoken
        assert await save_stack(session, "ga", stack.to_state())

    async with db.sessions() as session:
        saved, earlier = await load_stack(session, "ga"), await spoken_before(session, "ga")
    assert saved is not None and set(saved["records"]) == {CAROL}
    assert set(earlier) == {ALICE, DAVE}
    assert (earlier[DAVE].turns, earlier[DAVE].talk_time) == (1, 4.0)
    alice = earlier[ALICE]
    assert (alice.floor_turns, alice.turns, alice.talk_time) == (1, 1, 12.0)

    restored = SpeakerStack.from_state(saved, earlier)
    restored.join("PJSIP/ga-3", ALICE, Role.PARTICIPANT, T + 100)  # both call back
    restored.join("PJSIP/ga-4", BOB, Role.PARTICIPANT, T + 100)
    for n, channel in enumerate(("PJSIP/ga-3", "PJSIP/ga-2", "PJSIP/ga-4")):
        restored.press(channel, Key.HAND, T + 101 + n)
    queue = [place.caller_id for place in restored.show(T + 110).queue]
    assert queue == [BOB, CAROL, ALICE]  # not yet heard, 3 s, 12 s and a turn


async def test_a_room_with_no_open_call_has_said_nothing(db: Database) -> None:
    async with db.sessions() as session:
        assert await spoken_before(session, "nowhere") == {}


async def test_a_call_ending_while_its_stack_is_saved_leaves_no_state_and_no_error(
    db: Database,
) -> None:
    """The save of a room's stack and the drop at its call's end, side by side, as the
    stack's saver and its courier run them: a save that updated the row as the drop
    deleted it failed (StaleDataError, on both databases)."""
    async with db.sessions.begin() as session:
        await apply_effects(session, [CallOpened("ga", T)])
    storage = StackStorage(db.sessions, every=0.0)
    stack = SpeakerStack("ga", QueuePolicy.PROGRESSIVE)
    stack.join("PJSIP/ga-2", CAROL, Role.PARTICIPANT, T)
    for _ in range(20):
        storage.changed("ga")
        await storage.save({"ga": stack})  # the row is there: the next save updates it
        storage.changed("ga")
        await asyncio.gather(storage.save({"ga": stack}), storage.drop("ga"))
        async with db.sessions() as session:
            assert await load_stack(session, "ga") is None  # the drop came last
