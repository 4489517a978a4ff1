"""The benchmark's stack: one private Asterisk (run by this process), the bridge service in a
process of its own (``iobridge serve``, so its CPU and memory are its own and it can be killed),
and an AMI client of the benchmark's own that sees every event class (DTMF too).

Asterisk gets the shipped configuration (or any other folder, to compare), copied into the
work folder with two bench-only additions: an AMI user for the benchmark, and the
bare-dialplan baseline (bench/bare_dialplan.py) appended to the dialplan.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from bench.bare_dialplan import render_bare_dialplan
from bridge.asterisk.conference import ConferenceBridge
from bridge.asterisk.install import AsteriskInstall, ensure_asterisk
from bridge.asterisk.process import AsteriskProcess
from bridge.roomsfile import load_rooms_file
from bridge.settings import Settings
from tests.support import AmiWatcher, free_port, free_udp_and_tcp_port

PROJECT_ROOT = Path(__file__).resolve().parents[1]  # the checkout the bench runs from

BENCH_USER = "iobridge-bench"
# The events the benchmark reads (and Newexten into ConfBridge, filtered by its application).
BENCH_EVENTS = (
    "FullyBooted", "SuccessfulAuth", "Newchannel", "Hangup", "DTMFEnd", "AGIExecStart",
    "AGIExecEnd", "ConfbridgeStart", "ConfbridgeEnd", "ConfbridgeJoin", "ConfbridgeLeave",
    "ConfbridgeMute", "ConfbridgeUnmute", "ConfbridgeTalking", "DialBegin",
)  # fmt: skip
Progress = Callable[[str], None]


@dataclass(frozen=True)
class RigOptions:
    workdir: Path
    rooms_file: Path
    config_dir: Path = PROJECT_ROOT / "asterisk-config"
    dialplan_dir: Path = PROJECT_ROOT / "dialplan"
    rtp_ports: int = 4000  # 2,000 calls
    service_log_level: str = "WARNING"  # INFO with --keep: the dialogues' and names' lines


def free_rtp_range(size: int, first: int = 20000, last: int = 60000) -> int:
    """The start of ``size`` consecutive free UDP ports (test suites on this box use some)."""
    for start in range(first, last - size, size):
        with contextlib.ExitStack() as held:
            try:
                for port in range(start, start + size):
                    sock = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
                    sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return start
    raise RuntimeError(f"no {size} free consecutive UDP ports for RTP")


def bench_manager_user(secret: str) -> str:
    """manager.conf's section for the benchmark's own AMI user."""
    return (
        "\n; io-bridge benchmark only: its own AMI user, reading every class (DTMF),\n"
        "; but only the events the benchmark reads: formatting all of them for it\n"
        "; (VarSet, Newexten, RTCP ...) was load the measurement put on Asterisk.\n"
        f"[{BENCH_USER}]\nsecret = {secret}\ndeny = 0.0.0.0/0.0.0.0\n"
        "permit = 127.0.0.1/255.255.255.255\nread = all\n"
        "write = system,call,reporting\n"
        + "".join(f"eventfilter(action(include),name({name})) =\n" for name in BENCH_EVENTS)
        + "eventfilter(action(include),name(Newexten),header(Application),method(exact))"
        " = ConfBridge\n"
        # The announcer's steps (names said, counts), for the names step: a few a second.
        "eventfilter(action(include),name(Newexten),header(Context),method(exact))"
        " = iobridge-announce-play\n"
    )


class Rig:
    def __init__(self, options: RigOptions, progress: Progress) -> None:
        self.options, self.progress = options, progress
        self.asterisk: AsteriskProcess | None = None
        self.ami: AmiWatcher | None = None
        self.service: asyncio.subprocess.Process | None = None
        self._http: aiohttp.ClientSession | None = None
        workdir = options.workdir
        rtp = free_rtp_range(options.rtp_ports)
        self.settings = Settings(
            state_dir=workdir / "state",
            sip_port=free_udp_and_tcp_port(),
            ami_port=free_port(),
            agi_port=free_port(),
            http_port=free_port(),
            rtp_port_start=rtp,
            rtp_port_end=rtp + options.rtp_ports - 1,
            rooms_file=options.rooms_file,
            config_dir=workdir / "asterisk-config",
            dialplan_dir=workdir / "dialplan",
            log_level="WARNING",
        )
        self._bench_secret = secrets.token_urlsafe(16)

    @property
    def ami_login(self) -> str:
        """The bench's own AMI login, ``PORT USER SECRET``, for a client of its own."""
        return f"{self.settings.ami_port} {BENCH_USER} {self._bench_secret}"

    # ---- start and stop ---------------------------------------------------------------------

    async def start(self) -> None:
        install: AsteriskInstall = await asyncio.to_thread(
            ensure_asterisk, self.settings.cache_dir, progress=lambda _: None
        )
        await asyncio.to_thread(self._write_config)
        self.asterisk = AsteriskProcess(self.settings, install)
        await self.asterisk.start()
        self.ami = AmiWatcher(self.settings.ami_port, BENCH_USER, SecretStr(self._bench_secret))
        await self.ami.start()
        self._http = aiohttp.ClientSession(
            headers={
                "Authorization": f"Bearer {self.settings.ensure_admin_token().get_secret_value()}"
            }
        )
        await self.start_service()

    def _write_config(self) -> None:
        opts, s = self.options, self.settings
        for source, target in (
            (opts.config_dir, s.config_dir),
            (opts.dialplan_dir, s.dialplan_dir),
        ):
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(source, target)
        with (s.config_dir / "manager.conf").open("a") as manager:
            manager.write(bench_manager_user(self._bench_secret))
        with (s.dialplan_dir / "extensions.conf").open("a") as dialplan:
            dialplan.write(render_bare_dialplan(load_rooms_file(opts.rooms_file)))

    async def start_service(self) -> float:
        """Start ``iobridge serve``; return when it was spawned (time.time())."""
        s = self.settings
        env = {
            **os.environ,
            "IOBRIDGE_STATE_DIR": str(s.state_dir),
            "IOBRIDGE_SIP_PORT": str(s.sip_port),
            "IOBRIDGE_AMI_PORT": str(s.ami_port),
            "IOBRIDGE_AGI_PORT": str(s.agi_port),
            "IOBRIDGE_HTTP_PORT": str(s.http_port),
            "IOBRIDGE_ROOMS_FILE": str(s.rooms_file),
            "IOBRIDGE_LOG_LEVEL": self.options.service_log_level,
            # Every bench caller comes from 127.0.0.1 (one SIPp process): one source to the
            # guard, which would hold all but 10 prompts at once. The bench measures the
            # bridge, not a storm from one address (docs/admin.md, "Guessing a PIN").
            "IOBRIDGE_GUARD_SOURCE_THRESHOLD": "1000000",
            # And the calls one source may have in the PIN dialogue at once (20 by default):
            # at 20 callers a second, a storm from one SIPp has more than that.
            "IOBRIDGE_GUARD_DIALOGUES_PER_SOURCE": "1000000",
            # SIPp types each PIN 1.5 s after the answer, whatever the prompt is doing; on a
            # busy box some digits arrive before the PIN prompt listens (Asterisk drops keys
            # pressed between AGI commands) and the PIN is wrong. The bench's one address is a
            # venue (allow_sources): each failure would then delay every later caller's prompt
            # (2, 4 ... 60 s, for an hour), their keys would be sent into that wait and lost
            # too, and the storm would stop joining (bench/README.md, announce_names). The
            # bench counts wrong PINs (``wrong_pins``) instead of letting them compound.
            "IOBRIDGE_GUARD_FIRST_DELAY_SECONDS": "0",
            # And the guard's alarm (100 failures from all sources in the hour: an attack,
            # every prompt then spaced to 30 a minute): over a long soak on a loaded box the
            # PINs SIPp loses add up to it, and the soak stopped joining at 47 minutes
            # (bench/README.md, the soak).
            "IOBRIDGE_GUARD_GLOBAL_ALARM": "1000000",
            # Likewise the 20 moderators' panels: one address to the panel's server, which
            # lets one address hold 64 connections (docs/admin.md, "Connections and files").
            "IOBRIDGE_HTTP_MAX_CONNECTIONS_PER_CLIENT": "256",
            # The dial-out step (bench/dialout_bench.py) dials 250 numbers as one moderator,
            # past the daily cap's 200 (docs/admin.md, "Dial-out and toll fraud").
            "IOBRIDGE_DIALOUT_DAILY_LIMIT": "1000",
        }
        log = (self.options.workdir / "service.log").open("ab")
        spawned = time.time()
        try:
            self.service = await asyncio.create_subprocess_exec(
                str(Path(sys.executable).parent / "iobridge"), "serve",
                env=env, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=True,
            )  # fmt: skip
        finally:
            log.close()
        deadline = time.monotonic() + 60
        while await self.pbx_link() != "connected":
            if self.service.returncode is not None:
                raise RuntimeError(f"iobridge serve exited; see {self.options.workdir}/service.log")
            if time.monotonic() > deadline:
                raise RuntimeError("iobridge serve did not connect to Asterisk within 60 s")
            await asyncio.sleep(0.05)
        return spawned

    async def kill_service(self) -> None:
        if self.service is not None and self.service.returncode is None:
            self.service.send_signal(signal.SIGKILL)
            await self.service.wait()

    async def stop(self) -> None:
        if self.service is not None and self.service.returncode is None:
            self.service.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.service.wait(), 15)
            except TimeoutError:
                await self.kill_service()
        if self._http is not None:
            await self._http.close()
        if self.ami is not None:
            await self.ami.stop()
        if self.asterisk is not None:
            await self.asterisk.stop()

    # ---- asking the service and Asterisk -------------------------------------------------------

    @property
    def pids(self) -> dict[str, int]:
        found = {}
        if self.asterisk is not None and self.asterisk.pid:
            found["asterisk"] = self.asterisk.pid
        if self.service is not None and self.service.returncode is None:
            found["service"] = self.service.pid
        return found

    @property
    def web_url(self) -> str:
        """The service's web address: its API and the moderators' panel."""
        return f"http://127.0.0.1:{self.settings.http_port}"

    async def _get(self, path: str) -> dict[str, Any]:
        """A GET of the service's API, or {} while it does not answer."""
        assert self._http is not None
        url = f"{self.web_url}/api/v1{path}"
        try:
            async with self._http.get(url, timeout=aiohttp.ClientTimeout(total=5)) as response:
                return dict(await response.json()) if response.status == 200 else {}
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return {}

    async def wrong_pins(self) -> int:
        """Callers the service has told "wrong PIN" so far (its metrics), -1 while it does
        not answer."""
        assert self._http is not None
        token = self.settings.ensure_metrics_token().get_secret_value()
        try:
            async with self._http.get(
                f"{self.web_url}/metrics",
                headers={"Authorization": f"Bearer {token}"},
                timeout=aiohttp.ClientTimeout(total=5),
            ) as response:
                if response.status != 200:
                    return -1
                text = await response.text()
        except (aiohttp.ClientError, TimeoutError):
            return -1
        return sum(
            int(sample.value)
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "iobridge_pin_refusals_total"
            and sample.labels.get("reason") == "wrong-pin"
        )

    async def pbx_link(self) -> str:
        """The service's link to Asterisk ("connected"), or "" while it does not answer."""
        return str((await self._get("/rooms")).get("pbx", ""))

    async def participants(self, room: str) -> list[dict[str, Any]]:
        """Who the service has in ``room`` (its /api/v1/rooms/ROOM), [] while it does not
        answer."""
        return list((await self._get(f"/rooms/{room}")).get("participants", []))

    async def asterisk_rooms(self) -> dict[str, set[str]]:
        """Every live room and its participants' channels, as Asterisk lists them."""
        assert self.ami is not None
        snapshot = await ConferenceBridge(self.ami.client, self.settings.sounds_dir).snapshot()
        return {seen.room: {p.channel for p in seen.participants} for seen in snapshot.rooms}

    async def channels(self) -> list[dict[str, str]]:
        assert self.ami is not None
        replies = await self.ami.client.send({"Action": "CoreShowChannels"}, timeout=20)
        return [dict(m.items()) for m in replies if m.get("Event") == "CoreShowChannel"]

    async def taskprocessors(self) -> dict[str, tuple[int, int]]:
        """Asterisk's task queues: name -> (in queue now, deepest ever)."""
        assert self.asterisk is not None
        _, out = await self.asterisk.cli("core show taskprocessors")
        queues = {}
        for line in out.splitlines():
            fields = line.split()
            if len(fields) >= 6 and all(re.fullmatch(r"\d+", f) for f in fields[1:4]):
                queues[fields[0]] = (int(fields[2]), int(fields[3]))
        return queues


