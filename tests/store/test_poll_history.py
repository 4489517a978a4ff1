"""Closed polls in a call's history: filed under the room's open call with their counts
(never who blocked), and gone when a host purges the call."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select

from bridge.domain.polls import DEFAULT_OPTIONS, Poll, Voter
from bridge.service.reports import CallReports
from bridge.store.db import Database
from bridge.store.models import Call
from bridge.store.polls import PollResult, polls_of_call, record_poll
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
