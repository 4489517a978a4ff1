"""A standby service: two ``iobridge serve`` of one PostgreSQL database beside the session's
Asterisk. The second waits (healthz alive, readyz 503, ``health --json`` says standby); the
first SIGKILLed, the second is the active one within 5 s and a caller already in the room is
still in it and on the new active service's roster."""

from __future__ import annotations

import asyncio
import json
import signal
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bridge.runtime import Runtime
from bridge.settings import Settings
from tests.integration.conftest import Dial
from tests.integration.test_faults import ROOM, _env, _fetch, _roster_matches, _spawn, join
from tests.integration.test_up_command import iobridge
from tests.support import AmiWatcher, cut_service_lock_holder, eventually, free_port


@pytest.fixture
async def without_the_sessions_service(runtime: Runtime) -> AsyncIterator[None]:
    """The session's Asterisk stays; its in-process service steps aside for the two."""
    await runtime.stop_service()
    try:
        yield
    finally:
        await runtime.start_service()
        await runtime.wait_connected()


async def _role(port: int) -> str | None:
    health = await _fetch(port, "/healthz")
    if not health or (health["role"] == "active" and health["pbx"] != "connected"):
        return None
    return str(health["role"])


async def test_the_standby_takes_over_with_the_call_still_in_the_room(
    runtime_settings: Settings,
    postgres_database: str,
    ami: AmiWatcher,
    dial: Dial,
    tmp_path: Path,
    without_the_sessions_service: None,
) -> None:
    shared = {
        "IOBRIDGE_DATABASE_URL": postgres_database,
        "IOBRIDGE_AMI_SECRET": runtime_settings.ensure_ami_secret().get_secret_value(),
        "IOBRIDGE_AGI_SECRET": runtime_settings.ensure_agi_secret().get_secret_value(),
    }
    envs = [
        _env(
            runtime_settings, IOBRIDGE_STATE_DIR=tmp_path / name, IOBRIDGE_HTTP_PORT=port, **shared
        )
        for name, port in (("first", runtime_settings.http_port), ("second", free_port()))
    ]
    ports = [int(env["IOBRIDGE_HTTP_PORT"]) for env in envs]
    first = await _spawn(envs[0], tmp_path / "first.log")
    second: asyncio.subprocess.Process | None = None
    try:
        await eventually(lambda: _is(ports[0], "active"), timeout=30)
        second = await _spawn(envs[1], tmp_path / "second.log")
        await eventually(lambda: _is(ports[1], "standby"), timeout=30)
        token = (tmp_path / "second" / "metrics-token").read_text().strip()
        ready = await asyncio.to_thread(_status_of, ports[1], "/readyz", token)
        assert ready == 503
        code, out, _ = await iobridge(envs[1], "health", "--json")
        assert code == 0 and json.loads(out)["role"] == "standby", out

        caller = await join(ami, dial, stay=120)  # its PIN dialogue was the first service's
        first_token = (tmp_path / "first" / "admin-token").read_text().strip()
        await eventually(lambda: _roster_matches(ports[0], first_token, ami, {caller}))

        first.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        await first.wait()
        await eventually(lambda: _is(ports[1], "active"), timeout=30, every=0.05)
        # Within 5 s on a quiet box (its lock's timers): printed, timed by no test.
        took = time.monotonic() - killed
        print(f"the standby was the active service {took:.2f} s after the first was killed")

        second_token = (tmp_path / "second" / "admin-token").read_text().strip()
        await eventually(lambda: _roster_matches(ports[1], second_token, ami, {caller}))
        code, out, _ = await iobridge(envs[1], "health", "--json")
        assert code == 0 and json.loads(out)["role"] == "active", out

        # Fencing: the lock's connection cut, the active service stops driving and exits
        # (its unit's Restart= brings it back as a standby); the call stays in Asterisk.
        assert await cut_service_lock_holder(postgres_database) == 1
        assert await asyncio.wait_for(second.wait(), 15) == 1
        assert "lost the connection that holds" in (tmp_path / "second.log").read_text()
        replies = await ami.client.send({"Action": "ConfbridgeList", "Conference": ROOM})
        assert caller in {m.get("Channel") for m in replies}
    finally:
        for process in (first, second):
            if process is not None and process.returncode is None:
                process.send_signal(signal.SIGTERM)
                await asyncio.wait_for(process.wait(), 30)


async def _is(port: int, role: str) -> bool:
    return await _role(port) == role


def _status_of(port: int, path: str, token: str) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
