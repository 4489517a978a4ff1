"""Closed polls in a call's history: filed under the room's open call with their counts
(never who blocked), read back for the call's report, and gone when a host purges the call."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from bridge.domain.polls import DEFAULT_OPTIONS, Poll, Voter
from bridge.reports import build_report
from bridge.service.reports import CallReports
from bridge.store.db import Database
from bridge.store.models import Call
from bridge.store.polls import PollResult, polls_of_call, record_poll
from bridge.store.reports import load_call
from tests.store.test_report_history import RECENT, a_call


async def test_a_closed_poll_is_kept_with_its_counts_and_purged_with_its_call(
    db: Database, tmp_path: Path
) -> None:
    call = await a_call(db, "ga", RECENT, ["5550101"])
    poll = Poll.open("ga", "Adopt it?", DEFAULT_OPTIONS, True, RECENT + 5)
    poll.press(Voter("PJSIP/a-1", "5550101", "Ana"), "9")
    poll.close(RECENT + 30)
    async with db.sessions.begin() as session:
        (await session.get_one(Call, call)).ended_at = None  # the call goes on
        assert await record_poll(session, poll.tally(), present=3) is not None
    async with db.sessions() as session:
        [kept] = await polls_of_call(session, call)
    assert (kept.question, kept.voters, kept.present) == ("Adopt it?", 1, 3)
    assert json.loads(kept.options)[-1] == {"key": "9", "label": "block", "count": 1}
    assert "5550101" not in kept.options

    async with db.sessions.begin() as session:
        (await session.get_one(Call, call)).ended_at = kept.closed_at
    await CallReports(db, tmp_path, retention_days=30).purge_call(call, "bob")
    async with db.sessions() as session:
        left = await session.scalar(select(func.count()).select_from(PollResult))
    assert left == 0


async def test_a_calls_closed_polls_are_read_back_for_its_report_oldest_first(db: Database) -> None:
    call = await a_call(db, "ga-polls", RECENT, ["5550101", "5550102"], end=False)
    later = Poll.open("ga-polls", "Break now?", ("yes", "no"), False, RECENT + 40)
    later.press(Voter("PJSIP/ga-polls-1", "5550102", ""), "2")
    later.close(RECENT + 50)
    first = Poll.open("ga-polls", "Adopt it?", DEFAULT_OPTIONS, True, RECENT + 5)
    first.press(Voter("PJSIP/ga-polls-0", "5550101", "Ana"), "9")
    first.press(Voter("PJSIP/ga-polls-1", "5550102", ""), "1")
    first.close(RECENT + 30)
    async with db.sessions.begin() as session:
        await record_poll(session, later.tally(), present=2)  # kept first, opened later
        await record_poll(session, first.tally(), present=2)
    async with db.sessions() as session:
        history = await load_call(session, call)
    assert history is not None
    report = build_report(history, redact_caller_ids=False, now=datetime.now(UTC))
    [adopt, pause] = report.polls
    assert (adopt.question, adopt.voters, adopt.present, adopt.blocks) == ("Adopt it?", 2, 2, 1)
    assert [(o.key, o.label, o.count) for o in adopt.options] == [
        ("1", "agree", 1),
        ("2", "unsure", 0),
        ("3", "disagree", 0),
    ]
    assert adopt.opened_at == datetime.fromtimestamp(RECENT + 5, UTC)
    assert adopt.closed_at == datetime.fromtimestamp(RECENT + 30, UTC)
    assert (pause.question, pause.blocks, [o.count for o in pause.options]) == (
        "Break now?",
        None,
        [0, 1],
    )
