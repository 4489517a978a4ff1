"""``iobridge db backup`` and ``db restore``: a consistent copy while the database is being
written, and a restore that refuses, in one line and changing nothing, a file that is not
an io-bridge database, a backup whose PINs need another key, and a running io-bridge."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bridge.cli import main
from tests.cli.test_cli_rooms import VALID

Invoke = Callable[..., Result]
OTHER_ROOMS = VALID.replace("name: wg", "name: housing").replace("482211", "482299")


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


def run_in(state: Path, *args: str, **env: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"IOBRIDGE_STATE_DIR": str(state), **env})


@pytest.fixture
def iobridge(state: Path) -> Invoke:
    return lambda *args, **env: run_in(state, *args, **env)


@pytest.fixture
def synced(iobridge: Invoke, tmp_path: Path, state: Path) -> Path:
    """A state folder whose database holds the rooms ga and wg; returns the database."""
    rooms = tmp_path / "rooms.yaml"
    rooms.write_text(VALID)
    assert iobridge("rooms", "sync", str(rooms)).exit_code == 0
    return state / "iobridge.sqlite3"


def rooms_in(database: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(database)) as db:
        return [row[0] for row in db.execute("SELECT name FROM rooms ORDER BY name")]


def fingerprint(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_line(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0].removeprefix("iobridge: ")


def test_a_backup_taken_while_a_writer_holds_the_database_has_its_last_commit(
    iobridge: Invoke, synced: Path, tmp_path: Path
) -> None:
    # The writer's last commit is only in the -wal file (no checkpoint): cp would miss it.
    with contextlib.closing(sqlite3.connect(synced)) as writer:
        writer.execute("PRAGMA wal_autocheckpoint=0")
        writer.execute("UPDATE rooms SET title = 'renamed' WHERE name = 'wg'")
        writer.commit()
        assert Path(f"{synced}-wal").stat().st_size > 0
        result = iobridge("db", "backup", str(tmp_path / "nightly.sqlite3"))
    assert result.exit_code == 0, result.output
    assert f"to {tmp_path / 'nightly.sqlite3'}" in result.stdout
    assert "keep " in result.stdout and "pin-key with it" in result.stdout
    backup = tmp_path / "nightly.sqlite3"
    with contextlib.closing(sqlite3.connect(backup)) as copy:
        assert copy.execute("SELECT title FROM rooms WHERE name = 'wg'").fetchone() == ("renamed",)
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    assert oct(backup.stat().st_mode & 0o777) == "0o600"
    assert not list(tmp_path.glob(".nightly*"))  # no partial file left


def test_a_backup_into_a_folder_that_does_not_exist_is_one_line_and_writes_nothing(
    iobridge: Invoke, synced: Path, tmp_path: Path
) -> None:
    target = tmp_path / "no-such-folder" / "b.sqlite3"
    line = one_line(iobridge("db", "backup", str(target)))
    assert line == f"{target}: the folder {target.parent} does not exist"
    assert not target.parent.exists()


def test_a_backup_of_a_state_folder_without_a_database_says_so(
    iobridge: Invoke, state: Path, tmp_path: Path
) -> None:
    line = one_line(iobridge("db", "backup", str(tmp_path / "b.sqlite3")))
    assert line.startswith(f"no database at {state / 'iobridge.sqlite3'}: nothing to back up")
    assert not state.exists()  # neither a database nor a PIN key made


def test_a_restore_puts_the_backup_back_and_keeps_the_database_it_replaces(
    iobridge: Invoke, synced: Path, tmp_path: Path
) -> None:
    backup = tmp_path / "b.sqlite3"
    assert iobridge("db", "backup", str(backup)).exit_code == 0
    (tmp_path / "other.yaml").write_text(OTHER_ROOMS)
    assert iobridge("rooms", "sync", str(tmp_path / "other.yaml")).exit_code == 0
    assert rooms_in(synced) == ["ga", "housing", "wg"]  # wg retired, kept

    result = iobridge("db", "restore", str(backup))
    assert result.exit_code == 0, result.output
    assert rooms_in(synced) == ["ga", "wg"]
    (kept,) = synced.parent.glob("iobridge.sqlite3.before-restore-*")
    assert rooms_in(kept) == ["ga", "housing", "wg"]
    assert f"kept at {kept}" in result.stdout
    assert iobridge("rooms", "list").exit_code == 0  # the service's key opens it


@pytest.mark.parametrize("kind", ["text file", "other sqlite database"])
def test_a_restore_of_a_file_that_is_not_an_io_bridge_database_changes_nothing(
    iobridge: Invoke, synced: Path, tmp_path: Path, kind: str
) -> None:
    file = tmp_path / "not-a-backup"
    if kind == "text file":
        file.write_text("rooms:\n  - name: ga\n" * 200)
    else:
        with contextlib.closing(sqlite3.connect(file)) as other:
            other.execute("CREATE TABLE notes (text)")
    before = fingerprint(synced)
    line = one_line(iobridge("db", "restore", str(file)))
    assert line.startswith(f"{file}: not an io-bridge database (")
    if kind == "other sqlite database":
        assert line.endswith("(it has no table alembic_version, rooms, moderators, calls, legs)")
    assert fingerprint(synced) == before
    assert not list(synced.parent.glob("*before-restore*"))


def test_a_restore_of_a_missing_file_is_one_line(iobridge: Invoke, synced: Path) -> None:
    assert one_line(iobridge("db", "restore", "/nonexistent/b.sqlite3")) == (
        "/nonexistent/b.sqlite3: no such file"
    )


def test_a_backup_from_a_newer_io_bridge_is_refused(
    iobridge: Invoke, synced: Path, tmp_path: Path
) -> None:
    backup = tmp_path / "b.sqlite3"
    assert iobridge("db", "backup", str(backup)).exit_code == 0
    with contextlib.closing(sqlite3.connect(backup)) as db:
        db.execute("UPDATE alembic_version SET version_num = '0099_future'")
        db.commit()
    line = one_line(iobridge("db", "restore", str(backup)))
    assert "made by a newer io-bridge (migration 0099_future is unknown" in line


def test_a_backup_whose_pins_need_another_key_is_refused_naming_the_key_file(
    synced: Path, state: Path, tmp_path: Path
) -> None:
    backup = tmp_path / "b.sqlite3"
    assert run_in(state, "db", "backup", str(backup)).exit_code == 0
    elsewhere = tmp_path / "elsewhere"
    (tmp_path / "r.yaml").write_text(OTHER_ROOMS)
    assert run_in(elsewhere, "rooms", "sync", str(tmp_path / "r.yaml")).exit_code == 0
    before = fingerprint(elsewhere / "iobridge.sqlite3")

    line = one_line(run_in(elsewhere, "db", "restore", str(backup)))
    assert "its PINs were hashed with the key with fingerprint" in line
    assert f"{elsewhere / 'pin-key'} is another" in line
    assert f"put the pin-key file of the state folder the backup was made in at {elsewhere}" in line
    assert fingerprint(elsewhere / "iobridge.sqlite3") == before

    shutil.copy(state / "pin-key", elsewhere / "pin-key")
    assert run_in(elsewhere, "db", "restore", str(backup)).exit_code == 0
    assert rooms_in(elsewhere / "iobridge.sqlite3") == ["ga", "wg"]


def test_a_restore_into_a_fresh_state_folder_needs_the_key_and_makes_none(
    synced: Path, state: Path, tmp_path: Path
) -> None:
    backup = tmp_path / "b.sqlite3"
    assert run_in(state, "db", "backup", str(backup)).exit_code == 0
    fresh = tmp_path / "fresh"
    line = one_line(run_in(fresh, "db", "restore", str(backup)))
    assert "this state folder has none" in line
    assert not fresh.exists()
    key = (state / "pin-key").read_text().strip()
    result = run_in(fresh, "db", "restore", str(backup), IOBRIDGE_PIN_KEY=key)
    assert result.exit_code == 0, result.output
    assert rooms_in(fresh / "iobridge.sqlite3") == ["ga", "wg"]


@contextlib.contextmanager
def running_from(state: Path) -> Iterator[None]:
    """The state folder's pid file held, as ``up`` holds it."""
    fd = os.open(state / "iobridge.pid", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, b"4242\n")
        yield
    finally:
        os.close(fd)


