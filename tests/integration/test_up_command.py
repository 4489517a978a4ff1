"""``iobridge up`` as an admin runs it: a separate process with its own Asterisk, a test
call through ``iobridge call``, Ctrl-C, and the one-line answers to bad input."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import sqlite3
import sys
from pathlib import Path

from bridge.settings import DATA_FILES, Settings
from tests.support import free_port, free_port_range, free_udp_and_tcp_port

IOBRIDGE = str(Path(sys.executable).parent / "iobridge")


def runtime_env(tmp_path: Path, settings: Settings, **overrides: object) -> dict[str, str]:
    rtp = free_port_range(100)
    values: dict[str, object] = {
        "IOBRIDGE_STATE_DIR": tmp_path / "state",
        "IOBRIDGE_CACHE_DIR": settings.cache_dir,
        "IOBRIDGE_SIP_PORT": free_udp_and_tcp_port(),
        "IOBRIDGE_AMI_PORT": free_port(),
        "IOBRIDGE_AGI_PORT": free_port(),
        "IOBRIDGE_HTTP_PORT": free_port(),
        "IOBRIDGE_RTP_PORT_START": rtp,
        "IOBRIDGE_RTP_PORT_END": rtp + 99,
        **overrides,
    }
    return {**os.environ, **{k: str(v) for k, v in values.items()}}


async def iobridge(env: dict[str, str], *args: str, timeout: float = 60) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        IOBRIDGE, *args, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode or 0, out.decode(), err.decode()


async def read_until(stream: asyncio.StreamReader, marker: str, timeout: float = 90) -> str:
    seen = ""
    async with asyncio.timeout(timeout):
        while marker not in seen:
            line = await stream.readline()
            if not line:
                raise AssertionError(f"output ended before {marker!r}:\n{seen}")
            seen += line.decode()
    return seen


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_up_prints_where_to_dial_takes_a_call_and_stops_clean_on_ctrl_c(
    runtime_settings: Settings, tmp_path: Path
) -> None:
    env = runtime_env(tmp_path, runtime_settings)
    up = await asyncio.create_subprocess_exec(
        IOBRIDGE, "up", env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert up.stdout is not None
    try:
        banner = await read_until(up.stdout, "Stop with Ctrl-C")
        assert "no rooms yet: loaded the example rooms" in banner and "wg-housing 5150" in banner
        assert f"sip:1000@127.0.0.1:{env['IOBRIDGE_SIP_PORT']}" in banner
        assert f"http://127.0.0.1:{env['IOBRIDGE_HTTP_PORT']}/" in banner

        code, out, err = await iobridge(env, "call", "--keys", "1234#", "--stay", "1")
        assert code == 0, err
        assert "call answered" in out

        code, out, _ = await iobridge(env, "asterisk", "cli", "-x", "core show version")
        assert code == 0 and "Asterisk 2" in out

        await run_a_room_from_the_shell(env)

        code, _, err = await iobridge(env, "up", timeout=30)
        assert code != 0
        assert "already running" in err and len(err.strip().splitlines()) == 1

        asterisk_pid = int((tmp_path / "state/asterisk/run/asterisk.pid").read_text())
        assert pid_alive(asterisk_pid)
        # Someone is still in a room when the admin presses Ctrl-C.
        stayer = await asyncio.create_subprocess_exec(
            IOBRIDGE, "call", "--keys", "5150#", "--stay", "60", env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        async with asyncio.timeout(20):
            while "1 in the room" not in (await iobridge(env, "room", "wg-housing", "status"))[1]:
                pass
        up.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(up.wait(), 30) == 0
        assert not pid_alive(asterisk_pid), "Asterisk outlived the stack"
        assert not (tmp_path / "state/iobridge.pid").exists()
        await asyncio.wait_for(stayer.wait(), 90)
        # Asterisk went down with the stack: every call ended then, in history too.
        with sqlite3.connect(tmp_path / "state/iobridge.sqlite3") as db:
            assert db.execute("select count(*) from legs where left_at is null").fetchone() == (0,)
            assert db.execute("select count(*) from calls where ended_at is null").fetchone() == (
                0,
            )
            assert db.execute("select count(*) from legs").fetchone()[0] >= 2
    finally:
        if up.returncode is None:
            up.kill()
            await up.wait()


async def test_up_names_a_port_already_taken(runtime_settings: Settings, tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]
        env = runtime_env(tmp_path, runtime_settings, IOBRIDGE_SIP_PORT=port)
        code, _, err = await iobridge(env, "up")
    assert code == 1
    assert err.strip() == (
        f"iobridge: port {port}/udp (SIP) is already in use: "
        "stop what holds it or set IOBRIDGE_SIP_PORT"
    )


async def test_up_names_a_missing_rooms_file(runtime_settings: Settings, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    env = runtime_env(tmp_path, runtime_settings, IOBRIDGE_ROOMS_FILE=missing)
    code, _, err = await iobridge(env, "up")
    assert code == 1
    assert err.strip() == f"iobridge: rooms file not found: {missing} (set IOBRIDGE_ROOMS_FILE)"
    assert "Traceback" not in err


async def test_up_reports_an_asterisk_that_cannot_start(
    runtime_settings: Settings, tmp_path: Path
) -> None:
    broken = tmp_path / "asterisk-config"
    shutil.copytree(DATA_FILES / "asterisk-config", broken)
    # Tell Asterisk not to load the conference application: no room could ever work.
    with (broken / "modules.conf").open("a") as modules:
        modules.write("noload => app_confbridge.so\n")
    env = runtime_env(tmp_path, runtime_settings, IOBRIDGE_CONFIG_DIR=broken)
    code, out, err = await iobridge(env, "up")
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "app_confbridge.so" in lines[0], err
    assert "Traceback" not in err + out
    pid_file = tmp_path / "state/asterisk/run/asterisk.pid"
    if pid_file.exists():
        assert not pid_alive(int(pid_file.read_text()))


async def run_a_room_from_the_shell(env: dict[str, str]) -> None:
    """An admin's session with `iobridge room` and `recordings list` against a live call
    (the example rooms file's wg-housing room, PIN 5150)."""
    caller = await asyncio.create_subprocess_exec(
        IOBRIDGE, "call", "--keys", "5150#", "--audio", "--stay", "90", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        status = ""
        async with asyncio.timeout(20):
            while "1 in the room" not in status:
                _, status, _ = await iobridge(env, "room", "wg-housing", "status")
        channel = status.splitlines()[1].split()[0]
        assert channel.startswith("PJSIP/")
        code, out, _ = await iobridge(env, "rooms", "list")
        row = next(line for line in out.splitlines() if line.startswith("wg-housing "))
        assert code == 0 and row.split()[1] == "1" and "5150" not in out, out

        code, out, _ = await iobridge(env, "room", "wg-housing", "mute", channel)
        assert code == 0 and "mute done" in out
        code, out, _ = await iobridge(env, "room", "wg-housing", "lock")
        assert code == 0
        code, out, _ = await iobridge(env, "room", "wg-housing", "record")
        assert code == 0 and "wg-housing-" in out
        async with asyncio.timeout(10):
            while "muted" not in status or "locked" not in status:
                _, status, _ = await iobridge(env, "room", "wg-housing", "status")
        code, _, err = await iobridge(env, "room", "wg-housing", "kick", "PJSIP/nobody-0")
        assert code == 1 and err.strip().endswith("is not in room 'wg-housing' (any more)")
        code, _, err = await iobridge(env, "room", "nowhere", "lock")
        assert code == 1 and "no live room 'nowhere'" in err
        code, out, err = await iobridge(env, "room", "wg-housing", "stop-record")
        assert code == 0, err
        code, out, _ = await iobridge(env, "recordings", "list")
        assert code == 0 and "wg-housing-" in out and " s " in out
        code, out, err = await iobridge(env, "room", "wg-housing", "end")
        assert code == 0, err
        assert await asyncio.wait_for(caller.wait(), 20) == 0
    finally:
        if caller.returncode is None:
            caller.kill()
            await caller.wait()


async def test_the_cli_finds_a_stack_bound_to_another_address(
    runtime_settings: Settings, tmp_path: Path
) -> None:
    """`up --host ADDR`: the other commands, run without that setting, find the stack's
    address and token in the state folder (127.0.0.2 stands in for a LAN address)."""
    env = runtime_env(tmp_path, runtime_settings)
    log = tmp_path / "up.log"
    with log.open("ab") as output:
        up = await asyncio.create_subprocess_exec(
            IOBRIDGE, "up", "--host", "127.0.0.2", env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=output, stderr=output,
        )  # fmt: skip
    try:
        async with asyncio.timeout(90):
            while "Stop with Ctrl-C" not in log.read_text():
                assert up.returncode is None, log.read_text()
                await asyncio.sleep(0.2)
        assert f"sip:1000@127.0.0.2:{env['IOBRIDGE_SIP_PORT']}" in log.read_text()

        code, out, err = await iobridge(env, "health")
        assert code == 0, err
        code, out, err = await iobridge(env, "call", "--keys", "5150#", "--stay", "1")
        assert code == 0 and f"sip:1000@127.0.0.2:{env['IOBRIDGE_SIP_PORT']}" in out, err
        code, out, err = await iobridge(env, "room", "wg-housing", "status", "--json")
        assert code == 0, err
        assert json.loads(out)["room"] == "wg-housing"
        code, out, err = await iobridge(env, "rooms", "list", "--json")
        assert code == 0 and {room["live"] for room in json.loads(out)} == {0}, out

        up.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(up.wait(), 30) == 0
        code, _, err = await iobridge(env, "health")
        assert code == 1 and err.strip().startswith("iobridge: no running stack for")
    finally:
        if up.returncode is None:
            up.kill()
            await up.wait()
