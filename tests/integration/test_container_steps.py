"""The container image's steps without a container engine: Asterisk built as root into a
cache folder (the image's ``RUN iobridge asterisk ensure``, which leaves a root-owned
``.lock`` behind), made readable to all, then ``iobridge up`` run as an unprivileged user
with a state folder of its own (the image's ``USER iobridge`` and ``CMD ["up"]``)."""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge.asterisk.install import ensure_asterisk
from bridge.settings import Settings
from tests.integration.test_up_command import read_until
from tests.support import free_port, free_port_range, free_udp_and_tcp_port

IOBRIDGE = str(Path(sys.executable).parent / "iobridge")
ROOT = Path(__file__).resolve().parents[2]
RUNTIME_USER = "nobody"
# The runtime user's Python: the image's is readable by all; this machine's test
# interpreter may live in root's home, so the system's Python of the same version runs
# the same code and the same installed packages (pure Python or the same ABI).
SITE_PACKAGES = next(p for p in sys.path if p.endswith("site-packages"))
USER_PYTHON = "/usr/bin/python3"


def _same_python() -> bool:
    version = "import sys; print(sys.version_info[:2])"
    mine = str(sys.version_info[:2])
    found = subprocess.run([USER_PYTHON, "-c", version], capture_output=True, text=True)
    return found.stdout.strip() == mine


pytestmark = [
    pytest.mark.skipif(
        os.geteuid() != 0, reason="the image's build step runs as root (and runuser needs root)"
    ),
    pytest.mark.skipif(not _same_python(), reason=f"{USER_PYTHON} is not this Python's version"),
]


@pytest.fixture
def image() -> Iterator[Path]:
    """Where the image's files go: a folder every user may traverse (pytest's is 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="iob-image-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def build_as_root(image: Path, built_from: Path) -> Path:
    """The image's build: the private Asterisk in its cache (hard links to the session's
    tree: the same files a build unpacks, without the download), the lock its build took,
    ``iobridge asterisk ensure`` as root, then ``chmod -R a+rX``."""
    cache = image / "cache"
    (cache / "asterisk").mkdir(parents=True)
    subprocess.run(
        ["cp", "-al", str(built_from / "tree"), str(cache / "asterisk" / "tree")], check=True
    )
    shutil.copy(built_from / "complete.json", cache / "asterisk" / "complete.json")
    (cache / "asterisk" / ".lock").touch(mode=0o644)  # what the root build's flock left
    env = {**os.environ, "IOBRIDGE_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)}
    env["IOBRIDGE_ASTERISK_PREFER_SYSTEM"] = "false"
    subprocess.run([IOBRIDGE, "asterisk", "ensure"], env=env, check=True, capture_output=True)
    subprocess.run(["chmod", "-R", "a+rX", str(cache)], check=True)
    return cache


def as_runtime_user(image: Path, cache: Path) -> dict[str, Any]:
    """How to run ``iobridge`` as the unprivileged user (``subprocess`` arguments: the
    user, its groups, an environment of its own), with a state folder and free ports."""
    user = pwd.getpwnam(RUNTIME_USER)
    state = image / "state"
    state.mkdir(exist_ok=True)
    os.chown(state, user.pw_uid, user.pw_gid)
    rtp = free_port_range(20)
    settings = {
        "PYTHONPATH": f"{ROOT}:{SITE_PACKAGES}",
        "PATH": os.environ["PATH"],
        "IOBRIDGE_STATE_DIR": str(state),
        "IOBRIDGE_CACHE_DIR": str(cache),
        "IOBRIDGE_ASTERISK_PREFER_SYSTEM": "false",
        "IOBRIDGE_SIP_PORT": str(free_udp_and_tcp_port()),
        "IOBRIDGE_AMI_PORT": str(free_port()),
        "IOBRIDGE_AGI_PORT": str(free_port()),
        "IOBRIDGE_HTTP_PORT": str(free_port()),
        "IOBRIDGE_RTP_PORT_START": str(rtp),
        "IOBRIDGE_RTP_PORT_END": str(rtp + 19),
    }
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": [], "env": settings}


IOBRIDGE_AS_USER = (USER_PYTHON, "-m", "bridge")


@pytest.fixture(scope="module")
def session_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's private Asterisk (built once for every test that needs one)."""
    cache = Settings().cache_dir
    found = ensure_asterisk(cache, prefer_system=False, progress=lambda _: None)
    assert found.private
    return cache / "asterisk"


async def test_up_starts_as_an_unprivileged_user_on_an_asterisk_built_by_root(
    image: Path, session_tree: Path
) -> None:
    cache = build_as_root(image, session_tree)
    assert (cache / "asterisk" / ".lock").stat().st_uid == 0
    up = await asyncio.create_subprocess_exec(
        *IOBRIDGE_AS_USER, "up", stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        **as_runtime_user(image, cache),
    )  # fmt: skip
    assert up.stdout is not None
    try:
        banner = await read_until(up.stdout, "Stop with Ctrl-C")
        assert "private Asterisk 2" in banner and "io-bridge is up" in banner
        # The image's HEALTHCHECK, as the same user, with what an admin watches for updates.
        health = await asyncio.create_subprocess_exec(
            *IOBRIDGE_AS_USER, "health", "--json", stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, **as_runtime_user(image, cache),
        )  # fmt: skip
        out, err = await asyncio.wait_for(health.communicate(), 30)
        assert health.returncode == 0, err
        facts = json.loads(out)
        assert facts["ok"] is True and facts["pbx"] == "connected"
        built = json.loads((cache / "asterisk" / "complete.json").read_text())
        assert facts["asterisk"]["version"] == built["version"]
        assert facts["asterisk"]["dated_by"] == "Debian changelog"
        assert isinstance(facts["asterisk"]["age_days"], int)
        assert facts["asterisk"]["update_waiting"] is None
        up.send_signal(signal.SIGTERM)  # docker stop
        assert await asyncio.wait_for(up.wait(), 30) == 0
    finally:
        if up.returncode is None:
            up.kill()
            await up.wait()
    asterisk_log = image / "state" / "asterisk" / "log"
    assert asterisk_log.stat().st_uid == pwd.getpwnam(RUNTIME_USER).pw_uid


def test_an_unbuilt_cache_the_user_cannot_write_names_the_cache_and_what_to_do(
    image: Path,
) -> None:
    cache = image / "cache"
    (cache / "asterisk").mkdir(parents=True)
    (cache / "asterisk" / ".lock").touch(mode=0o644)
    cache.chmod(0o755)
    result = subprocess.run(
        [*IOBRIDGE_AS_USER, "asterisk", "ensure"],
        capture_output=True,
        text=True,
        **as_runtime_user(image, cache),
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "asterisk ensure failed at step 'lock the cache'" in lines[0]
    assert f"this user ({RUNTIME_USER})" in lines[0]
    assert "IOBRIDGE_CACHE_DIR" in lines[0] and "IOBRIDGE_STATE_DIR" not in lines[0]
