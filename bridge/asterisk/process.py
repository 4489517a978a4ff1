"""Run Asterisk as a child process (``AsteriskProcess``): render its configuration, start, stop.

The files under ``asterisk-config/`` and ``dialplan/`` are rendered whole into the run folder
(``bridge.asterisk.config_files``): only ports, paths and the AMI and FastAGI
secrets are filled in. Nothing in the repository is written to.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import os
import resource
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bridge.asterisk.config_files import AsteriskConfigError, render, template_values, templates
from bridge.asterisk.install import AsteriskInstall
from bridge.asterisk.name_recording import names_folder
from bridge.asterisk.node_config import NodeLayout, node_values, render_node_files
from bridge.asterisk.release import record_started
from bridge.asterisk.sound_languages import lay_out_data_dir
from bridge.asterisk.users import ASTERISK_UMASK, Owners, give_asterisk_dirs
from bridge.settings import PRIVATE_FILE, Settings, make_private_dir

# Without these, a caller cannot reach a room; Asterisk loading without them is a broken config.
PR_SET_PDEATHSIG = 1
REQUIRED_MODULES = ("res_pjsip.so", "chan_pjsip.so", "app_confbridge.so", "res_agi.so")
RUN_SUBDIRS = ("etc", "lib", "spool", "run", "log", "cache")


class AsteriskProcessError(Exception):
    """Asterisk could not be configured or started; the message says why in one line."""


@dataclass(frozen=True)
class PortInUse:
    port: int
    protocol: str
    purpose: str
    setting: str

    def __str__(self) -> str:
        return (
            f"port {self.port}/{self.protocol} ({self.purpose}) is already in use: "
            f"stop what holds it or set {self.setting}"
        )


def busy_ports(settings: Settings, with_pbx: bool = True) -> list[PortInUse]:
    """The ports this stack needs that something else already holds."""
    wanted = [
        (settings.agi_port, "tcp", "FastAGI", "IOBRIDGE_AGI_PORT"),
        (settings.http_port, "tcp", "panel", "IOBRIDGE_HTTP_PORT"),
    ]
    if with_pbx:
        wanted = [
            (settings.sip_port, "udp", "SIP", "IOBRIDGE_SIP_PORT"),
            (settings.ami_port, "tcp", "AMI", "IOBRIDGE_AMI_PORT"),
            *wanted,
        ]
    return [PortInUse(*w) for w in wanted if not _port_free(w[0], w[1], settings.bind_host)]


def _port_free(port: int, protocol: str, host: str) -> bool:
    kind = socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM
    bind_host = "127.0.0.1" if protocol == "tcp" and port != 0 else host
    with socket.socket(socket.AF_INET, kind) as sock:
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((bind_host, port))
        except OSError:
            return False
    return True


def render_config(
    settings: Settings,
    install: AsteriskInstall,
    owners: Owners | None = None,
    layout: NodeLayout | None = None,
) -> Path:
    """Write Asterisk's configuration into its folder; return asterisk.conf's path. With
    ``owners`` (root rendering for Asterisk's own user), its folders are then handed to it;
    with ``layout``, it is one node of several (``bridge.asterisk.node_config``)."""
    run_dir = settings.asterisk_dir
    for folder in (run_dir, *(run_dir / sub for sub in RUN_SUBDIRS)):
        make_private_dir(folder)
    if owners is None:
        make_private_dir(settings.recordings_dir)
        make_private_dir(names_folder(settings.recordings_dir))
    values = template_values(settings, install)
    # Asterisk's data through a folder of links: the tree's, plus each language's prompts.
    values["data_dir"] = lay_out_data_dir(run_dir / "data", install.data_dir, settings.sounds_dir)
    if layout is not None:
        values |= node_values(layout)
    try:
        rendered = {template.name: render(template, values) for template in templates(settings)}
        if layout is not None:
            rendered |= render_node_files(settings, values)
    except AsteriskConfigError as exc:
        raise AsteriskProcessError(str(exc)) from exc
    for name, text in rendered.items():
        target = run_dir / "etc" / name
        # manager.conf holds the AMI secret: every rendered file is private to us,
        # also one that an earlier run or a hand left with a looser mode.
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
        os.fchmod(fd, PRIVATE_FILE)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
    if owners is not None:
        give_asterisk_dirs(settings, owners)
    # Asterisk reads asterisk.conf from -C; the rest from astetcdir.
    return run_dir / "etc" / "asterisk.conf"


# Looked up here, in the parent: after fork, the child must only make the call.
_prctl = ctypes.CDLL(None, use_errno=True).prctl


def asterisk_environment() -> dict[str, str]:
    """Asterisk's environment: ours without io-bridge's settings, which it never reads and
    which may carry the database URL or the PIN key."""
    return {key: value for key, value in os.environ.items() if not key.startswith("IOBRIDGE_")}


def _die_with_parent(umask: int = 0o077) -> None:
    """In the child, before exec: if the stack dies without stopping Asterisk (SIGKILL,
    the OOM killer), the kernel sends Asterisk SIGTERM rather than leaving it behind.
    And what Asterisk writes into the state folder (recordings, logs, its database) is
    private to us whatever umask the stack was started with (under a user of its own,
    recordings readable by the service's group); and open files up to the hard
    limit: a caller holds about 5, and the usual soft limit (1,024) stops Asterisk at about
    200 callers where it cannot apply its own maxfiles."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    os.umask(umask)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class AsteriskProcess:
    """One Asterisk process, owned by the stack (or by the test session)."""

    def __init__(
        self,
        settings: Settings,
        install: AsteriskInstall,
        owners: Owners | None = None,
        layout: NodeLayout | None = None,
    ) -> None:
        self.settings = settings
        self.install = install
        self.owners = owners  # root started us: Asterisk runs as owners.asterisk
        self.layout = layout  # one node of several (settings: node_config.node_settings)
        self.conf = settings.asterisk_dir / "etc" / "asterisk.conf"
        self.console_log = settings.asterisk_dir / "log" / "console.log"
        self.process: asyncio.subprocess.Process | None = None
        self.booted_at: float | None = None  # time.monotonic() when it last finished booting

    def cli_argv(self, *command: str) -> list[str]:
        """The argv of Asterisk's remote console for this stack (``-rx CMD`` for one command)."""
        return self.install.command("-C", str(self.conf), "-r", *command)

    async def start(self, timeout: float = 60.0) -> None:
        render_config(self.settings, self.install, self.owners, self.layout)
        record_started(self.settings, self.install)
        log = self.console_log.open("ab")  # appended: a crash's last words survive a restart
        owner = self.owners.asterisk.subprocess_options() if self.owners else {}
        umask = ASTERISK_UMASK if self.owners else 0o077
        try:
            self.process = await asyncio.create_subprocess_exec(
                *self.install.command("-f", "-n", "-C", str(self.conf)),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=asterisk_environment(),
                start_new_session=True,  # Ctrl-C reaches the stack, which stops Asterisk itself
                preexec_fn=functools.partial(_die_with_parent, umask),
                **owner,
            )
        finally:
            log.close()
        try:
            await asyncio.wait_for(self._wait_booted(), timeout)
            self.booted_at = time.monotonic()
        except TimeoutError:
            await self.stop()
            raise AsteriskProcessError(
                f"Asterisk did not finish booting within {timeout:.0f} s"
            ) from None
        except AsteriskProcessError:
            await self.stop()
            raise

    async def _wait_booted(self) -> None:
        assert self.process is not None
        while True:
            if self.process.returncode is not None:
                raise AsteriskProcessError(
                    f"Asterisk exited at start (code {self.process.returncode}): "
                    f"{self._last_error()}"
                )
            code, _ = await self.cli("core waitfullybooted", timeout=10)
            if code == 0:
                break
            await asyncio.sleep(0.2)
        missing = []
        for module in REQUIRED_MODULES:
            _, out = await self.cli(f"module show like {module}")
            if "Running" not in out:
                missing.append(module)
        if missing:
            raise AsteriskProcessError(
                f"Asterisk started without {', '.join(missing)}; "
                f"see {self.settings.asterisk_dir / 'log'}: "
                f"{self._last_error()}"
            )

    def _last_error(self) -> str:
        lines: list[str] = []
        for path in (self.console_log, self.settings.asterisk_dir / "log" / "messages.log"):
            with contextlib.suppress(OSError):
                lines += path.read_text(errors="replace").splitlines()
        errors = [ln.strip() for ln in lines if "ERROR" in ln or "Unable" in ln or "error" in ln]
        return errors[-1] if errors else (lines[-1].strip() if lines else "no output")

    async def cli(self, command: str, timeout: float = 15.0) -> tuple[int, str]:
        """Run one CLI command on the running Asterisk, as ``asterisk -rx`` does."""
        proc = await asyncio.create_subprocess_exec(
            *self.cli_argv("-x", command),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            return 124, ""
        return proc.returncode or 0, out.decode(errors="replace")

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop Asterisk: ask politely, then SIGTERM, then SIGKILL. Never leaves it behind."""
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

    async def kill(self) -> None:
        """SIGKILL, for fault tests that need Asterisk to vanish mid-call."""
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()
