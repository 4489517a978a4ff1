"""What reports read and the retention purge, on SQLite and PostgreSQL: turns, stack
events and recording starts filed under the room's open call; a call's history loaded
back; caller IDs redacted past the retention period, and nothing newer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bridge.domain.events import Role
from bridge.domain.known_callers import KnownCaller
from bridge.domain.privacy import retention_cutoff
from bridge.domain.roster import CallClosed, CallOpened, LegClosed, LegOpened
from bridge.reports import build_report, report_csv, talk_chart_svg
from bridge.store.audit import ActionRecord, add_action
from bridge.store.db import Database
from bridge.store.history import apply_effects, label_open_leg
from bridge.store.known_callers import IMPORTED, store_known
from bridge.store.models import (
    Call,
    Leg,
    ModeratorAction,
    PinFailure,
    Room,
    StackEvent,
    Turn,
)
from bridge.store.reports import list_calls, load_call
from bridge.store.retention import purge_history
from bridge.store.turns import record_recording_start, record_stack_event, record_turn

NOW = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
OLD = (NOW - timedelta(days=40)).timestamp()  # a call past a 30-day retention
RECENT = (NOW - timedelta(days=3)).timestamp()


async def a_call(db: Database, room: str, t: float, callers: list[str], end: bool = True) -> int:
    """A call in ``room`` from ``t``: each caller stays 60 s and talks 10 s in one turn."""
    effects: list = [CallOpened(room, t)]
    for i, caller in enumerate(callers):
        effects.append(LegOpened(room, f"PJSIP/{room}-{i}", caller, Role.PARTICIPANT, t + i, "N"))
    async with db.sessions.begin() as session:
        await apply_effects(session, effects)
        for i, caller in enumerate(callers):
            channel = f"PJSIP/{room}-{i}"
            await record_turn(
                session,
                room=room,
                channel=channel,
                caller_id=caller,
                lane="stack",
                started_at=t + 5 + i,
                ended_at=t + 15 + i,
                talk_time=10.0,
                ended_by="done",
            )
            await record_stack_event(
                session, room=room, at=t + 2 + i, kind="hand_raised", channel=channel,
                caller_id=caller, lane="stack",
            )  # fmt: skip
        if end:
            closing: list = [
                LegClosed(room, f"PJSIP/{room}-{i}", t + 60, 10.0, 1) for i in range(len(callers))
            ]
            await apply_effects(session, [*closing, CallClosed(room, t + 61)])
        call_id = await session.scalar(select(Call.id).where(Call.room_name == room))
    assert call_id is not None
    return call_id


async def test_a_turn_is_filed_under_the_rooms_open_call_and_its_leg(db: Database) -> None:
    call_id = await a_call(db, "ga", RECENT, ["5550101"], end=False)
    async with db.sessions() as session:
        [turn] = (await session.scalars(select(Turn))).all()
        leg = await session.scalar(select(Leg))
    assert leg is not None
    assert (turn.call_id, turn.leg_id, turn.lane, turn.talk_time) == (call_id, leg.id, "stack", 10)
    assert turn.ended_at - turn.started_at == timedelta(seconds=10)


async def test_nothing_is_filed_for_a_room_without_a_call(db: Database) -> None:
    async with db.sessions.begin() as session:
        turn = await record_turn(
            session, room="nowhere", channel="PJSIP/x-1", caller_id="1", lane="called",
            started_at=RECENT, ended_at=RECENT + 1, talk_time=1, ended_by="moderator",
        )  # fmt: skip
        event = await record_stack_event(session, room="nowhere", at=RECENT, kind="cleared")
    assert turn is None and event is None


async def test_a_turn_needs_a_known_lane(db: Database) -> None:
    async with db.sessions.begin() as session:
        with pytest.raises(ValueError, match="lane must be one of"):
            await record_turn(
                session, room="ga", channel="c", caller_id="1", lane="floor",  # type: ignore[arg-type]
                started_at=RECENT, ended_at=RECENT, talk_time=0, ended_by="",
            )  # fmt: skip


async def test_a_calls_history_loads_back_for_its_report(db: Database) -> None:
    call_id = await a_call(db, "ga", RECENT, ["5550101", "5550102"])
    stamp = datetime.fromtimestamp(RECENT + 3, UTC).astimezone()
    name = f"ga-{stamp:%Y%m%d-%H%M%S}.wav"
    async with db.sessions.begin() as session:
        await record_recording_start(
            session, room="ga", file_name=name, at=RECENT + 3, started_by="admin"
        )
    async with db.sessions() as session:
        history = await load_call(session, call_id)
        assert await load_call(session, call_id + 100) is None
    assert history is not None
    assert [leg.caller_id for leg in history.legs] == ["5550101", "5550102"]
    assert [t.caller_id for t in history.turns] == ["5550101", "5550102"]
    assert [e.kind for e in history.stack_events] == ["hand_raised", "hand_raised"]
    report = build_report(history, redact_caller_ids=False, now=NOW)
    assert report.talk.total_talk == 20 and report.talk.first_time_share == 1.0
    assert [(r.file, r.started_by, r.on_disk) for r in report.recordings] == [
        (name, "admin", False)
    ]


async def test_the_list_of_calls_is_newest_first_with_legs_and_talk(db: Database) -> None:
    older = await a_call(db, "ga", OLD, ["5550101"])
    newer = await a_call(db, "wg", RECENT, ["5550102", "5550103"])
    async with db.sessions() as session:
        listed = await list_calls(session)
        only_ga = await list_calls(session, room="ga")
    assert [(c.call.id, c.legs, c.talk_time) for c in listed] == [
        (newer, 2, 20.0),
        (older, 1, 10.0),
    ]
    assert [c.call.id for c in only_ga] == [older]


async def test_a_practice_rooms_calls_stay_out_of_the_list_and_get_a_debrief(db: Database) -> None:
    async with db.sessions.begin() as session:
        session.add(Room(name="drill", title="Drill", pin_hash="x" * 64, practice=True))
    real = await a_call(db, "ga", RECENT, ["5550101"])
    drill = await a_call(db, "drill", RECENT + 100, ["practice001", "practice002"])
    async with db.sessions() as session:
        listed = [c.call.id for c in await list_calls(session)]
        practice = [c.call.id for c in await list_calls(session, practice=True)]
        named = [c.call.id for c in await list_calls(session, room="drill")]
        history = await load_call(session, drill)
        real_history = await load_call(session, real)
    assert (listed, practice, named) == ([real], [drill], [drill])
    assert history is not None and real_history is not None
    report = build_report(history, redact_caller_ids=False, now=NOW)
    assert report.practice and report.debrief is not None
    # Each hand raised 2 s in and called on 3 s later (the turn began at +5 s).
    assert [h.waited for h in report.debrief.hands] == [3.0, 3.0]
    assert (report.debrief.called, report.debrief.never_called) == (2, 0)
    assert build_report(real_history, redact_caller_ids=False, now=NOW).debrief is None


async def test_a_label_given_in_the_call_and_a_known_caller_s_are_in_its_report(
    db: Database,
) -> None:
    call_id = await a_call(db, "ga", RECENT, ["5550101", "5550102", "5550103"], end=False)
    async with db.sessions.begin() as session:
        assert await label_open_leg(session, "ga", "PJSIP/ga-0", "=Alex, Oakland <b>")
        assert not await label_open_leg(session, "ga", "PJSIP/nobody-9", "Nobody")
        await store_known(session, [KnownCaller("5550102", "Sam", "Detroit")], IMPORTED,
                          replace=False)  # fmt: skip
        await apply_effects(
            session,
            [LegClosed("ga", f"PJSIP/ga-{i}", RECENT + 60, 10.0, 1) for i in range(3)]
            + [CallClosed("ga", RECENT + 61)],
        )
    async with db.sessions() as session:
        history = await load_call(session, call_id)
    assert history is not None
    report = build_report(history, redact_caller_ids=False, now=NOW)
    names = {p.who: p.name for p in report.presence}
    assert names == {"5550101": "=Alex, Oakland <b>", "5550102": "Sam, Detroit", "5550103": "N"}
    assert {s.name for s in report.talk.speakers} >= {"=Alex, Oakland <b>", "Sam, Detroit"}
    # Escaped where they are shown: a formula is not run by a spreadsheet, markup not read.
    assert "'=Alex, Oakland <b>" in report_csv(report)
    chart = talk_chart_svg(report)
    assert "Alex, Oakland &lt;b&gt;" in chart and "<b>" not in chart
    # A reader without the room's rights sees no names at all.
    hidden = build_report(history, redact_caller_ids=True, now=NOW)
    assert {p.name for p in hidden.presence} == {""}


async def test_the_purge_redacts_caller_ids_past_retention_and_nothing_newer(db: Database) -> None:
    old = await a_call(db, "ga", OLD, ["5550101", "5550102", "5550101"])
    recent = await a_call(db, "wg", RECENT, ["5550199"])
    live = await a_call(db, "live", OLD, ["5550177"], end=False)  # started long ago, still on
    async with db.sessions.begin() as session:
        result = await purge_history(session, retention_cutoff(NOW, 30), NOW)
    assert [(c.call_id, c.legs, c.turns, c.stack_events, c.caller_ids) for c in result.calls] == [
        (old, 3, 3, 3, 2)
    ]
    async with db.sessions() as session:
        legs = (await session.scalars(select(Leg).order_by(Leg.id))).all()
        turns = (await session.scalars(select(Turn).order_by(Turn.id))).all()
        events = (await session.scalars(select(StackEvent).order_by(StackEvent.id))).all()
        calls = {c.id: c for c in await session.scalars(select(Call))}
    by_call = lambda rows, call: [r.caller_id for r in rows if r.call_id == call]  # noqa: E731
    assert by_call(legs, old) == ["caller 1", "caller 2", "caller 1"]
    assert by_call(turns, old) == ["caller 1", "caller 2", "caller 1"]
    assert by_call(events, old) == ["caller 1", "caller 2", "caller 1"]
    assert all(leg.caller_name == "" for leg in legs if leg.call_id == old)
    assert by_call(legs, recent) == ["5550199"] and by_call(turns, recent) == ["5550199"]
    assert by_call(legs, live) == ["5550177"]
    assert [leg.caller_name for leg in legs if leg.call_id == recent] == ["N"]
    assert calls[old].redacted_at == NOW and calls[recent].redacted_at is None


async def test_a_second_purge_finds_nothing_to_do(db: Database) -> None:
    await a_call(db, "ga", OLD, ["5550101"])
    cutoff = retention_cutoff(NOW, 30)
    async with db.sessions.begin() as session:
        first = await purge_history(session, cutoff, NOW)
    async with db.sessions.begin() as session:
        second = await purge_history(session, cutoff, NOW)
    assert len(first.calls) == 1 and second.nothing_done
    assert first.lines()[0].startswith("call ")


async def test_the_purge_deletes_old_wrong_pins(db: Database) -> None:
    cutoff = retention_cutoff(NOW, 30)
    async with db.sessions.begin() as session:
        session.add_all(
            [
                PinFailure(source="address:198.51.100.1", at=cutoff - timedelta(days=1),
                           outcome="wrong-pin"),
                PinFailure(source="address:198.51.100.2", at=cutoff + timedelta(days=1),
                           outcome="wrong-pin"),
            ]
        )  # fmt: skip
    async with db.sessions.begin() as session:
        result = await purge_history(session, cutoff, NOW)
    async with db.sessions() as session:
        kept = (await session.scalars(select(PinFailure.source))).all()
    assert result.pin_failures_deleted == 1
    assert kept == ["address:198.51.100.2"]


async def test_the_moderators_actions_of_a_call_are_in_its_report_and_purged_with_it(
    db: Database,
) -> None:
    old = await a_call(db, "ga", OLD, ["5550101", "5550102"], end=False)
    async with db.sessions.begin() as session:
        for action, target in (("mute", "5550102"), ("lock", ""), ("kick", "5550999")):
            await add_action(
                session,
                ActionRecord(
                    room="ga", at=datetime.fromtimestamp(OLD + 20, UTC), actor="alice",
                    action=action, target_channel="PJSIP/ga-1" if target else "",
                    target_caller_id=target,
                ),
            )  # fmt: skip
        await apply_effects(session, [CallClosed("ga", OLD + 61)])

    async with db.sessions() as session:
        history = await load_call(session, old)
    assert history is not None
    assert [(a.moderator, a.action, a.target) for a in history.audit] == [
        ("alice", "mute", "5550102"),
        ("alice", "lock", ""),
        ("alice", "kick", "5550999"),
    ]

    async with db.sessions.begin() as session:
        await purge_history(session, retention_cutoff(NOW, 30), NOW)
    async with db.sessions() as session:
        targets = (
            await session.scalars(
                select(ModeratorAction.target_caller_id).order_by(ModeratorAction.id)
            )
        ).all()
    assert targets == ["caller 2", "", "redacted"]  # one nobody else in the call had
