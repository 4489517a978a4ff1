"""`iobridge serve` watches its own work: if the service's tasks die, it says why in the
log and exits non-zero, so that systemd or `up` starts it again."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from pathlib import Path

import pytest

from bridge.errors import StartupError
from bridge.serve import serve
from bridge.service import BridgeService
from bridge.settings import Settings
from tests.support import free_port

ROOMS = 'rooms:\n  - name: ga\n    pin: "731904"\n'


async def test_a_service_whose_work_dies_stops_with_the_cause_in_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def dies(self: BridgeService) -> None:
        await asyncio.sleep(0.2)
        raise RuntimeError("the history writer lost its database")

    monkeypatch.setattr(BridgeService, "run", dies)
    (tmp_path / "rooms.yaml").write_text(ROOMS)
    settings = Settings(
        state_dir=tmp_path / "state",
        rooms_file=tmp_path / "rooms.yaml",
        ami_port=free_port(),  # no Asterisk: the service would wait for one forever
        agi_port=free_port(),
        http_port=free_port(),
    )
    with caplog.at_level(logging.ERROR), pytest.raises(StartupError) as stopped:
        await asyncio.wait_for(serve(settings, progress=lambda _: None), 30)

    assert str(stopped.value) == (
        "the bridge service stopped on an error: "
        "RuntimeError('the history writer lost its database') (see the log above)"
    )
    assert "service.failed" in caplog.text and "lost its database" in caplog.text
    assert not settings.runtime_file.exists(), "a stopped service leaves no address behind"
    assert not settings.service_pid_file.exists()


async def test_serve_tells_systemd_it_is_ready_once_it_answers_and_when_it_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # systemd's end of Type=notify: a datagram socket named in NOTIFY_SOCKET.
    systemd = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    systemd.bind(str(tmp_path / "notify"))
    systemd.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    (tmp_path / "rooms.yaml").write_text(ROOMS)
    settings = Settings(
        state_dir=tmp_path / "state",
        rooms_file=tmp_path / "rooms.yaml",
        ami_port=free_port(),
        agi_port=free_port(),
        http_port=free_port(),
    )
    loop = asyncio.get_running_loop()
    serving = loop.create_task(serve(settings, progress=lambda _: None))
    try:
        ready = await asyncio.wait_for(loop.sock_recv(systemd, 4096), 30)
        assert ready.decode().splitlines()[0] == "READY=1"
        # Ready means answering: the panel's port takes a connection now.
        _, writer = await asyncio.open_connection("127.0.0.1", settings.http_port)
        writer.close()
        os.kill(os.getpid(), signal.SIGTERM)  # systemctl stop
        assert await asyncio.wait_for(loop.sock_recv(systemd, 4096), 10) == b"STOPPING=1"
        await asyncio.wait_for(serving, 30)
    finally:
        serving.cancel()
        systemd.close()
