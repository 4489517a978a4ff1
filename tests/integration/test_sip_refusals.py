"""The anonymous endpoint takes calls and nothing else: no SIP MESSAGE (outside or inside
a call) and no transfer. One SIPp scenario tries all three against the real Asterisk."""

from __future__ import annotations

import asyncio
import shutil
import socket
from pathlib import Path

import pytest

from bridge.runtime import Runtime
from bridge.settings import Settings
from tests.support import free_port

SCENARIO = Path(__file__).parent / "sipp" / "message_and_transfer.xml"


async def test_the_anonymous_endpoint_refuses_messages_and_transfers(
    runtime: Runtime, runtime_settings: Settings, tmp_path: Path
) -> None:
    if shutil.which("sipp") is None:
        pytest.fail("sipp is not installed (Debian package: sip-tester)")
    proc = await asyncio.create_subprocess_exec(
        "sipp", f"127.0.0.1:{runtime_settings.sip_port}", "-sf", str(SCENARIO),
        "-s", runtime_settings.entry_extension, "-m", "1", "-l", "1", "-nostdin",
        "-i", "127.0.0.1", "-p", str(free_port(socket.SOCK_DGRAM)),
        "-timeout", "30", "-timeout_error",
        "-trace_msg", "-message_file", str(tmp_path / "messages.txt"),
        cwd=tmp_path, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    trace = (tmp_path / "messages.txt").read_text(errors="replace")
    assert proc.returncode == 0, f"{err.decode(errors='replace')}\n{trace[:6000]}"
    # Asterisk's answers, in order: what SIPp accepted above, said plainly here.
    statuses = [line.split()[1] for line in trace.splitlines() if line.startswith("SIP/2.0 ")]
    assert "202" not in statuses  # no MESSAGE accepted
    assert "603" in statuses  # the REFER declined
    assert runtime.asterisk is not None
    _, modules = await runtime.asterisk.cli("module show like res_pjsip_messaging")
    assert "Running" not in modules
