"""``iobridge up`` started by root with two users named (the container image's way): Asterisk
runs as ``iobridge-asterisk``, the service as ``iobridge``; a call is taken and recorded;
Asterisk's user can read neither the PIN key nor the database, nor find the database URL in
its environment, and the service's user reads the recordings Asterisk writes."""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.settings import Settings
from tests.integration.test_up_command import IOBRIDGE, iobridge, pid_alive, runtime_env
from tests.support import eventually

ASTERISK_USER = "iobridge-asterisk"
SERVICE_USER = "iobridge"
CHECKOUT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="starts up as root, then drops")


@pytest.fixture
def two_users() -> Iterator[tuple[pwd.struct_passwd, pwd.struct_passwd]]:
    """Both users, made for the test where the machine has none (and removed after)."""
    made = []
    for name in (ASTERISK_USER, SERVICE_USER):
        try:
            pwd.getpwnam(name)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--user-group", "--no-create-home",
                 "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name],
                check=True,
            )  # fmt: skip
            made.append(name)
    try:
        yield pwd.getpwnam(ASTERISK_USER), pwd.getpwnam(SERVICE_USER)
    finally:
        for name in made:
            subprocess.run(["userdel", name], check=False)


@pytest.fixture
def open_folder(runtime_settings: Settings) -> Iterator[Path]:
    """Where both users can reach their folders (pytest's own is root's alone), with a copy
    of the test session's Asterisk (hard links: root's cache is under /root, closed to them)."""
    base = Path(tempfile.mkdtemp(prefix="iobridge-two-users-", dir="/tmp"))
    try:
        base.chmod(0o755)
        (base / "cache").mkdir(mode=0o755)
        subprocess.run(
            ["cp", "-al", str(runtime_settings.cache_dir / "asterisk"), str(base / "cache")],
            check=True,
        )
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def open_python(open_folder: Path, two_users: object) -> Path:
    """A Python the service's user may run, with the project's packages: ours, or (where ours
    is under /root, as a pyenv's is) a venv of the system's Python 3.11 that sees them."""
    if can_run(SERVICE_USER, Path(sys.executable)):
        return Path(sys.executable)
    system = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")
    if not system.exists():
        pytest.skip(f"{sys.executable} is closed to {SERVICE_USER} and there is no {system}")
    venv = open_folder / "venv"
    subprocess.run([str(system), "-m", "venv", "--without-pip", str(venv)], check=True)
    site = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    (site / "site-packages" / "project.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv / "bin" / "python"


def can_run(user: str, python: Path) -> bool:
    ran = subprocess.run(["runuser", "-u", user, "--", str(python), "-c", ""], capture_output=True)
    return ran.returncode == 0


def ids(pid: int, field: str) -> set[int]:
    """The real, effective, saved and filesystem ids of a process (/proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return {int(value) for value in line.split()[1:]}
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def environment_of(pid: int) -> bytes:
    return Path(f"/proc/{pid}/environ").read_bytes()


async def in_the_room(env: dict[str, str], room: str, count: int) -> bool:
    return f"{count} in the room" in (await iobridge(env, "room", room, "status"))[1]


def can_read(user: str, path: Path) -> bool:
    opened = subprocess.run(
        ["runuser", "-u", user, "--", "head", "-c", "1", str(path)], capture_output=True
    )
    return opened.returncode == 0


async def test_up_as_root_runs_asterisk_and_the_service_as_two_users_and_takes_a_call(
    runtime_settings: Settings,
    tmp_path: Path,
    two_users: tuple[pwd.struct_passwd, pwd.struct_passwd],
    open_folder: Path,
    open_python: Path,
) -> None:
    asterisk_user, service_user = two_users
    state = open_folder / "state"
    env = runtime_env(
        tmp_path,
        runtime_settings,
        IOBRIDGE_STATE_DIR=state,
        IOBRIDGE_ASTERISK_DIR=open_folder / "asterisk",
        IOBRIDGE_RECORDINGS_DIR=open_folder / "recordings",
        IOBRIDGE_CACHE_DIR=open_folder / "cache",
        IOBRIDGE_DATABASE_URL=f"sqlite:///{state / 'iobridge.sqlite3'}",
        IOBRIDGE_ASTERISK_USER=ASTERISK_USER,
        IOBRIDGE_SERVICE_USER=SERVICE_USER,
        PYTHONPATH=CHECKOUT,  # this checkout's bridge, for both
    )
    log = tmp_path / "up.log"
    with log.open("ab") as handle:
        up = await asyncio.create_subprocess_exec(
            open_python, "-m", "bridge", "up", env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=handle, stderr=handle,
        )  # fmt: skip
    stayer: asyncio.subprocess.Process | None = None
    try:
        await eventually(
            lambda: "Stop with Ctrl-C" in log.read_text() or up.returncode is not None, timeout=90
        )
        assert up.returncode is None, log.read_text()
        asterisk_pid = int((open_folder / "asterisk/run/asterisk.pid").read_text())
        service_pid = int((state / "service.pid").read_text())
        assert ids(asterisk_pid, "Uid") == {asterisk_user.pw_uid}
        assert ids(asterisk_pid, "Gid") == {asterisk_user.pw_gid}
        assert ids(service_pid, "Uid") == {service_user.pw_uid}
        assert ids(service_pid, "Gid") == {service_user.pw_gid}
        assert ids(asterisk_pid, "Groups") == ids(service_pid, "Groups") == set()
        environ = environment_of(asterisk_pid)
        assert b"IOBRIDGE_DATABASE_URL" not in environ and b"iobridge.sqlite3" not in environ

        # What only the service may read: its user can, Asterisk's cannot.
        for secret in (state / "pin-key", state / "iobridge.sqlite3", state / "admin-token"):
            assert can_read(SERVICE_USER, secret), secret
            assert not can_read(ASTERISK_USER, secret), secret
        conf = open_folder / "asterisk/etc/manager.conf"
        assert (conf.stat().st_uid, stat.S_IMODE(conf.stat().st_mode)) == (
            asterisk_user.pw_uid,
            0o600,
        )

        # A caller types a room's PIN (Asterisk asks the service over FastAGI) and stays.
        stayer = await asyncio.create_subprocess_exec(
            IOBRIDGE, "call", "--keys", "5150#", "--stay", "40", env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        await eventually(lambda: in_the_room(env, "wg-housing", 1), timeout=30)
        code, _, err = await iobridge(env, "room", "wg-housing", "record")
        assert code == 0, err
        await asyncio.sleep(2)
        code, _, err = await iobridge(env, "room", "wg-housing", "stop-record")
        assert code == 0, err
        recordings = open_folder / "recordings"
        folder = recordings.stat()
        assert stat.S_IMODE(folder.st_mode) == 0o2770 and folder.st_gid == service_user.pw_gid
        made = list(recordings.glob("wg-housing-*.wav"))
        assert made, "no recording"
        assert made[0].stat().st_uid == asterisk_user.pw_uid
        assert can_read(SERVICE_USER, made[0])

        up.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(up.wait(), 30) == 0
        assert not pid_alive(asterisk_pid), "Asterisk outlived the stack"
    finally:
        if stayer is not None and stayer.returncode is None:
            stayer.kill()
            await stayer.wait()
        if up.returncode is None:
            up.kill()
            await up.wait()
