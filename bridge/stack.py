"""The whole stack in one process: Asterisk as a child, the database, the bridge service,
its FastAGI server and the web app. ``iobridge up`` and the test session both run this."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO

from aiohttp import web

from bridge.asterisk.agi import agi_handler
from bridge.asterisk.install import AsteriskInstall, AsteriskInstallError, ensure_asterisk
from bridge.asterisk.pbx import Pbx, PbxError, busy_ports
from bridge.roomsfile import RoomsFileError, load_rooms_file
from bridge.service import BridgeService
from bridge.settings import PRIVATE_FILE, Settings, make_private_dir
from bridge.store import rooms
from bridge.store.db import Database, upgrade
from bridge.web.app import create_app
from bridge.web.limits import ConnectionCounter, HttpLimits
from bridge.web.limits import serve as serve_with_limits

log = logging.getLogger(__name__)


class StackError(Exception):
    """The stack cannot start; the message is one line that names the cause."""


class PidFile:
    """An exclusive lock on the state folder: one running stack per state folder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        make_private_dir(self.path.parent)
        handle = os.fdopen(os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE), "r+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            other = handle.read().strip() or "?"
            handle.close()
            raise StackError(
                f"io-bridge is already running from {self.path.parent} (pid {other}); stop it first"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()
            self._handle.close()
            self._handle = None


class Stack:
    """Start and stop everything, in order; ``stop()`` undoes whatever ``start()`` did."""

    def __init__(self, settings: Settings, progress: Callable[[str], None] = print) -> None:
        self.settings = settings
        self.progress = progress
        self.pidfile = PidFile(settings.pid_file)
        self.install: AsteriskInstall | None = None
        self.pbx: Pbx | None = None
        self.db: Database | None = None
        self.service: BridgeService | None = None
        self._agi_server: asyncio.base_events.Server | None = None
        self._web: web.AppRunner | None = None
        self._http_server: asyncio.Server | None = None
        self.http_connections: ConnectionCounter | None = None
        self._service_task: asyncio.Task[None] | None = None
        self._pbx_watch: asyncio.Task[None] | None = None

    async def start(self, *, with_pbx: bool = True) -> None:
        try:
            await self._start(with_pbx)
        except BaseException:
            await self.stop()
            raise

    async def _start(self, with_pbx: bool) -> None:
        settings = self.settings
        self.pidfile.acquire()
        settings.secure_state_dir()
        taken = busy_ports(settings, with_pbx)
        if taken:
            raise StackError(str(taken[0]))
        rooms_file = settings.rooms_file
        if with_pbx:
            self.install = await self._ensure_asterisk()
        url = settings.effective_database_url
        try:
            await upgrade(url)
        except Exception as exc:  # alembic and the drivers raise many kinds; say which
            raise StackError(f"database {url.split('@')[-1]}: migrations failed: {exc}") from exc
        self.db = Database(url)
        async with self.db.sessions.begin() as session:
            if not await rooms.has_rooms(session):
                if not rooms_file.exists():
                    raise StackError(
                        f"rooms file not found: {rooms_file} (set IOBRIDGE_ROOMS_FILE)"
                    )
                try:
                    config = load_rooms_file(rooms_file)
                except RoomsFileError as exc:
                    raise StackError(
                        f"{exc.problems[0]} (run: iobridge rooms check {rooms_file})"
                    ) from exc
                await rooms.sync_rooms(session, config)
                self.progress(f"loaded {config.summary()} from {rooms_file}")
        if with_pbx:
            assert self.install is not None
            self.pbx = Pbx(settings, self.install)
            try:
                await self.pbx.start()
            except PbxError as exc:
                raise StackError(str(exc)) from exc
        await self.start_service()
        if with_pbx:
            await self.wait_connected()
            self._pbx_watch = asyncio.get_running_loop().create_task(
                self._keep_asterisk_running(), name="asterisk-watch"
            )

    async def _keep_asterisk_running(self) -> None:
        """Asterisk is our child: if it dies, say so and start it again (with backoff)."""
        delay = 1.0
        while self.pbx is not None and self.pbx.process is not None:
            code = await self.pbx.process.wait()
            log.error("asterisk.exited code=%s restarting_in=%.0fs", code, delay)
            await asyncio.sleep(delay)
            try:
                await self.pbx.start()
            except Exception as exc:  # whatever stops it, keep trying: calls depend on it
                log.error("asterisk.restart_failed reason=%s", exc)
                delay = min(delay * 2, 30.0)
            else:
                log.warning("asterisk.restarted pid=%s", self.pbx.pid)
                delay = 1.0

    async def _ensure_asterisk(self) -> AsteriskInstall:
        settings = self.settings
        try:
            return await asyncio.to_thread(
                ensure_asterisk,
                settings.cache_dir,
                mirror=settings.debian_mirror,
                suite=settings.debian_suite,
                keyring=settings.debian_keyring,
                binary=settings.asterisk_binary,
                prefer_system=settings.asterisk_prefer_system,
                progress=self.progress,
            )
        except AsteriskInstallError as exc:
            raise StackError(str(exc)) from exc

    async def start_service(self) -> None:
        """The bridge itself: service, FastAGI server and web app (Asterisk may be down)."""
        assert self.db is not None
        settings = self.settings
        self.service = BridgeService(settings, self.db)
        self._agi_server = await asyncio.start_server(
            agi_handler(
                self.service.desk,
                settings.pin_attempts_per_call,
                keypad=self.service.speakers,
                sounds=settings.sounds_dir,
                max_dialogues=settings.agi_max_dialogues,
            ),
            "127.0.0.1",
            settings.agi_port,
        )
        limits = HttpLimits(
            max_connections=settings.http_max_connections,
            max_connections_per_client=settings.http_max_connections_per_client,
            keepalive_seconds=settings.http_keepalive_seconds,
        )
        runner = web.AppRunner(
            create_app(settings, self.service), access_log=None, **limits.server_options()
        )
        await runner.setup()
        self._web = runner
        assert runner.server is not None
        self._http_server, self.http_connections = await serve_with_limits(
            runner.server, settings.bind_host, settings.http_port, limits
        )
        self._service_task = asyncio.get_running_loop().create_task(
            self.service.run(), name="bridge"
        )
        self._service_task.add_done_callback(_report_death)

    async def wait_connected(self, timeout: float = 15.0) -> None:
        assert self.service is not None
        service = self.service
        await service.roster.wait_until(lambda: service.switchboard.pbx_connected, timeout=timeout)

    async def stop_service(self, ending_calls: bool = False) -> None:
        if self.service is not None:
            with contextlib.suppress(Exception):
                await self.service.close(ending_calls)
        if self._service_task is not None:
            self._service_task.cancel()
            with contextlib.suppress(BaseException):
                await self._service_task
            self._service_task = None
        if self._agi_server is not None:
            self._agi_server.close()
            self._agi_server = None
        if self._http_server is not None:
            self._http_server.close()  # no new connections; cleanup() ends the open ones
            self._http_server = None
        if self._web is not None:
            await self._web.cleanup()
            self._web = None
        self.service = None

    async def restart_service(self) -> None:
        """Stop and start the bridge (not Asterisk): what a service restart does."""
        await self.stop_service()
        await self.start_service()
        await self.wait_connected()

    async def stop(self) -> None:
        if self._pbx_watch is not None:
            self._pbx_watch.cancel()
            with contextlib.suppress(BaseException):
                await self._pbx_watch
            self._pbx_watch = None
        await self.stop_service(ending_calls=self.pbx is not None)
        if self.pbx is not None:
            await self.pbx.stop()
            self.pbx = None
        if self.db is not None:
            await self.db.dispose()
            self.db = None
        self.pidfile.release()


def _report_death(task: asyncio.Task[None]) -> None:
    """The service's tasks (AMI, history, the stack) are not meant to end: say why one did."""
    if task.cancelled():
        return
    if (error := task.exception()) is not None:
        log.error("service.died reason=%r", error, exc_info=error)
