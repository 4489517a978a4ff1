"""``iobridge up``: Asterisk and the bridge service as two processes, so that a crash of the
service drops no call.

This process owns Asterisk (and starts it again if it dies) and runs the bridge service as
a child (``iobridge serve``), started again whenever it dies; the new one resyncs from
Asterisk and carries on every call's history. The child's stdin is a pipe from here, its
lifeline: when it closes (``up`` stopping, or dying), the child ends the calls in history
and stops, then Asterisk stops. Only stopping ``up`` itself ends the calls.

Started by root with two users named (the container image), ``up`` stays root to start
and restart its children, and starts Asterisk as one user and the service as the other
(``bridge.asterisk.users``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable

import aiohttp

from bridge.asterisk.install import AsteriskInstall
from bridge.asterisk.process import AsteriskProcess, AsteriskProcessError, busy_ports
from bridge.asterisk.users import Owners, give_state_dir, owners_of
from bridge.cluster import NodesOnOneMachine, loopback_nodes, write_nodes_file
from bridge.domain.nodes import NodeSpec
from bridge.errors import StartupError
from bridge.provision import provision_rooms
from bridge.runtime import (
    PidFile,
    ensure_asterisk_async,
    keep_asterisk_running,
    open_database,
)
from bridge.settings import Settings

log = logging.getLogger(__name__)

READY_TIMEOUT = 60.0  # first start: migrations, the rooms file, the AMI login
STOP_TIMEOUT = 20.0  # the service ends the calls in history, then exits
STEADY_SECONDS = 60.0  # a service that ran this long restarts at once after a crash


class ServiceDidNotStart(StartupError):
    """The service exited before it was up; it has already said why, in one line."""

    def __init__(self, code: int) -> None:
        super().__init__("")
        self.code = code  # the service's exit status (negative: the signal that ended it)


class Supervisor:
    def __init__(
        self, settings: Settings, progress: Callable[[str], None] = print, node_count: int = 0
    ) -> None:
        self.settings = settings
        self.progress = progress
        self.node_count = node_count  # up --nodes N: N nodes behind Kamailio (bridge.cluster)
        self.pidfile = PidFile(settings.pid_file)
        self.asterisk: AsteriskProcess | None = None
        self.cluster: NodesOnOneMachine | None = None
        self.service: asyncio.subprocess.Process | None = None
        self.owners: Owners | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        settings = self.settings
        self.owners = owners_of(settings)  # before root makes anything
        self.pidfile.acquire()
        taken = busy_ports(settings, with_pbx=True)
        if taken:
            raise StartupError(str(taken[0]))
        # The database and the rooms first: what an admin got wrong shows before Asterisk runs.
        db = await open_database(settings)
        try:
            await provision_rooms(db, settings, self.progress, example_rooms=True)
        finally:
            await db.dispose()
        install = await ensure_asterisk_async(settings, self.progress)
        # Made here, once, before two processes could race to make them.
        settings.ensure_ami_secret()
        settings.ensure_agi_secret()
        settings.ensure_admin_token()
        loop = asyncio.get_running_loop()
        if self.node_count:
            nodes = loopback_nodes(settings, self.node_count)
            settings.nodes_file = write_nodes_file(settings, nodes)  # the service reads it
            self.cluster = NodesOnOneMachine(settings, install, nodes, self.owners)
            await self.cluster.start()
            self.progress(f"Kamailio and {len(nodes)} Asterisk nodes are up: {describe(nodes)}")
        else:
            await self._start_asterisk(install)
        self.service = await self._spawn_service(first=True)
        await self._wait_ready(self.service)
        self._tasks.append(loop.create_task(self._keep_service_running(), name="service"))

    async def _start_asterisk(self, install: AsteriskInstall) -> None:
        self.asterisk = AsteriskProcess(self.settings, install, self.owners)
        try:
            await self.asterisk.start()
        except AsteriskProcessError as exc:
            raise StartupError(str(exc)) from exc
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(keep_asterisk_running(self.asterisk), name="asterisk"))

    async def _spawn_service(self, first: bool = False) -> asyncio.subprocess.Process:
        argv = [sys.executable, "-m", "bridge", "serve", "--lifeline"]
        owner = {}
        if self.owners is not None:
            # What root made in the state folder (the database, the secrets; since then, a
            # command run as root in the container) becomes the service's.
            give_state_dir(self.settings, self.owners)
            owner = self.owners.service.subprocess_options()
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,  # the lifeline
            env=child_environment(self.settings),
            start_new_session=True,  # Ctrl-C is for us: we decide what the service hears
            **owner,
        )
        if not first:
            log.warning("service.restarted pid=%s", process.pid)
        return process

    async def _wait_ready(self, process: asyncio.subprocess.Process) -> None:
        """Until the service answers and is logged in to Asterisk's AMI."""
        url = f"http://{self.settings.local_host}:{self.settings.http_port}/healthz"
        deadline = time.monotonic() + READY_TIMEOUT
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
            while time.monotonic() < deadline:
                if process.returncode is not None:
                    raise ServiceDidNotStart(process.returncode)
                with contextlib.suppress(aiohttp.ClientError, TimeoutError, ValueError):
                    async with http.get(url) as response:
                        health = await response.json()
                    if health.get("pbx") == "connected":
                        return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(process.wait(), 0.2)
        raise StartupError(
            f"the bridge service did not log in to Asterisk's AMI within {READY_TIMEOUT:.0f} s"
        )

    async def _keep_service_running(self) -> None:
        delay = 1.0
        while self.service is not None:
            started = time.monotonic()
            code = await self.service.wait()
            if time.monotonic() - started > STEADY_SECONDS:
                delay = 1.0
            log.error("service.exited code=%s restarting_in=%.0fs", code, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)
            try:
                self.service = await self._spawn_service()
            except OSError as exc:
                log.error("service.restart_failed reason=%s", exc)

    @property
    def service_pid(self) -> int | None:
        return self.service.pid if self.service is not None else None

    async def stop(self) -> None:
        """The service first (it ends the calls in history), then Asterisk (the calls end)."""
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        self._tasks = []
        if self.service is not None:
            await _stop_service(self.service)
            self.service = None
        if self.asterisk is not None:
            await self.asterisk.stop()
            self.asterisk = None
        if self.cluster is not None:
            await self.cluster.stop()
            self.cluster = None
        self.pidfile.release()


async def _stop_service(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None and process.stdin is not None:
        process.stdin.close()  # the lifeline: "Asterisk stops with me"
    try:
        await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
    except TimeoutError:
        log.error("service.stop_timeout pid=%s", process.pid)
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


def describe(nodes: tuple[NodeSpec, ...]) -> str:
    return ", ".join(f"{node.name} {node.sip.host}" for node in nodes)


def child_environment(settings: Settings) -> dict[str, str]:
    """The service's environment: ours, with every setting spelled out, so that it runs
    with exactly our settings (``up --host`` included) however they were given."""
    env = dict(os.environ)
    # Secrets reach it as they reached us (this environment) or from the state folder: a
    # SecretStr spelled out is only stars.
    secrets = {
        name for name, f in Settings.model_fields.items() if "SecretStr" in str(f.annotation)
    }
    secrets.add("webhooks")  # JSON with secrets: it reaches the service as it reached us
    for name, value in settings.model_dump(exclude=secrets).items():
        key = f"IOBRIDGE_{name.upper()}"
        if value is None:
            env.pop(key, None)
        elif isinstance(value, (list, tuple, dict)):  # as pydantic-settings reads them: JSON
            env[key] = json.dumps(value)
        else:
            env[key] = str(value)
    return env
