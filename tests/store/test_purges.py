"""What the purges leave: the retention purge takes caller IDs out of saved stacks and of
audit rows outside any call too; recordings go after their own retention, their calls
saying when; a host's purge of one call deletes its history and recordings, keeps the
call's row with when, and leaves one audit row saying who (which a later purge keeps)."""

from __future__ import annotations

import json
import os
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bridge.domain.privacy import retention_cutoff
from bridge.errors import ActionRefused, NoSuchCall
from bridge.recordings import recording_name
from bridge.service.reports import CallReports
from bridge.store.audit import ActionRecord, actions_of_call, add_action
from bridge.store.db import Database
from bridge.store.models import Call, Leg, ModeratorAction, SavedStack, StackEvent, Turn
from bridge.store.retention import purge_history
from bridge.store.stacks import save_stack
from tests.store.test_report_history import NOW, OLD, RECENT, a_call


async def test_the_retention_purge_deletes_the_saved_stack_of_a_call_it_redacts(
    db: Database,
) -> None:
    old = await a_call(db, "ga", OLD, ["5550101"], end=False)
    live = await a_call(db, "wg", OLD, ["5550177"], end=False)
    async with db.sessions.begin() as session:
        for room in ("ga", "wg"):
            assert await save_stack(session, room, {"queue": [{"caller_id": "5550101"}]})
        (await session.get(Call, old)).ended_at = datetime.fromtimestamp(OLD + 61, UTC)  # type: ignore[union-attr]
    async with db.sessions.begin() as session:
        await purge_history(session, retention_cutoff(NOW, 30), NOW)
    async with db.sessions() as session:
        kept = (await session.scalars(select(SavedStack.call_id))).all()
    assert kept == [live]


async def test_audit_rows_outside_any_call_lose_their_caller_id_past_retention(
    db: Database,
) -> None:
    async with db.sessions.begin() as session:
        for at in (OLD, RECENT):  # a kick of the last caller: the call had ended already
            await add_action(
                session,
                ActionRecord(
                    room="ga", at=datetime.fromtimestamp(at, UTC), actor="alice",
                    action="kick", target_channel="PJSIP/ga-1", target_caller_id="5550101",
                ),
            )  # fmt: skip
    async with db.sessions.begin() as session:
        result = await purge_history(session, retention_cutoff(NOW, 30), NOW)
    async with db.sessions() as session:
        rows = (await session.scalars(select(ModeratorAction).order_by(ModeratorAction.at))).all()
    assert [(r.call_id, r.target_caller_id) for r in rows] == [
        (None, "redacted"),
        (None, "5550101"),
    ]
    assert result.audit_rows_redacted == 1
    assert "1 audit rows outside a call redacted" in result.lines()


def a_recording(folder: Path, room: str, at: float, written: float) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / recording_name(room, datetime.fromtimestamp(at).astimezone())
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"\0\0" * 800)
    os.utime(path, (written, written))
    return path


async def test_recordings_go_after_their_retention_and_their_call_says_when(
    db: Database, tmp_path: Path
) -> None:
    old = await a_call(db, "ga", OLD, ["5550101"])
    recent = await a_call(db, "wg", RECENT, ["5550199"])
    gone = a_recording(tmp_path, "ga", OLD + 3, written=OLD + 60)
    kept = a_recording(tmp_path, "wg", RECENT + 3, written=RECENT + 60)
    reports = CallReports(db, tmp_path, retention_days=30, recording_retention_days=10)
    result = await reports.purge(NOW)
    assert result.recordings_deleted == (gone.name,) and not gone.exists() and kept.exists()
    assert f"recording {gone.name} deleted" in result.lines()
    old_report = await reports.report(old, redact_caller_ids=False)
    assert old_report.call.recordings_purged_at == NOW
    assert (await reports.report(recent, redact_caller_ids=False)).call.recordings_purged_at is None


async def count(db: Database, model: type, call_id: int) -> int:
    async with db.sessions() as session:
        return int(
            await session.scalar(select(func.count()).where(model.call_id == call_id)) or 0  # type: ignore[attr-defined]
        )


async def test_a_host_purges_one_call_and_the_trail_keeps_who_and_when(
    db: Database, tmp_path: Path
) -> None:
    call = await a_call(db, "ga", RECENT, ["5550101", "5550102"])
    other = await a_call(db, "wg", RECENT, ["5550199"])
    async with db.sessions.begin() as session:
        at = datetime.fromtimestamp(RECENT + 20, UTC)
        record = ActionRecord("ga", at, "alice", "mute", target_caller_id="5550101", call_id=call)
        await add_action(session, record)
    recording = a_recording(tmp_path, "ga", RECENT + 3, written=RECENT + 60)
    elsewhere = a_recording(tmp_path, "wg", RECENT + 3, written=RECENT + 60)
    reports = CallReports(db, tmp_path, retention_days=30)

    done = await reports.purge_call(call, "bob")

    assert (done.call.legs, done.call.turns, done.call.stack_events, done.call.audit_rows) == (
        2, 2, 2, 1,
    )  # fmt: skip
    assert done.recordings == (recording.name,) and not recording.exists() and elsewhere.exists()
    for model in (Leg, Turn, StackEvent):
        assert await count(db, model, call) == 0 and await count(db, model, other) == 1
    async with db.sessions() as session:
        [trail] = await actions_of_call(session, call)
    assert (trail.actor, trail.action, trail.at) == ("bob", "purge call", done.at)
    assert json.loads(trail.arguments) == {"call": call}
    report = await reports.report(call, redact_caller_ids=False)
    assert report.call.purged_at == done.at == report.call.recordings_purged_at
    assert report.presence == [] and report.turns == [] and report.recordings == []
    assert "5550101" not in report.model_dump_json()

    with pytest.raises(ActionRefused, match="was purged on"):
        await reports.purge_call(call, "bob")
    with pytest.raises(NoSuchCall):
        await reports.purge_call(987654, "bob")
    async with db.sessions.begin() as session:  # years later, the retention purge keeps it
        await purge_history(session, retention_cutoff(NOW + timedelta(days=3650), 30), NOW)
    async with db.sessions() as session:
        assert [a.action for a in await actions_of_call(session, call)] == ["purge call"]


async def test_a_call_still_going_on_is_not_purged(db: Database, tmp_path: Path) -> None:
    live = await a_call(db, "ga", RECENT, ["5550101"], end=False)
    with pytest.raises(ActionRefused, match="still going on"):
        await CallReports(db, tmp_path, retention_days=30).purge_call(live, "bob")
    assert await count(db, Leg, live) == 1