def test_a_restore_over_a_running_io_bridge_needs_force(
    iobridge: Invoke, synced: Path, state: Path, tmp_path: Path
) -> None:
    backup = tmp_path / "b.sqlite3"
    assert iobridge("db", "backup", str(backup)).exit_code == 0
    (tmp_path / "other.yaml").write_text(OTHER_ROOMS)
    assert iobridge("rooms", "sync", str(tmp_path / "other.yaml")).exit_code == 0
    with running_from(state):
        before = fingerprint(synced)
        line = one_line(iobridge("db", "restore", str(backup)))
        assert line.startswith(f"io-bridge runs from {state} (pid 4242): stop it first")
        assert fingerprint(synced) == before
        forced = iobridge("db", "restore", "--force", str(backup))
    assert forced.exit_code == 0, forced.output
    assert "restart io-bridge now" in forced.stdout
    assert rooms_in(synced) == ["ga", "wg"]


def test_postgres_is_backed_up_with_pg_dump_whose_command_never_shows_the_password(
    iobridge: Invoke, tmp_path: Path
) -> None:
    url = "postgresql://bridge:s3cret-pw@db.example.org:5433/iobridge"
    result = iobridge("db", "backup", "/backups/io.dump", IOBRIDGE_DATABASE_URL=url)
    assert result.exit_code == 1
    assert result.stdout.strip() == (
        "pg_dump --format=custom --file=/backups/io.dump --host=db.example.org --port=5433 "
        "--username=bridge --dbname=iobridge"
    )
    assert "pg_dump" in result.stderr
    restore = iobridge("db", "restore", "/backups/io.dump", IOBRIDGE_DATABASE_URL=url)
    assert restore.stdout.startswith("pg_restore ")
    assert "s3cret" not in result.output + restore.output
