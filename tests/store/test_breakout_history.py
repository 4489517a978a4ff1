"""Breakout stints in a call's history: filed under the room's open call, read back for
its report, their caller IDs made pseudonyms and names blanked by the retention purge, and
gone when a host purges the call."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from bridge.domain.breakouts import StintEnded
from bridge.domain.privacy import retention_cutoff
from bridge.reports import build_report
from bridge.service.reports import CallReports
from bridge.store.breakouts import BreakoutStint, record_stints, stints_of_call
from bridge.store.db import Database
from bridge.store.models import Call
from bridge.store.reports import load_call
from bridge.store.retention import purge_history
from tests.store.test_report_history import NOW, OLD, RECENT, a_call


def stint(room: str, group: str, caller_id: str, start: float, end: float) -> StintEnded:
    return StintEnded(room, group, f"PJSIP/{caller_id}", caller_id, "Ana", start, end)


async def test_stints_are_kept_under_the_open_call_read_back_and_purged_with_it(
    db: Database, tmp_path: Path
) -> None:
    call = await a_call(db, "ga-brk", RECENT, ["5550101", "5550102"], end=False)
    async with db.sessions.begin() as session:
        written = await record_stints(
            session,
            [
                stint("ga-brk", "group-1", "5550101", RECENT + 10, RECENT + 70),
                stint("nowhere", "group-1", "5550199", RECENT, RECENT + 1),  # no open call
            ],
        )
    assert written == 1
    async with db.sessions() as session:
        history = await load_call(session, call)
    assert history is not None
    [line] = build_report(history, redact_caller_ids=False, now=datetime.now(UTC)).breakouts
    assert (line.group, line.who, line.name, line.seconds) == ("group-1", "5550101", "Ana", 60.0)

    async with db.sessions.begin() as session:
        (await session.get_one(Call, call)).ended_at = datetime.fromtimestamp(RECENT + 90, UTC)
    await CallReports(db, tmp_path, retention_days=30).purge_call(call, "bob")
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(BreakoutStint)) == 0


async def test_the_retention_purge_makes_stints_caller_ids_pseudonyms_and_blanks_names(
    db: Database,
) -> None:
    call = await a_call(db, "ga-old", OLD, ["5550101"], end=False)
    async with db.sessions.begin() as session:
        await record_stints(session, [stint("ga-old", "group-2", "5550101", OLD + 1, OLD + 30)])
        (await session.get_one(Call, call)).ended_at = datetime.fromtimestamp(OLD + 61, UTC)
    async with db.sessions.begin() as session:
        await purge_history(session, retention_cutoff(NOW, 30), NOW)
    async with db.sessions() as session:
        [kept] = await stints_of_call(session, call)
    assert kept.caller_id != "5550101" and "5550101" not in kept.caller_id
    assert kept.name == ""
