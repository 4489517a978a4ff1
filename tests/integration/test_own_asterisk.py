"""An admin's own Asterisk, configured only from what ``iobridge asterisk config --for-existing``
writes: their asterisk.conf, modules.conf, pjsip.conf and rtp.conf (written by hand here, as
theirs would be), and a confbridge.conf, extensions.conf and manager.conf that do nothing but
``#include`` io-bridge's files. ``iobridge serve`` drives it; a caller raises a hand with *9;
and with a context missing, serve names it and does not start."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bridge.asterisk.install import AsteriskInstall, ensure_asterisk
from bridge.settings import Settings
from bridge.sipcaller import Caller, CallPlan
from tests.integration.conftest import fresh_loopback, unique_caller_id
from tests.support import eventually, free_port, free_port_range, free_udp_and_tcp_port

IOBRIDGE = str(Path(sys.executable).parent / "iobridge")
ROOM, PIN = "own-stack", "8181"


@dataclass
class OwnAsterisk:
    install: AsteriskInstall
    etc: Path
    env: dict[str, str]  # io-bridge's settings, as the admin exported them
    process: asyncio.subprocess.Process

    async def cli(self, command: str) -> str:
        proc = await asyncio.create_subprocess_exec(
            *self.install.command("-C", str(self.etc / "asterisk.conf"), "-rx", command),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 15)
        return out.decode(errors="replace")


def _admins_files(root: Path, install: AsteriskInstall, env: dict[str, str], folder: Path) -> None:
    """The admin's own configuration: nothing of io-bridge's but the #includes."""
    etc = root / "etc"
    for sub in ("etc", "lib", "spool", "run", "log", "cache"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (etc / "asterisk.conf").write_text(
        "[directories]\n"
        f"astetcdir => {etc}\nastmoddir => {install.module_dir}\n"
        f"astvarlibdir => {root}/lib\nastdbdir => {root}/lib\nastkeydir => {root}/lib\n"
        f"astdatadir => {install.data_dir}\nastagidir => {install.data_dir}/agi-bin\n"
        f"astspooldir => {root}/spool\nastrundir => {root}/run\nastlogdir => {root}/log\n"
        f"astsbindir => {install.binary.parent}\nastcachedir => {root}/cache\n"
        "[options]\nmaxload = 0\n"
    )
    (etc / "modules.conf").write_text(
        "[modules]\nautoload = yes\n"
        + "".join(
            f"noload => {name}.so\n"
            for name in ("chan_iax2", "pbx_dundi", "res_pjsip_messaging", "chan_dahdi", "res_hep")
        )
    )
    rtp = free_port_range(40)
    (etc / "rtp.conf").write_text(f"[general]\nrtpstart = {rtp}\nrtpend = {rtp + 39}\n")
    (etc / "pjsip.conf").write_text(
        "[global]\ntype = global\nendpoint_identifier_order = ip,username,anonymous\n\n"
        "[transport-udp]\ntype = transport\nprotocol = udp\n"
        f"bind = 127.0.0.1:{env['IOBRIDGE_SIP_PORT']}\n\n"
        f'#include "{folder}/iobridge-pjsip.conf"\n'
    )
    (etc / "confbridge.conf").write_text(
        f'[general]\n\n#include "{folder}/iobridge-confbridge.conf"\n'
    )
    (etc / "manager.conf").write_text(
        f"[general]\nenabled = yes\nport = {env['IOBRIDGE_AMI_PORT']}\nbindaddr = 127.0.0.1\n\n"
        f'#include "{folder}/iobridge-manager.conf"\n'
    )
    (etc / "extensions.conf").write_text(
        "[general]\nstatic = yes\nwriteprotect = yes\n\n[globals]\nMINE = yes\n\n"
        "[default]\nexten => 1,1,Hangup()\n\n"
        f'#include "{folder}/iobridge-extensions.conf"\n'
    )


@pytest.fixture(scope="module")
async def own_asterisk(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[OwnAsterisk]:
    base = tmp_path_factory.mktemp("own-asterisk")
    rooms = base / "rooms.yaml"
    rooms.write_text(f'rooms:\n  - name: {ROOM}\n    pin: "{PIN}"\n    muted_on_entry: true\n')
    folder = base / "for-asterisk"
    env = {
        **os.environ,
        "IOBRIDGE_STATE_DIR": str(base / "state"),
        "IOBRIDGE_SIP_PORT": str(free_udp_and_tcp_port()),
        "IOBRIDGE_AMI_PORT": str(free_port()),
        "IOBRIDGE_AGI_PORT": str(free_port()),
        "IOBRIDGE_HTTP_PORT": str(free_port()),
        "IOBRIDGE_ROOMS_FILE": str(rooms),
        "IOBRIDGE_ASTERISK_SOUNDS_DIR": str(folder / "sounds"),
    }
    wrote = await _iobridge(env, "asterisk", "config", "--for-existing", str(folder))
    assert wrote[0] == 0, wrote
    install = ensure_asterisk(Settings().cache_dir, progress=lambda _: None)
    _admins_files(base / "asterisk", install, env, folder)
    etc = base / "asterisk" / "etc"
    log = (base / "asterisk-console.log").open("ab")
    process = await asyncio.create_subprocess_exec(
        *install.command("-f", "-n", "-C", str(etc / "asterisk.conf")),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    log.close()
    own = OwnAsterisk(install, etc, env, process)
    try:
        await eventually(lambda: _booted(own), timeout=60, every=0.5)
        yield own
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await process.wait()


async def _booted(own: OwnAsterisk) -> bool:
    if own.process.returncode is not None:
        raise AssertionError(f"Asterisk exited: {own.process.returncode}")
    return "fully booted" in (await own.cli("core waitfullybooted")).lower()


async def _iobridge(env: dict[str, str], *args: str, timeout: float = 60) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        IOBRIDGE, *args, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode or 0, out.decode(), err.decode()


def _get(env: dict[str, str], path: str) -> Any:
    token = (Path(env["IOBRIDGE_STATE_DIR"]) / "admin-token").read_text().strip()
    request = urllib.request.Request(f"http://127.0.0.1:{env['IOBRIDGE_HTTP_PORT']}{path}")
    request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=2) as response:
        return json.load(response)


async def _fetch(env: dict[str, str], path: str) -> Any:
    try:
        return await asyncio.to_thread(_get, env, path)
    except OSError:
        return None


async def test_serve_names_a_missing_context_and_does_not_start(own_asterisk: OwnAsterisk) -> None:
    extensions = own_asterisk.etc / "extensions.conf"
    theirs = extensions.read_text()
    # The admin forgot the dialplan's #include.
    extensions.write_text(theirs.split("#include")[0])
    await own_asterisk.cli("dialplan reload")
    try:
        code, out, err = await _iobridge(own_asterisk.env, "serve")
    finally:
        extensions.write_text(theirs)
        await own_asterisk.cli("dialplan reload")
    assert code == 1, (out, err)
    lines = err[err.index("iobridge: ") :].strip().splitlines()  # after the log lines
    assert "lacks what io-bridge needs" in lines[0]
    assert [line for line in lines if "[iobridge-keys]" in line] == [
        "the dialplan has no [iobridge-keys]: #include iobridge-extensions.conf "
        "(iobridge asterisk config --for-existing) and run `dialplan reload`"
    ]
    assert any("[iobridge-entry]" in line for line in lines)


async def test_serve_refuses_an_ami_user_that_hears_no_call_events(
    own_asterisk: OwnAsterisk,
) -> None:
    manager = Path(own_asterisk.env["IOBRIDGE_STATE_DIR"]).parent / "for-asterisk"
    manager /= "iobridge-manager.conf"
    ours = manager.read_text()
    assert "read = system,call,user,reporting" in ours
    manager.write_text(ours.replace("read = system,call,user,reporting", "read = system"))
    await own_asterisk.cli("manager reload")
    try:
        code, out, err = await _iobridge(own_asterisk.env, "serve")
    finally:
        manager.write_text(ours)
        await own_asterisk.cli("manager reload")
    assert code == 1, (out, err)
    assert err[err.index("iobridge: ") :].strip().splitlines()[1:] == [
        "the AMI user 'iobridge' hears no call events: it needs read = system,call and the "
        "eventfilter lines of iobridge-manager.conf (`manager reload`)"
    ]


async def test_a_hand_raised_with_star_9_reaches_the_stack_through_the_admins_asterisk(
    own_asterisk: OwnAsterisk, tmp_path: Path
) -> None:
    env = own_asterisk.env
    log = (tmp_path / "serve.log").open("ab")
    serve = await asyncio.create_subprocess_exec(
        IOBRIDGE, "serve", env=env, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log
    )
    log.close()
    caller: Caller | None = None
    try:
        await eventually(
            lambda: _connected(env, serve, tmp_path / "serve.log"), timeout=60, every=0.5
        )
        plan = CallPlan(
            target_host="127.0.0.1",
            target_port=int(env["IOBRIDGE_SIP_PORT"]),
            extension="1000",
            keys=PIN + "#",
            stay=60,
            caller_id=unique_caller_id("own"),
            later_keys=("*9",),
            local_ip=fresh_loopback(),
        )
        caller = Caller(plan, tmp_path / "caller")
        await caller.start()
        await eventually(lambda: _in_room(env), timeout=30)
        await caller.press("*9")
        await eventually(lambda: _queue(env), timeout=15)
        (entry,) = await _queue(env)
        assert entry["caller_id"] == plan.caller_id
    finally:
        if caller is not None:
            await caller.hangup()
        serve.send_signal(signal.SIGTERM)
        await asyncio.wait_for(serve.wait(), 20)


async def _connected(env: dict[str, str], serve: asyncio.subprocess.Process, log: Path) -> bool:
    if serve.returncode is not None:
        raise AssertionError(f"serve exited {serve.returncode}: see {log}")
    health = await _fetch(env, "/healthz")
    return bool(health and health.get("pbx") == "connected")


async def _in_room(env: dict[str, str]) -> bool:
    room = await _fetch(env, f"/api/v1/rooms/{ROOM}")
    return bool(room and room.get("participants"))


async def _queue(env: dict[str, str]) -> list[dict[str, Any]]:
    room = await _fetch(env, f"/api/v1/rooms/{ROOM}")
    return list(room["stack"]["queue"]) if room else []
