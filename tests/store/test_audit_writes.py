"""The audit trail answers before its row is written: the action's outcome goes to the
panels at once, the row follows in order, and whoever reads the trail waits for it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import BaseModel

from bridge.domain.roster import Switchboard
from bridge.service import audit
from bridge.service.audit import AuditTrail
from bridge.store.audit import ActionRecord
from bridge.store.db import Database


class Mute(BaseModel):
    channel: str


async def test_an_action_is_answered_before_its_row_is_written_and_read_after_it(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = asyncio.Event()
    real_add = audit.add_action

    async def slow_add(session: Any, record: ActionRecord) -> None:
        await disk.wait()  # the disk is slow today
        await real_add(session, record)

    monkeypatch.setattr(audit, "add_action", slow_add)
    trail = AuditTrail(db, Switchboard())

    async def done() -> dict[str, Any]:
        return {"ok": True}

    async with trail.changes.subscribe("a panel") as heard:
        for name in ("mute", "unmute"):
            answer = trail.perform("alice", "e2e-open", name, Mute(channel="PJSIP/a-1"), done)
            assert await asyncio.wait_for(answer, timeout=2) == {"ok": True}
        assert heard.queue.get_nowait() == "e2e-open"  # the panels heard at once

    reading = asyncio.ensure_future(trail.of_room("e2e-open", 10))
    await asyncio.sleep(0.05)
    assert not reading.done()  # a reader waits for the rows still being written
    disk.set()
    rows = await asyncio.wait_for(reading, timeout=5)
    assert [row.action for row in rows] == ["unmute", "mute"]  # newest first, both kept
