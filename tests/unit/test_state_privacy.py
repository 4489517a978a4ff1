"""The state folder holds the rooms' PINs, the AMI secret and recordings: it is 0700 and
every file in it 0600 whatever the umask, fixed at start for what already exists, and no
failed database statement repeats the values (PINs) it carried."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bridge.asterisk.install import AsteriskInstall
from bridge.asterisk.process import render_config
from bridge.runtime import PidFile
from bridge.settings import Settings
from bridge.store.db import create_engine


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The worst an admin's shell could have: files 0666, folders 0777."""
    before = os.umask(0)
    try:
        yield
    finally:
        os.umask(before)


def test_a_state_folder_left_open_is_made_private_at_start_with_all_it_holds(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    (state / "recordings").mkdir(parents=True)
    for path in (state / "iobridge.sqlite3", state / "ami-secret", state / "recordings/a.wav"):
        path.write_text("x")
        path.chmod(0o644)
    for folder in (state, state / "recordings"):
        folder.chmod(0o755)
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("not ours")
    outside.chmod(0o644)
    (state / "link").symlink_to(outside)

    Settings(state_dir=state).secure_state_dir()

    assert mode(state) == mode(state / "recordings") == 0o700
    assert mode(state / "iobridge.sqlite3") == mode(state / "ami-secret") == 0o600
    assert mode(state / "recordings/a.wav") == 0o600
    assert mode(outside) == 0o644  # a link is not followed out of the folder


def test_a_new_state_folder_and_its_secrets_are_private_whatever_the_umask(
    tmp_path: Path, loose_umask: None
) -> None:
    settings = Settings(state_dir=tmp_path / "state")
    settings.ensure_ami_secret()
    pidfile = PidFile(settings.pid_file)
    pidfile.acquire()
    try:
        assert mode(settings.state_dir) == 0o700
        assert mode(settings.state_dir / "ami-secret") == 0o600
        assert mode(settings.pid_file) == 0o600
    finally:
        pidfile.release()


def test_an_existing_manager_conf_is_rewritten_private(tmp_path: Path, loose_umask: None) -> None:
    settings = Settings(state_dir=tmp_path / "state")
    tree = tmp_path / "tree"
    (tree / "usr/lib/x86_64-linux-gnu/asterisk/modules").mkdir(parents=True)
    install = AsteriskInstall(tree, tree / "usr/sbin/asterisk", None, "22.0", private=True)
    etc = settings.asterisk_dir / "etc"
    etc.mkdir(parents=True)
    (etc / "manager.conf").write_text("; from an older version\n")
    (etc / "manager.conf").chmod(0o644)

    render_config(settings, install)

    secret = settings.ensure_ami_secret().get_secret_value()
    assert secret in (etc / "manager.conf").read_text()
    assert all(mode(path) == 0o600 for path in etc.iterdir())
    assert mode(settings.asterisk_dir) == mode(settings.recordings_dir) == 0o700


async def test_the_sqlite_database_and_its_wal_are_private_whatever_the_umask(
    tmp_path: Path, loose_umask: None
) -> None:
    path = tmp_path / "state" / "iobridge.sqlite3"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (pin TEXT)"))
            await connection.execute(text("INSERT INTO t VALUES ('1')"))
            assert (tmp_path / "state" / "iobridge.sqlite3-wal").exists()
            assert mode(tmp_path / "state" / "iobridge.sqlite3-wal") == 0o600
    finally:
        await engine.dispose()
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700


async def test_a_failed_statement_does_not_repeat_its_values(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE room (pin TEXT UNIQUE)"))
            await connection.execute(text("INSERT INTO room VALUES (:pin)"), {"pin": "424242"})
        with pytest.raises(IntegrityError) as failure:
            async with engine.begin() as connection:
                insert = text("INSERT INTO room VALUES (:pin)")
                await connection.execute(insert, {"pin": "424242"})
    finally:
        await engine.dispose()
    assert "424242" not in str(failure.value)
    assert "hidden due to hide_parameters" in str(failure.value)
