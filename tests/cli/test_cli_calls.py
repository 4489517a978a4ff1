"""``iobridge calls list|report`` and ``iobridge history purge``, on the state folder's SQLite.

Plain sync tests: the commands run ``asyncio.run`` themselves."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bridge.cli import main
from bridge.domain.events import Role
from bridge.domain.roster import CallClosed, CallOpened, LegClosed, LegOpened
from bridge.store.db import Database, upgrade
from bridge.store.history import apply_effects

LONG_AGO = (datetime.now(UTC) - timedelta(days=45)).timestamp()
LATELY = (datetime.now(UTC) - timedelta(days=1)).timestamp()


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    state = tmp_path / "state"
    monkeypatch.setenv("IOBRIDGE_STATE_DIR", str(state))
    monkeypatch.delenv("IOBRIDGE_DATABASE_URL", raising=False)
    monkeypatch.delenv("IOBRIDGE_HISTORY_RETENTION_DAYS", raising=False)
    return state


def iobridge(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def a_call(state_dir: Path, room: str, t: float, callers: dict[str, float]) -> None:
    """A finished call: each caller (caller ID -> talk time) stays 120 s, one turn each."""

    async def go() -> None:
        url = f"sqlite+aiosqlite:///{state_dir / 'iobridge.sqlite3'}"
        await upgrade(url)
        database = Database(url)
        effects: list = [CallOpened(room, t)]
        for i, caller in enumerate(callers):
            channel = f"PJSIP/{room}-{caller}"
            effects.append(LegOpened(room, channel, caller, Role.PARTICIPANT, t + i))
        for caller, talk in callers.items():
            effects.append(LegClosed(room, f"PJSIP/{room}-{caller}", t + 120, talk, 1))
        effects.append(CallClosed(room, t + 121))
        try:
            async with database.sessions.begin() as session:
                await apply_effects(session, effects)
        finally:
            await database.dispose()

    asyncio.run(go())


def test_calls_list_shows_calls_newest_first(state_dir: Path) -> None:
    a_call(state_dir, "ga", LONG_AGO, {"5550101": 30.0})
    a_call(state_dir, "wg", LATELY, {"5550102": 10.0, "5550103": 20.0})
    result = iobridge("calls", "list")
    assert result.exit_code == 0, result.output
    header, newer, older = result.output.strip().splitlines()
    assert header.split() == ["CALL", "ROOM", "STARTED", "LENGTH", "LEGS", "TALK"]
    assert newer.split()[:2] == ["2", "wg"]
    assert newer.split()[-4:] == ["2:01", "2", "30", "s"]  # length, legs, talk
    assert older.split()[:2] == ["1", "ga"]


def test_calls_list_as_json(state_dir: Path) -> None:
    a_call(state_dir, "ga", LATELY, {"5550101": 30.0})
    result = iobridge("calls", "list", "--json")
    assert result.exit_code == 0, result.output
    [call] = json.loads(result.output)["calls"]
    assert (call["id"], call["room"], call["legs"], call["talk_time"]) == (1, "ga", 1, 30.0)


def test_calls_report_prints_who_spoke_and_for_how_long(state_dir: Path) -> None:
    a_call(state_dir, "ga", LATELY, {"5550101": 90.0, "5550102": 30.0})
    result = iobridge("calls", "report", "1")
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith("Call 1 in room ga: ")
    assert "Talk time: 2:00 among 2 speakers. First-time speakers: 100 % of the talk" in out
    assert "5550101" in out and "75 %" in out


def test_calls_report_as_json_and_csv(state_dir: Path) -> None:
    a_call(state_dir, "ga", LATELY, {"5550101": 90.0})
    report = json.loads(iobridge("calls", "report", "1", "--json").output)
    assert report["caller_ids"] == "full"
    assert report["talk"]["speakers"][0]["who"] == "5550101"
    rows = list(csv.DictReader(io.StringIO(iobridge("calls", "report", "1", "--csv").output)))
    assert [r["section"] for r in rows][:2] == ["call", "presence"]


def test_a_report_of_an_unknown_call_fails_in_one_line(state_dir: Path) -> None:
    a_call(state_dir, "ga", LATELY, {"5550101": 1.0})
    result = iobridge("calls", "report", "99")
    assert result.exit_code == 1
    assert result.output.strip() == "iobridge: no call 99 in the history"


def test_history_purge_redacts_old_calls_and_says_so(state_dir: Path) -> None:
    a_call(state_dir, "ga", LONG_AGO, {"5550101": 30.0, "5550102": 5.0})
    a_call(state_dir, "wg", LATELY, {"5550103": 10.0})
    result = iobridge("history", "purge")
    assert result.exit_code == 0, result.output
    out = result.output.strip().splitlines()
    assert out[0].startswith("retention 30 days: redacting calls that ended before ")
    assert out[1].strip().startswith("call 1 (room ga, ended ")
    assert "2 caller IDs replaced in 2 legs, 0 turns, 0 stack events" in out[1]
    old = json.loads(iobridge("calls", "report", "1", "--json").output)
    assert [p["who"] for p in old["presence"]] == ["caller 1", "caller 2"]
    assert old["caller_ids"] == "pseudonyms"
    new = json.loads(iobridge("calls", "report", "2", "--json").output)
    assert [p["who"] for p in new["presence"]] == ["5550103"]
    assert iobridge("history", "purge").output.strip().endswith("nothing to redact")


def test_the_retention_period_is_a_setting(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a_call(state_dir, "wg", LATELY, {"5550103": 10.0})
    monkeypatch.setenv("IOBRIDGE_HISTORY_RETENTION_DAYS", "0")
    result = iobridge("history", "purge")
    assert "call 1 (room wg" in result.output