class QueueWatch:
    """Asterisk's task queues during a step, polled once a second: each queue's deepest.

    Asterisk keeps each queue's deepest ever ("Max Depth"); a queue whose record rose during
    the step reached it then, so that counts too (it catches a spike between two polls)."""

    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self.deepest: dict[str, int] = {}
        self._before: dict[str, int] | None = None
        self._task: asyncio.Task[None] | None = None

    def __enter__(self) -> QueueWatch:
        self._task = asyncio.get_running_loop().create_task(self._poll())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _poll(self) -> None:
        while True:
            with contextlib.suppress(Exception):
                queues = await self.rig.taskprocessors()
                if self._before is None:
                    self._before = {name: depth for name, (_, depth) in queues.items()}
                for name, (queued, depth) in queues.items():
                    rose = depth if depth > self._before.get(name, 0) else 0
                    self.deepest[name] = max(self.deepest.get(name, 0), queued, rose)
            await asyncio.sleep(1.0)

    def top(self, n: int = 5) -> dict[str, int]:
        found = sorted(self.deepest.items(), key=lambda kv: -kv[1])
        return {name: depth for name, depth in found[:n] if depth}


class Sampler:
    """CPU (% of one core) and RSS (MB) of named processes, every ``every`` seconds."""

    def __init__(self, pids: dict[str, int], every: float = 0.5) -> None:
        import psutil  # the `bench` extra

        self.procs = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.every = every
        self.cpu: dict[str, list[float]] = {name: [] for name in pids}
        self.rss: dict[str, list[float]] = {name: [] for name in pids}
        self._task: asyncio.Task[None] | None = None

    def __enter__(self) -> Sampler:
        self._task = asyncio.get_running_loop().create_task(self._sample())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _sample(self) -> None:
        last = {n: (time.monotonic(), sum(p.cpu_times()[:2])) for n, p in self.procs.items()}
        while True:
            await asyncio.sleep(self.every)
            for name, proc in self.procs.items():
                with contextlib.suppress(Exception):
                    now, used = time.monotonic(), sum(proc.cpu_times()[:2])
                    then, before = last[name]
                    self.cpu[name].append(100 * (used - before) / (now - then))
                    self.rss[name].append(proc.memory_info().rss / 2**20)
                    last[name] = (now, used)

    def figures(self) -> dict[str, dict[str, float | None]]:
        out: dict[str, dict[str, float | None]] = {}
        for name in self.procs:
            cpu, rss = self.cpu[name], self.rss[name]
            out[name] = {
                "cpu_mean_pct": sum(cpu) / len(cpu) if cpu else None,
                "cpu_peak_pct": max(cpu, default=None),
                "rss_max_mb": max(rss, default=None),
            }
        return out
