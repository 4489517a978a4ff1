"""``iobridge rooms|moderators|lockouts|db``: what the admin types and reads.

Plain sync tests: the commands run ``asyncio.run`` themselves, which must not meet an event
loop already running. The database is the default SQLite file in IOBRIDGE_STATE_DIR.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from textwrap import dedent

import argon2
import pytest
from alembic.script import ScriptDirectory
from click.testing import CliRunner, Result
from sqlalchemy.ext.asyncio import AsyncSession

from bridge.cli import main
from bridge.domain.guard import Outcome, internet_source, trunk_source
from bridge.store.db import Database, alembic_config
from bridge.store.models import Call, PinFailure

# OWASP's minimum (19 MiB, 2 passes): the cheapest hash the rooms file accepts.
_HASHER = argon2.PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
HASH = _HASHER.hash("moderator-password")
PLAIN_PASSWORD = "correct-horse-battery"

VALID = f"""\
rooms:
  - name: ga
    title: General assembly
    pin: "731904"
    moderator_pin: "731905"
  - name: wg
    pin: "482211"
    queue: progressive
moderators:
  - username: alice
    password_hash: "{HASH}"
    rooms: ["*"]
"""

# Five problems (lines 4, 5, 6, 9, 10), one of them a password pasted in plain text.
BROKEN = f"""\
rooms:
  - name: ga
    title: General assembly
    pin: 731904
  - name: wg
    pni: "482211"
moderators:
  - username: alice
    password_hash: "{PLAIN_PASSWORD}"
    rooms: ["gaa"]
