"""Call history written from the roster's effects, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bridge.domain.events import (
    DomainEvent,
    HangupRequested,
    LeaveReason,
    MuteChanged,
    ParticipantJoined,
    ParticipantLeft,
    Resynced,
    Role,
    RoomEnded,
    SeenParticipant,
    SeenRoom,
    TalkingChanged,
)
from bridge.domain.rooms import RoomsConfig, RoomSpec
from bridge.domain.roster import (
    CallClosed,
    CallOpened,
    Effect,
    HistoryReconciled,
    LegClosed,
    LegOpened,
    LegReasonCorrected,
    LegUpdated,
    Switchboard,
)
from bridge.store.db import Database
from bridge.store.history import HistoryWriter, apply_effects
from bridge.store.models import Call, Leg, Room
from bridge.store.rooms import sync_rooms
from tests.support import TEST_PIN_KEY

T = 1_772_441_000.0  # 2026-03-02, seconds since the epoch, as the events carry it


def when(offset: float) -> datetime:
    return datetime.fromtimestamp(T + offset, UTC)


@pytest.fixture
async def db(db: Database) -> Database:
    """The shared database, with the two rooms these tests put calls in."""
    async with db.sessions.begin() as session:
        rooms = (RoomSpec(name="ga", title="GA", pin="1111"), RoomSpec("wg", "WG", pin="2222"))
        await sync_rooms(session, RoomsConfig(rooms=rooms), pin_key=TEST_PIN_KEY)
    return db


async def apply(db: Database, effects: Sequence[Effect]) -> None:
    async with db.sessions.begin() as session:
        await apply_effects(session, effects)


async def feed(db: Database, board: Switchboard, *events: DomainEvent) -> list[Effect]:
    """Events through the roster, and its effects into the database, one commit per event."""
    produced: list[Effect] = []
    for event in events:
        effects = board.apply(event)
        await apply(db, effects)
        produced += effects
    return produced


async def calls(db: Database) -> list[Call]:
    async with db.sessions() as session:
        return list(await session.scalars(select(Call).order_by(Call.id)))


async def legs(db: Database) -> dict[str, Leg]:
    """Legs by channel (each test uses a channel once)."""
    async with db.sessions() as session:
        return {leg.channel: leg for leg in await session.scalars(select(Leg).order_by(Leg.id))}


async def room_id(db: Database, name: str) -> int:
    async with db.sessions() as session:
        found = await session.scalar(select(Room.id).where(Room.name == name))
    assert found is not None
    return found


def joined(channel: str, at: float, role: Role = Role.PARTICIPANT, room: str = "ga") -> DomainEvent:
    return ParticipantJoined(room, channel, f"cid-{channel}", role, False, T + at)


async def test_call_opened_creates_one_call_row(db: Database) -> None:
    await apply(db, [CallOpened("ga", T)])

    [call] = await calls(db)
    assert (call.room_name, call.room_id) == ("ga", await room_id(db, "ga"))
    assert (call.started_at, call.ended_at) == (when(0), None)


async def test_a_call_for_an_unknown_room_has_no_room_id(db: Database) -> None:
    await apply(db, [CallOpened("not-provisioned", T)])
    [call] = await calls(db)
    assert (call.room_name, call.room_id) == ("not-provisioned", None)


async def test_a_second_call_opened_for_a_live_room_continues_the_call(db: Database) -> None:
    await apply(db, [CallOpened("ga", T)])
    await apply(db, [CallOpened("ga", T + 60)])  # the service restarted; the call went on
    await apply(db, [CallOpened("wg", T + 61)])

    ga, wg = await calls(db)
    assert (ga.room_name, ga.started_at, ga.ended_at) == ("ga", when(0), None)
    assert (wg.room_name, wg.started_at) == ("wg", when(61))


async def test_legs_record_joins_talk_time_turns_and_leaves(db: Database) -> None:
    board = Switchboard()
    opened = await feed(db, board, joined("PJSIP/a-1", 0, Role.MODERATOR), joined("PJSIP/b-1", 1))
    assert opened == [
        CallOpened("ga", T),
        LegOpened("ga", "PJSIP/a-1", "cid-PJSIP/a-1", Role.MODERATOR, T),
        LegOpened("ga", "PJSIP/b-1", "cid-PJSIP/b-1", Role.PARTICIPANT, T + 1),
    ]
    [call] = await calls(db)
    rows = await legs(db)
    a, b = rows["PJSIP/a-1"], rows["PJSIP/b-1"]
    assert (a.call_id, a.caller_id, a.role, a.joined_at) == (
        call.id,
        "cid-PJSIP/a-1",
        "moderator",
        when(0),
    )
    assert (b.role, b.joined_at, b.left_at, b.talk_time, b.turns) == (
        "participant",
        when(1),
        None,
        0.0,
        0,
    )

    # b speaks twice (2-7 s, 10-12 s): one turn, as b stays unmuted throughout.
    updates = await feed(
        db,
        board,
        TalkingChanged("ga", "PJSIP/b-1", True, T + 2),
        TalkingChanged("ga", "PJSIP/b-1", False, T + 7),
        TalkingChanged("ga", "PJSIP/b-1", True, T + 10),
        TalkingChanged("ga", "PJSIP/b-1", False, T + 12),
    )
    assert updates == [LegUpdated("ga", "PJSIP/b-1", 5.0, 1), LegUpdated("ga", "PJSIP/b-1", 7.0, 1)]
    b = (await legs(db))["PJSIP/b-1"]
    assert (b.talk_time, b.turns, b.left_at) == (7.0, 1, None)

    # Muted and unmuted: the next spurt is a second turn; b leaves while still talking.
    await feed(
        db,
        board,
        MuteChanged("ga", "PJSIP/b-1", True, T + 13),
        MuteChanged("ga", "PJSIP/b-1", False, T + 14),
        TalkingChanged("ga", "PJSIP/b-1", True, T + 15),
    )
    closed = await feed(db, board, ParticipantLeft("ga", "PJSIP/b-1", T + 18))
    assert closed == [LegClosed("ga", "PJSIP/b-1", T + 18, 10.0, 2, LeaveReason.HUNG_UP)]
    b = (await legs(db))["PJSIP/b-1"]
    assert (b.left_at, b.talk_time, b.turns, b.leave_reason) == (when(18), 10.0, 2, "hung up")
    [call] = await calls(db)
    assert call.ended_at is None  # a is still there

    ended = await feed(db, board, RoomEnded("ga", T + 30))
    assert ended == [LegClosed("ga", "PJSIP/a-1", T + 30, 0.0, 0), CallClosed("ga", T + 30)]
    a = (await legs(db))["PJSIP/a-1"]
    # Asterisk ended the room under them: nobody saw why they left.
    assert (a.left_at, a.talk_time, a.turns, a.leave_reason) == (when(30), 0.0, 0, None)
    [call] = await calls(db)
    assert call.ended_at == when(30)


async def test_a_closed_call_is_not_reopened_by_the_next_one(db: Database) -> None:
    board = Switchboard()
    await feed(db, board, joined("PJSIP/a-1", 0), ParticipantLeft("ga", "PJSIP/a-1", T + 5))
    await feed(db, board, RoomEnded("ga", T + 6))
    await feed(db, board, joined("PJSIP/a-2", 100))

    first, second = await calls(db)
    assert (first.started_at, first.ended_at) == (when(0), when(6))
    assert (second.started_at, second.ended_at) == (when(100), None)
    rows = await legs(db)
    assert rows["PJSIP/a-1"].call_id == first.id
    assert rows["PJSIP/a-2"].call_id == second.id


async def test_a_leg_opened_twice_is_written_once(db: Database) -> None:
    opened = LegOpened("ga", "PJSIP/a-1", "100", Role.PARTICIPANT, T)
    await apply(db, [CallOpened("ga", T), opened])
    await apply(db, [opened])
    assert list(await legs(db)) == ["PJSIP/a-1"]


async def test_a_leg_opened_without_its_call_opens_the_call(db: Database) -> None:
    await apply(db, [LegOpened("wg", "PJSIP/a-1", "100", Role.PARTICIPANT, T + 3)])
    [call] = await calls(db)
    assert (call.room_name, call.started_at, call.room_id) == (
        "wg",
        when(3),
        await room_id(db, "wg"),
    )
    assert (await legs(db))["PJSIP/a-1"].call_id == call.id


async def test_updates_and_closes_for_unknown_legs_are_ignored(db: Database) -> None:
    await apply(
        db,
        [
            LegUpdated("ga", "PJSIP/nobody", 3.0, 1),
            LegClosed("ga", "PJSIP/nobody", T, 3.0, 1),
            CallClosed("ga", T),
        ],
    )
    assert await calls(db) == []
    assert await legs(db) == {}


async def test_a_restart_continues_the_same_call_and_legs(db: Database, database_url: str) -> None:
    board = Switchboard()
    await feed(db, board, joined("PJSIP/a-1", 0), joined("PJSIP/b-1", 1))
    await feed(
        db,
        board,
        TalkingChanged("ga", "PJSIP/a-1", True, T + 2),
        TalkingChanged("ga", "PJSIP/a-1", False, T + 6),
    )
    await db.dispose()

    # The service restarts: a new roster and a new database connection. Asterisk says a is
    # still in ga (b left while the service was down).
    restarted = Database(database_url)
    try:
        effects = await feed(
            restarted,
            Switchboard(),
            Resynced(
                (
                    SeenRoom(
                        "ga",
                        False,
                        (
                            SeenParticipant(
                                "PJSIP/a-1", "cid-PJSIP/a-1", Role.PARTICIPANT, False, False
                            ),
                        ),
                    ),
                ),
                T + 100,
            ),
        )
        assert [type(e) for e in effects] == [CallOpened, LegOpened, HistoryReconciled]

        [call] = await calls(restarted)
        assert (call.started_at, call.ended_at) == (when(0), None)
        rows = await legs(restarted)
        assert list(rows) == ["PJSIP/a-1", "PJSIP/b-1"]
        a, b = rows["PJSIP/a-1"], rows["PJSIP/b-1"]
        assert (a.joined_at, a.left_at, a.talk_time, a.turns) == (when(0), None, 4.0, 1)
        assert b.left_at == when(100)  # closed by the reconcile, at the resync
    finally:
        await restarted.dispose()


async def test_reconcile_closes_what_is_not_live_and_keeps_what_is(db: Database) -> None:
    board = Switchboard()
    await feed(
        db,
        board,
        joined("PJSIP/a-1", 0),
        joined("PJSIP/b-1", 1),
        joined("PJSIP/c-1", 2, room="wg"),
        joined("PJSIP/d-1", 3),
        ParticipantLeft("ga", "PJSIP/d-1", T + 4),
    )

    await apply(
        db,
        [
            HistoryReconciled(
                live_rooms=frozenset({"ga"}),
                live_channels=frozenset({("ga", "PJSIP/a-1")}),
                at=T + 50,
            )
        ],
    )

    ga, wg = await calls(db)
    assert (ga.room_name, ga.ended_at) == ("ga", None)
    assert (wg.room_name, wg.ended_at) == ("wg", when(50))
    rows = await legs(db)
    assert rows["PJSIP/a-1"].left_at is None
    assert rows["PJSIP/b-1"].left_at == when(50)
    assert rows["PJSIP/c-1"].left_at == when(50)
    assert rows["PJSIP/d-1"].left_at == when(4)  # already closed: untouched


async def test_reconcile_with_nothing_live_closes_everything(db: Database) -> None:
    await feed(db, Switchboard(), joined("PJSIP/a-1", 0), joined("PJSIP/b-1", 1, room="wg"))
    effects = Switchboard().apply(Resynced((), T + 9))
    assert effects == [HistoryReconciled(frozenset(), frozenset(), T + 9)]
    await apply(db, effects)
    assert [c.ended_at for c in await calls(db)] == [when(9), when(9)]
    assert [leg.left_at for leg in (await legs(db)).values()] == [when(9), when(9)]


async def test_history_writer_writes_in_the_background(db: Database) -> None:
    writer = HistoryWriter(db.sessions)
    task = asyncio.create_task(writer.run())
    try:
        board = Switchboard()
        writer.submit(board.apply(joined("PJSIP/a-1", 0)))
        writer.submit(board.apply(joined("PJSIP/b-1", 1)))
        writer.submit(board.apply(TalkingChanged("ga", "PJSIP/b-1", True, T + 2)))
        writer.submit(board.apply(TalkingChanged("ga", "PJSIP/b-1", False, T + 5)))
        await asyncio.wait_for(writer.flushed(), 15)

        [call] = await calls(db)
        assert call.ended_at is None
        rows = await legs(db)
        assert (rows["PJSIP/b-1"].talk_time, rows["PJSIP/b-1"].turns) == (3.0, 1)

        writer.submit(board.apply(RoomEnded("ga", T + 20)))
        await asyncio.wait_for(writer.flushed(), 15)

        [call] = await calls(db)
        assert call.ended_at == when(20)
        assert {c: leg.left_at for c, leg in (await legs(db)).items()} == {
            "PJSIP/a-1": when(20),
            "PJSIP/b-1": when(20),
        }
        assert not task.done()
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_history_writer_flushes_more_than_one_batch(db: Database) -> None:
    writer = HistoryWriter(db.sessions)
    task = asyncio.create_task(writer.run())
    try:
        board = Switchboard()
        for n in range(620):  # the writer takes at most 500 effects per transaction
            writer.submit(board.apply(joined(f"PJSIP/p-{n}", n / 100)))
        # On a loaded box (four suites' workers, PostgreSQL) 620 rows took more than the
        # default 10 s: flushed() then returned with nothing written yet.
        await writer.flushed(timeout=60)
        assert len(await legs(db)) == 620
        assert len(await calls(db)) == 1
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_history_writer_with_nothing_submitted_is_flushed(db: Database) -> None:
    writer = HistoryWriter(db.sessions)
    writer.submit([])
    # Nothing pending: flushed() returns at once instead of waiting out its own timeout.
    await asyncio.wait_for(writer.flushed(timeout=30), 2)
    assert await calls(db) == []


async def test_a_hangup_cause_that_comes_after_the_leave_corrects_the_legs_reason(
    db: Database,
) -> None:
    board = Switchboard()
    await feed(db, board, joined("PJSIP/a-1", 0), joined("PJSIP/b-1", 1))
    await feed(db, board, ParticipantLeft("ga", "PJSIP/b-1", T + 5))
    assert (await legs(db))["PJSIP/b-1"].leave_reason == "hung up"
    late = await feed(db, board, HangupRequested("PJSIP/b-1", LeaveReason.TIMED_OUT, T + 6))
    assert late == [LegReasonCorrected("ga", "PJSIP/b-1", LeaveReason.TIMED_OUT)]
    rows = await legs(db)
    assert (rows["PJSIP/b-1"].leave_reason, rows["PJSIP/a-1"].leave_reason) == ("timed out", None)
