"""Kamailio, the SIP proxy in front of several Asterisk nodes (docs/admin.md, "More than one
machine"): its configuration rendered from ``cluster-config/`` (readable by a Kamailio admin
as it is: only addresses and paths are filled in), and, for ``iobridge up --nodes N``, the
process itself (``KamailioProcess``), Debian's ``kamailio`` in the foreground."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import shutil
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path

from bridge.asterisk.config_files import AsteriskConfigError, render
from bridge.asterisk.process import _die_with_parent, asterisk_environment
from bridge.domain.nodes import Address, NodeSpec
from bridge.settings import DATA_FILES, PRIVATE_FILE, make_private_dir

CLUSTER_CONFIG = DATA_FILES / "cluster-config"
PING_SECONDS = 2  # a node that stops answering is skipped for new calls within about this


class KamailioError(Exception):
    """Kamailio could not be configured or started; the message says why in one line."""


def render_proxy(
    folder: Path,
    listen: Address,
    nodes: Sequence[NodeSpec],
    *,
    templates: Path = CLUSTER_CONFIG,
    ping_seconds: int = PING_SECONDS,
) -> Path:
    """Write kamailio.cfg and dispatcher.list into ``folder``; return kamailio.cfg's path."""
    make_private_dir(folder)
    values: dict[str, object] = {
        "listen_host": listen.host,
        "listen_port": listen.port,
        "dispatcher_list": folder / "dispatcher.list",
        "ping_seconds": ping_seconds,
        "nodes": list(nodes),
    }
    for name in ("kamailio.cfg", "dispatcher.list"):
        try:
            text = render(templates / name, values)
        except AsteriskConfigError as exc:
            raise KamailioError(str(exc)) from exc
        fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
    return folder / "kamailio.cfg"


def kamailio_binary() -> Path:
    found = shutil.which("kamailio") or shutil.which("kamailio", path="/usr/sbin:/sbin")
    if found is None:
        raise KamailioError(
            "kamailio is not installed: apt-get install kamailio (Debian's package), "
            "needed for --nodes"
        )
    return Path(found)


class KamailioProcess:
    """One Kamailio, owned by ``iobridge up --nodes N`` (or by a test)."""

    def __init__(self, folder: Path, listen: Address, nodes: Sequence[NodeSpec]) -> None:
        self.folder = folder
        self.listen = listen
        self.nodes = tuple(nodes)
        self.log = folder / "kamailio.log"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, timeout: float = 10.0) -> None:
        binary = kamailio_binary()
        config = render_proxy(self.folder, self.listen, self.nodes)
        argv = [str(binary), "-f", str(config), "-DD", "-E", "-Y", str(self.folder)]
        argv += ["-P", str(self.folder / "kamailio.pid"), "-w", str(self.folder)]
        checked = await asyncio.create_subprocess_exec(
            *argv[:3], "-c", stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        out, _ = await checked.communicate()
        if checked.returncode != 0:
            lines = out.decode(errors="replace").splitlines()
            errors = [ln for ln in lines if "CRITICAL" in ln] or [
                ln for ln in lines if "ERROR" in ln
            ]
            raise KamailioError(f"{config}: {errors[0].strip() if errors else 'does not load'}")
        log = self.log.open("ab")
        try:
            self.process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=asterisk_environment(),  # none of io-bridge's settings
                start_new_session=True,
                preexec_fn=functools.partial(_die_with_parent, 0o077),
            )
        finally:
            log.close()
        await self._wait_listening(timeout)

    async def _wait_listening(self, timeout: float) -> None:
        assert self.process is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if self.process.returncode is not None:
                raise KamailioError(
                    f"kamailio exited at start (code {self.process.returncode}); see {self.log}"
                )
            if _listening(self.listen):
                return
            await asyncio.sleep(0.1)
        await self.stop()
        raise KamailioError(f"kamailio did not listen on {self.listen} within {timeout:.0f} s")

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    async def stop(self, timeout: float = 5.0) -> None:
        proc = self.process
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()


def _listening(address: Address) -> bool:
    """A UDP socket bound to ``address`` (IPv4), as /proc/net/udp lists it."""
    host = "".join(f"{int(part):02X}" for part in reversed(address.host.split(".")))
    with contextlib.suppress(OSError):
        return f" {host}:{address.port:04X} " in Path("/proc/net/udp").read_text()
    return False