"""

Invoke = Callable[..., Result]


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    state = tmp_path / "state"
    monkeypatch.setenv("IOBRIDGE_STATE_DIR", str(state))
    monkeypatch.delenv("IOBRIDGE_DATABASE_URL", raising=False)
    return state


@pytest.fixture
def iobridge(state_dir: Path) -> Invoke:
    def invoke(*args: str) -> Result:
        return CliRunner().invoke(main, list(args))

    return invoke


@pytest.fixture
def database_file(state_dir: Path) -> Path:
    return state_dir / "iobridge.sqlite3"


def write(path: Path, text: str) -> Path:
    path.write_text(dedent(text))
    return path


def lines(text: str) -> list[str]:
    return text.strip().splitlines()


def listed_rooms(iobridge: Invoke, *options: str) -> list[list[str]]:
    """`rooms list` as rows of columns (header and the 'not running' note left out)."""
    result = iobridge("rooms", "list", *options)
    assert result.exit_code == 0, result.output
    out = lines(result.stdout)
    assert out[0].split()[:2] == ["ROOM", "LIVE"]
    assert out[-1] == "(the stack is not running: live counts unknown)"
    return [row.split() for row in out[1:-1]]


def run_db(database_file: Path, work: Callable[[AsyncSession], Awaitable[None]]) -> None:
    async def go() -> None:
        database = Database(f"sqlite+aiosqlite:///{database_file}")
        try:
            async with database.sessions.begin() as session:
                await work(session)
        finally:
            await database.dispose()

    asyncio.run(go())


def assert_clean_failure(result: Result) -> None:
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output


# --- rooms check ----------------------------------------------------------------------------


def test_check_a_valid_file(iobridge: Invoke, tmp_path: Path, database_file: Path) -> None:
    rooms = write(tmp_path / "rooms.yaml", VALID)

    result = iobridge("rooms", "check", str(rooms))

    assert result.exit_code == 0, result.output
    assert lines(result.output) == [f"{rooms}: OK (2 rooms, 1 moderator)"]
    assert not database_file.exists()  # a check never touches the database


def test_check_a_broken_file_names_every_problem(iobridge: Invoke, tmp_path: Path) -> None:
    rooms = write(tmp_path / "rooms.yaml", BROKEN)

    result = iobridge("rooms", "check", str(rooms))

    assert_clean_failure(result)
    assert result.stdout == ""
    problem = re.compile(rf"^{re.escape(str(rooms))}:(\d+): (\S+): (.+)$")
    found = [problem.match(line) for line in lines(result.stderr)]
    assert all(found), result.stderr
    assert [(int(m[1]), m[2]) for m in found if m] == [
        (4, "rooms[0].pin"),
        (5, "rooms[1].pin"),
        (6, "rooms[1].pni"),
        (9, "moderators[0].password_hash"),
        (10, "moderators[0].rooms"),
    ]
    assert PLAIN_PASSWORD not in result.output
    assert "did you mean 'pin'?" in result.stderr
    assert "did you mean 'ga'?" in result.stderr


TRUNK_CONF = """[anonymous]
type = endpoint
;[commented-trunk]
;type = endpoint
[carrier]
type = endpoint ; calls from the carrier's addresses
[carrier-identify]
type = identify
"""


@pytest.mark.parametrize("exposed", ["trunk", "ipv6"])
def test_check_refuses_pins_under_eight_digits_with_a_trunk_or_ipv6_configured(
    iobridge: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exposed: str
) -> None:
    rooms = write(tmp_path / "rooms.yaml", 'rooms:\n  - name: ga\n    pin: "424242"\n')
    assert iobridge("rooms", "check", str(rooms)).exit_code == 0  # neither: 6 digits do
    if exposed == "trunk":
        config = tmp_path / "asterisk-config"
        config.mkdir()
        write(config / "pjsip.conf", TRUNK_CONF)
        monkeypatch.setenv("IOBRIDGE_CONFIG_DIR", str(config))
        why = "a trunk is configured (carrier in pjsip.conf)"
    else:
        monkeypatch.setenv("IOBRIDGE_BIND_HOST", "::")
        why = "SIP listens on IPv6 (IOBRIDGE_BIND_HOST=::)"

    result = iobridge("rooms", "check", str(rooms))

    assert_clean_failure(result)
    assert lines(result.stderr) == [
        f"{rooms}:3: rooms[0].pin: must be at least 8 digits, got 6: {why}, so guessing is "
        'faster (docs/admin.md, "Guessing a PIN")'
    ]


def test_check_a_missing_file(iobridge: Invoke, tmp_path: Path) -> None:
    result = iobridge("rooms", "check", str(tmp_path / "nowhere.yaml"))
    assert_clean_failure(result)
    assert lines(result.stderr) == [
        f"{tmp_path / 'nowhere.yaml'}:0: file: cannot read the file: No such file or directory"
    ]


# --- rooms sync and list --------------------------------------------------------------------


def test_sync_dry_run_changes_nothing_then_sync_does(iobridge: Invoke, tmp_path: Path) -> None:
    rooms = write(tmp_path / "rooms.yaml", VALID)

    dry = iobridge("rooms", "sync", "--dry-run", str(rooms))

    assert dry.exit_code == 0, dry.output
    assert lines(dry.stdout) == [
        "+ room ga",
        "+ room wg",
        "+ moderator alice",
        "(dry run: nothing changed)",
    ]
    assert listed_rooms(iobridge, "--pins-from", str(rooms)) == []

    real = iobridge("rooms", "sync", str(rooms))

    assert real.exit_code == 0, real.output
    assert lines(real.stdout) == [
        "+ room ga",
        "+ room wg",
        "+ moderator alice",
        f"synced 2 rooms, 1 moderator from {rooms}",
    ]
    assert listed_rooms(iobridge, "--pins-from", str(rooms)) == [
        ["ga", "-", "500", "731904", "731905", "fifo", "file", "General", "assembly"],
        ["wg", "-", "500", "482211", "-", "progressive", "file", "wg"],
    ]
    again = iobridge("rooms", "sync", str(rooms))
    assert lines(again.stdout)[0] == "nothing to change"


def test_sync_reports_changes_and_removals_without_pins(iobridge: Invoke, tmp_path: Path) -> None:
    rooms = write(tmp_path / "rooms.yaml", VALID)
    assert iobridge("rooms", "sync", str(rooms)).exit_code == 0
    changed = write(
        tmp_path / "changed.yaml",
        """\
        rooms:
          - name: ga
            title: General assembly
            pin: "605512"
            moderator_pin: "731905"
            max_participants: 80
          - name: plenary
            pin: "482211"
        """,
    )

    dry = iobridge("rooms", "sync", "--dry-run", str(changed))

    assert dry.exit_code == 0, dry.output
    expected = [
        "+ room plenary",
        "~ room ga: pin (hidden), max_participants",
        "- room wg (retired; its history is kept)",
        "- moderator alice",
    ]
    assert lines(dry.stdout) == [*expected, "(dry run: nothing changed)"]
    assert [row[:4] for row in listed_rooms(iobridge, "--pins-from", str(rooms))] == [
        ["ga", "-", "500", "731904"],
        ["wg", "-", "500", "482211"],
    ]

    real = iobridge("rooms", "sync", str(changed))

    assert real.exit_code == 0, real.output
    assert lines(real.stdout) == [*expected, f"synced 2 rooms, 0 moderators from {changed}"]
    for pin in ("731904", "605512", "482211", "731905"):
        assert pin not in real.output
    assert [row[:4] for row in listed_rooms(iobridge, "--pins-from", str(changed))] == [
        ["ga", "-", "80", "605512"],
        ["plenary", "-", "500", "482211"],
    ]
    # From the old file: the database no longer has ga's PIN of then.
    assert listed_rooms(iobridge, "--pins-from", str(rooms))[0][3:6] == ["(not", "the", "file's)"]


def test_sync_of_a_broken_file_changes_nothing(
    iobridge: Invoke, tmp_path: Path, database_file: Path
) -> None:
    broken = write(tmp_path / "broken.yaml", BROKEN)
    first = iobridge("rooms", "sync", str(broken))
    assert_clean_failure(first)
    assert not database_file.exists()

    assert iobridge("rooms", "sync", str(write(tmp_path / "rooms.yaml", VALID))).exit_code == 0
    valid = tmp_path / "rooms.yaml"
    before = listed_rooms(iobridge, "--pins-from", str(valid))

    result = iobridge("rooms", "sync", str(broken))

    assert_clean_failure(result)
    assert result.stdout == ""
    assert len(lines(result.stderr)) == 5
    assert all(line.startswith(f"{broken}:") for line in lines(result.stderr))
    assert PLAIN_PASSWORD not in result.output
    assert listed_rooms(iobridge, "--pins-from", str(valid)) == before


def test_sync_refused_while_a_removed_room_has_a_call(
    iobridge: Invoke, tmp_path: Path, database_file: Path
) -> None:
    assert iobridge("rooms", "sync", str(write(tmp_path / "rooms.yaml", VALID))).exit_code == 0

    async def live_call(session: AsyncSession) -> None:
        session.add(Call(room_name="wg", started_at=datetime.now(UTC)))

    run_db(database_file, live_call)
    valid = tmp_path / "rooms.yaml"
    before = listed_rooms(iobridge, "--pins-from", str(valid))
    without_wg = write(
        tmp_path / "without-wg.yaml",
        """\
        rooms:
          - name: ga
            title: Renamed
            pin: "731904"
        """,
    )

    result = iobridge("rooms", "sync", str(without_wg))

    assert_clean_failure(result)
    assert result.stdout == ""
    [message] = lines(result.stderr)
    assert message.startswith(f"iobridge: {without_wg}: sync refused, nothing changed: ")
    assert "wg" in message
    assert listed_rooms(iobridge, "--pins-from", str(valid)) == before


def test_rooms_list_hides_pins_by_default(iobridge: Invoke, tmp_path: Path) -> None:
    assert iobridge("rooms", "sync", str(write(tmp_path / "rooms.yaml", VALID))).exit_code == 0

    result = iobridge("rooms", "list")

    assert result.exit_code == 0, result.output
    for pin in ("731904", "731905", "482211"):
        assert pin not in result.output
    assert listed_rooms(iobridge) == [
        ["ga", "-", "500", "****", "****", "fifo", "file", "General", "assembly"],
        ["wg", "-", "500", "****", "-", "progressive", "file", "wg"],
    ]


def test_rooms_list_on_an_empty_database(iobridge: Invoke) -> None:
    assert iobridge("db", "upgrade").exit_code == 0
    assert listed_rooms(iobridge) == []


# --- moderators -----------------------------------------------------------------------------


def test_hash_password_prints_an_argon2id_hash(iobridge: Invoke) -> None:
    result = CliRunner().invoke(main, ["moderators", "hash-password"], input="x\n")

    assert result.exit_code == 0, result.output
    hashed = lines(result.stdout)[-1]
    assert hashed.startswith("$argon2id$")
    assert argon2.PasswordHasher().verify(hashed, "x")
    with pytest.raises(argon2.exceptions.VerifyMismatchError):
        argon2.PasswordHasher().verify(hashed, "y")


def test_hash_password_asks_twice_without_echo(
    iobridge: Invoke, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bridge.cli.rooms.stdin_is_terminal", lambda: True)
    result = CliRunner().invoke(main, ["moderators", "hash-password"], input="s3cret\ns3cret\n")
    assert result.exit_code == 0, result.output
    assert "s3cret" not in result.output
    assert argon2.PasswordHasher().verify(lines(result.stdout)[-1], "s3cret")


def test_hash_password_refuses_an_empty_password(iobridge: Invoke) -> None:
    result = CliRunner().invoke(main, ["moderators", "hash-password"], input="\n")
    assert_clean_failure(result)
    assert lines(result.stderr) == ["iobridge: an empty password cannot be hashed"]


def test_a_hashed_password_makes_a_valid_rooms_file(iobridge: Invoke, tmp_path: Path) -> None:
    hashed = lines(CliRunner().invoke(main, ["moderators", "hash-password"], input="x").stdout)[-1]
    rooms = write(tmp_path / "rooms.yaml", VALID.replace(HASH, hashed))
    assert iobridge("rooms", "check", str(rooms)).exit_code == 0


# --- lockouts -------------------------------------------------------------------------------


def test_show_pins_says_in_one_line_that_the_database_cannot(
    iobridge: Invoke, tmp_path: Path, database_file: Path
) -> None:
    assert iobridge("rooms", "sync", str(write(tmp_path / "rooms.yaml", VALID))).exit_code == 0
    result = iobridge("rooms", "list", "--show-pins")
    assert_clean_failure(result)
    assert lines(result.stderr) == [
        "iobridge: the database keeps only keyed hashes of the PINs, which cannot be shown; "
        "show them from your rooms file: iobridge rooms list --pins-from FILE"
    ]
    with sqlite3.connect(database_file) as connection:
        dumped = "\n".join(connection.iterdump())
    for pin in ("731904", "731905", "482211"):
        assert pin not in dumped  # a stolen copy of the database hands out no room


def test_lockouts_list_and_clear(iobridge: Invoke, database_file: Path) -> None:
    assert iobridge("db", "upgrade").exit_code == 0
    assert lines(iobridge("lockouts", "list").stdout) == ["no source is held back"]
    guesser = internet_source("198.51.100.7")
    trunk_caller = trunk_source("provider", "+15551230001")

    async def guessed(session: AsyncSession) -> None:
        now = datetime.now(UTC)
        for _ in range(10):  # the default budget: refused
            session.add(PinFailure(source=str(guesser), at=now, outcome=Outcome.WRONG_PIN))
        session.add(PinFailure(source=str(trunk_caller), at=now, outcome=Outcome.ROOM_LOCKED))

    run_db(database_file, guessed)

    listed = iobridge("lockouts", "list")
    assert listed.exit_code == 0, listed.output
    rows = lines(listed.stdout)
    assert [row.split()[0] for row in rows] == [
        "address:198.51.100.7",
        "caller-id:provider/+15551230001",
    ]
    assert re.search(r" refused until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(10 failed PINs\)$", rows[0])
    assert re.search(r" slowed until .* \(1 failed PINs\)$", rows[1])
    as_json = json.loads(iobridge("lockouts", "list", "--json").stdout)
    assert [(h["source"], h["refused"]) for h in as_json] == [
        ("address:198.51.100.7", True),
        ("caller-id:provider/+15551230001", False),
    ]

    cleared = iobridge("lockouts", "clear", "198.51.100.7")
    assert cleared.exit_code == 0, cleared.output
    assert lines(cleared.stdout) == ["hold on address:198.51.100.7 lifted"]
    assert lines(iobridge("lockouts", "clear", "address:198.51.100.7").stdout) == [
        "address:198.51.100.7 was not held back"
    ]
    assert lines(iobridge("lockouts", "clear", "caller-id:provider/+15551230001").stdout) == [
        "hold on caller-id:provider/+15551230001 lifted"
    ]
    assert lines(iobridge("lockouts", "list").stdout) == ["no source is held back"]
    bad = iobridge("lockouts", "clear", "anonymous")
    assert_clean_failure(bad)


# --- db -------------------------------------------------------------------------------------


def test_db_upgrade_creates_the_schema_and_is_idempotent(
    iobridge: Invoke, database_file: Path
) -> None:
    first = iobridge("db", "upgrade")
    assert first.exit_code == 0, first.output
    assert lines(first.stdout) == ["database is up to date"]
    assert database_file.exists()

    again = iobridge("db", "upgrade")
    assert again.exit_code == 0, again.output
    assert lines(again.stdout) == ["database is up to date"]

    with sqlite3.connect(database_file) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        version = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    assert {"rooms", "moderators", "pin_failures", "pin_key", "calls", "legs"} <= tables
    assert not {"pin_attempts", "lockouts"} & tables
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert version == [(head,)]
    assert "rooms_revision" in tables


def test_check_warns_about_a_short_pin_and_refuses_a_title_too_long_for_the_database(
    iobridge: Invoke, tmp_path: Path
) -> None:
    short = write(tmp_path / "short.yaml", 'rooms:\n  - name: ga\n    pin: "4242"\n')
    result = iobridge("rooms", "check", str(short))
    assert result.exit_code == 0, result.output  # a warning, not a failure
    [warning] = lines(result.stderr)
    assert warning.startswith(f"{short}:3: rooms[0].pin: warning: a PIN of 4 digits is found in")
    assert "4242" not in result.output
    synced = iobridge("rooms", "sync", str(short))
    assert synced.exit_code == 0 and lines(synced.stderr) == [warning]

    long_title = write(
        tmp_path / "long.yaml",
        f'rooms:\n  - name: ga\n    pin: "424242"\n    title: "{"t" * 201}"\n',
    )
    refused = iobridge("rooms", "check", str(long_title))
    assert_clean_failure(refused)
    assert lines(refused.stderr) == [
        f"{long_title}:4: rooms[0].title: must be at most 200 characters, got 201"
    ]


def test_check_warns_when_the_rooms_can_outgrow_the_rtp_ports(
    iobridge: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rooms = write(tmp_path / "rooms.yaml", VALID)  # two rooms of 500: 1,000 callers
    monkeypatch.setenv("IOBRIDGE_RTP_PORT_START", "20000")
    monkeypatch.setenv("IOBRIDGE_RTP_PORT_END", "20999")  # 500 calls

    result = iobridge("rooms", "check", str(rooms))

    assert result.exit_code == 0, result.output  # a warning, not a failure
    assert lines(result.stdout) == [f"{rooms}: OK (2 rooms, 1 moderator)"]
    assert lines(result.stderr) == [
        f"{rooms}: warning: rooms: max_participants add up to 1,000 callers, but Asterisk's "
        "RTP ports 20000-20999 carry 500 calls (2 ports each); set "
        "IOBRIDGE_RTP_PORT_START/IOBRIDGE_RTP_PORT_END to a range of at least 2,000 ports, "
        "or lower max_participants"
    ]


def test_list_says_which_rooms_were_opened_on_demand(
    iobridge: Invoke, tmp_path: Path, database_file: Path
) -> None:
    from bridge.domain.rooms import RoomSpec
    from bridge.settings import Settings
    from bridge.store.pin_key import install_pin_key
    from bridge.store.rooms_on_demand import add_room_on_demand

    assert iobridge("rooms", "sync", str(write(tmp_path / "rooms.yaml", VALID))).exit_code == 0
    key = install_pin_key(Settings(state_dir=database_file.parent))
    spec = RoomSpec(name="pop-up-0001", title="Pop up", pin="12345678", moderator_pin="87654321")
    closes = datetime(2030, 1, 1, tzinfo=UTC)

    async def add(session: AsyncSession) -> None:
        await add_room_on_demand(session, spec, key, closes_at=closes, opened_by="admin")

    run_db(database_file, add)
    result = iobridge("rooms", "list")
    row = next(line.split() for line in lines(result.stdout) if line.startswith("pop-up-0001"))
    assert row[6] == "on-demand"
    assert "a sync never touches it" in result.stdout
