"""The bridge in one process: the database, the bridge service, its FastAGI server and the
web app, and (for the test session) Asterisk as a child. ``iobridge serve`` runs the service
part alone; ``iobridge up`` runs that as a supervised child (see ``bridge.supervisor``)."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from aiohttp import web

from bridge.asterisk.agi import agi_handler
from bridge.asterisk.install import AsteriskInstall, AsteriskInstallError, ensure_asterisk
from bridge.asterisk.pbx import Pbx, PbxError, PortInUse, busy_ports
from bridge.domain.rooms import RoomsConfig
from bridge.roomsfile import RoomsFileError, load_rooms_file
from bridge.service import BridgeService
from bridge.settings import EXAMPLE_ROOMS_FILE, Settings
from bridge.store import rooms
from bridge.store.db import Database, DatabaseUnusable, upgrade
from bridge.web.app import create_app

log = logging.getLogger(__name__)


class StackError(Exception):
    """The stack cannot start; the message is one line that names the cause."""


class PidFile:
    """An exclusive lock on the state folder: one running stack per state folder. The
    kernel drops the lock with the process, however it dies."""

    def __init__(self, path: Path, what: str = "io-bridge") -> None:
        self.path = path
        self.what = what
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            other = handle.read().strip() or "?"
            handle.close()
            raise StackError(
                f"{self.what} is already running from {self.path.parent} (pid {other}); "
                "stop it first"
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
    """Start and stop everything, in order; ``stop()`` undoes whatever ``start()`` did.

    ``provision``: check the rooms (an empty database needs the admin's rooms file; a full
    one is compared with it). Off under ``up``, which has done it before starting Asterisk.
    """

    def __init__(
        self,
        settings: Settings,
        progress: Callable[[str], None] = print,
        *,
        provision: bool = True,
    ) -> None:
        self.settings = settings
        self.progress = progress
        self.provision = provision
        self.pidfile = PidFile(settings.service_pid_file, "the io-bridge service")
        self.install: AsteriskInstall | None = None
        self.pbx: Pbx | None = None
        self.db: Database | None = None
        self.service: BridgeService | None = None
        self._agi_server: asyncio.base_events.Server | None = None
        self._web: web.AppRunner | None = None
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
        taken = busy_ports(settings, with_pbx)
        if taken:
            raise StackError(str(taken[0]))
        if with_pbx:
            self.install = await ensure_asterisk_async(settings, self.progress)
        self.db = await open_database(settings)
        if self.provision:
            await provision_rooms(self.db, settings, self.progress)
        if with_pbx:
            assert self.install is not None
            self.pbx = Pbx(settings, self.install)
            try:
                await self.pbx.start()
            except PbxError as exc:
                raise StackError(str(exc)) from exc
        await self.start_service()
        if with_pbx:
            assert self.pbx is not None
            await self.wait_connected()
            self._pbx_watch = asyncio.get_running_loop().create_task(
                keep_asterisk_running(self.pbx), name="asterisk-watch"
            )

    async def start_service(self) -> None:
        """The bridge itself: service, FastAGI server and web app (Asterisk may be down)."""
        assert self.db is not None
        settings = self.settings
        self.service = BridgeService(settings, self.db)
        try:
            self._agi_server = await asyncio.start_server(
                agi_handler(self.service, settings.pin_attempts_per_call),
                "127.0.0.1",
                settings.agi_port,
            )
        except OSError as exc:
            taken = PortInUse(settings.agi_port, "tcp", "FastAGI", "IOBRIDGE_AGI_PORT")
            raise StackError(str(taken)) from exc
        runner = web.AppRunner(create_app(settings, self.service), access_log=None)
        await runner.setup()
        self._web = runner
        try:
            await web.TCPSite(runner, settings.bind_host, settings.http_port).start()
        except OSError as exc:
            taken = PortInUse(settings.http_port, "tcp", "panel", "IOBRIDGE_HTTP_PORT")
            raise StackError(str(taken)) from exc
        self._service_task = asyncio.get_running_loop().create_task(
            self.service.run(), name="bridge"
        )
        write_runtime_file(settings)

    @property
    def service_task(self) -> asyncio.Task[None] | None:
        """The service's own work (AMI, history): it only ends by failing or being stopped."""
        return self._service_task

    async def wait_connected(self, timeout: float = 15.0) -> None:
        assert self.service is not None
        service = self.service
        await service.wait_until(lambda: service.switchboard.pbx_connected, timeout=timeout)

    async def stop_service(self, ending_calls: bool = False) -> None:
        with contextlib.suppress(OSError):
            self.settings.runtime_file.unlink()
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
        if self._web is not None:
            await self._web.cleanup()
            self._web = None
        self.service = None

    async def restart_service(self) -> None:
        """Stop and start the bridge (not Asterisk): what a service restart does."""
        await self.stop_service()
        await self.start_service()
        await self.wait_connected()

    async def stop(self, ending_calls: bool | None = None) -> None:
        """Stop; the calls end in history when our own Asterisk stops with us, or when
        ``ending_calls`` says the Asterisk we serve is going away (``up`` stopping)."""
        if self._pbx_watch is not None:
            self._pbx_watch.cancel()
            with contextlib.suppress(BaseException):
                await self._pbx_watch
            self._pbx_watch = None
        if ending_calls is None:
            ending_calls = self.pbx is not None
        await self.stop_service(ending_calls=ending_calls)
        if self.pbx is not None:
            await self.pbx.stop()
            self.pbx = None
        if self.db is not None:
            await self.db.dispose()
            self.db = None
        self.pidfile.release()


async def open_database(settings: Settings) -> Database:
    """The database, migrated to this version."""
    url = settings.effective_database_url
    try:
        await upgrade(url)
    except DatabaseUnusable as exc:
        raise StackError(str(exc)) from exc
    return Database(url)


async def provision_rooms(
    db: Database,
    settings: Settings,
    progress: Callable[[str], None],
    *,
    example_rooms: bool = False,
) -> None:
    """An empty database gets the admin's rooms file, or the example rooms where they may
    go (``up`` on loopback); a full one is compared with the file, and the admin told how
    to apply it when they differ. A rooms file is never silently ignored."""
    source = settings.rooms_file
    examples_allowed = example_rooms and settings.on_loopback
    async with db.sessions() as session:
        empty = not await rooms.has_rooms(session)
    # Known PINs and a known moderator password: never where others can dial or log in.
    if not empty and not examples_allowed and await _holds_example_rooms(db):
        raise StackError(
            "the database holds the example rooms, which are only for up on 127.0.0.1: "
            "sync your own rooms file first (iobridge rooms sync FILE)"
        )
    if source is None:
        if empty and not examples_allowed:
            raise StackError(
                "no rooms yet and no rooms file: write your own (see docs/admin.md) and "
                "set IOBRIDGE_ROOMS_FILE (the example rooms are only for up on 127.0.0.1)"
            )
        if empty:
            examples = _read_rooms(EXAMPLE_ROOMS_FILE)
            await _load(db, examples)
            progress(_examples_line(examples))
        return
    if not source.exists():
        if empty:
            raise StackError(f"rooms file not found: {source} (set IOBRIDGE_ROOMS_FILE)")
        progress(f"rooms file not found: {source}; using the rooms in the database")
        return
    config = _read_rooms(source)
    if empty:
        await _load(db, config)
        progress(f"loaded {config.summary()} from {source}")
        return
    changes = await _pending_changes(db, config)
    if changes:
        progress(
            f"{source} differs from the database ({changes}); "
            f"apply it with: iobridge rooms sync {source}"
        )


async def _load(db: Database, config: RoomsConfig) -> None:
    async with db.sessions.begin() as session:
        await rooms.sync_rooms(session, config)


async def _holds_example_rooms(db: Database) -> bool:
    return not await _pending_changes(db, _read_rooms(EXAMPLE_ROOMS_FILE))


async def _pending_changes(db: Database, config: RoomsConfig) -> str:
    """What ``rooms sync`` would change, as 'N changes' (empty: nothing)."""
    async with db.sessions() as session, session.begin():
        try:
            report = await rooms.sync_rooms(session, config)
        except rooms.SyncRefused:
            return "a room in the file is missing from it while a call goes on"
        finally:
            await session.rollback()
    count = len(report.added) + len(report.changed) + len(report.removed)
    return "" if report.empty else f"{count} change{'s' if count != 1 else ''}"


async def ensure_asterisk_async(
    settings: Settings, progress: Callable[[str], None]
) -> AsteriskInstall:
    try:
        return await asyncio.to_thread(
            ensure_asterisk,
            settings.cache_dir,
            mirror=settings.debian_mirror,
            suite=settings.debian_suite,
            binary=settings.asterisk_binary,
            prefer_system=settings.asterisk_prefer_system,
            progress=progress,
        )
    except AsteriskInstallError as exc:
        raise StackError(str(exc)) from exc


async def keep_asterisk_running(pbx: Pbx) -> None:
    """Asterisk is our child: if it dies, say so and start it again (with backoff)."""
    delay = 1.0
    while pbx.process is not None:
        code = await pbx.process.wait()
        log.error("asterisk.exited code=%s restarting_in=%.0fs", code, delay)
        await asyncio.sleep(delay)
        try:
            await pbx.start()
        except Exception as exc:  # whatever stops it, keep trying: calls depend on it
            log.error("asterisk.restart_failed reason=%s", exc)
            delay = min(delay * 2, 30.0)
        else:
            log.warning("asterisk.restarted pid=%s", pbx.pid)
            delay = 1.0


def _read_rooms(path: Path) -> RoomsConfig:
    try:
        return load_rooms_file(path)
    except RoomsFileError as exc:
        raise StackError(f"{exc.problems[0]} (run: iobridge rooms check {path})") from exc


def _examples_line(config: RoomsConfig) -> str:
    pins = ", ".join(
        f"{room.name} {room.pin}" + (f"/{room.moderator_pin}" if room.moderator_pin else "")
        for room in config.rooms
    )
    return f"no rooms yet: loaded the example rooms (PIN/moderator PIN): {pins}"


# ---- how the CLI finds the running service ------------------------------------------


def write_runtime_file(settings: Settings) -> None:
    """Where this service answers, for ``iobridge room``, ``call`` and ``health`` (no
    secret here: the token stays in its own 0600 file)."""
    facts = {
        "pid": os.getpid(),
        "http": f"http://{settings.local_host}:{settings.http_port}",
        "sip_host": settings.local_host,
        "sip_port": settings.sip_port,
        "entry_extension": settings.entry_extension,
    }
    path = settings.runtime_file
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(facts) + "\n")
    temporary.replace(path)


def read_runtime_file(settings: Settings) -> dict[str, object] | None:
    try:
        facts = json.loads(settings.runtime_file.read_text())
    except (OSError, ValueError):
        return None
    return facts if isinstance(facts, dict) else None


# ---- iobridge serve ---------------------------------------------------------------------


async def serve(
    settings: Settings,
    progress: Callable[[str], None],
    *,
    lifeline: bool = False,
) -> None:
    """Run the bridge service until SIGTERM/SIGINT (calls go on without it), until the
    supervisor's lifeline closes (``up`` is stopping with its Asterisk: the calls end), or
    until the service's own work fails (StackError: the supervisor restarts it). Under
    ``up`` (``lifeline``) the rooms were checked before Asterisk started."""
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopped.set)
    try:
        await _serve(Stack(settings, progress, provision=not lifeline), stopped, lifeline)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def _serve(stack: Stack, stopped: asyncio.Event, lifeline: bool) -> None:
    settings, progress, loop = stack.settings, stack.progress, asyncio.get_running_loop()
    await stack.start(with_pbx=False)
    if not lifeline:
        progress(f"io-bridge service is up, for the Asterisk AMI on port {settings.ami_port}")
        progress(f"Panel: http://{settings.local_host}:{settings.http_port}/")
    work = stack.service_task
    assert work is not None
    signalled = loop.create_task(stopped.wait(), name="signal")
    closed = loop.create_task(_until_eof(), name="lifeline") if lifeline else None
    waits: set[asyncio.Future[Any]] = {work, signalled, *([closed] if closed else [])}
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        signalled.cancel()
        if closed is not None:
            closed.cancel()
    cause = _failure(work) if work.done() else None
    if cause is not None:
        log.error("service.failed reason=%r", cause, exc_info=cause)
    await stack.stop(ending_calls=closed is not None and closed.done() and not closed.cancelled())
    if cause is not None:
        raise StackError(f"the bridge service stopped on an error: {cause!r} (see the log above)")


def _failure(task: asyncio.Task[None]) -> BaseException:
    """Why the service's work ended (it only ends by failing): the first real error."""
    cause: BaseException = (
        asyncio.CancelledError() if task.cancelled() else task.exception() or RuntimeError("ended")
    )
    while isinstance(cause, BaseExceptionGroup) and cause.exceptions:
        cause = cause.exceptions[0]
    return cause


async def _until_eof() -> None:
    """Read the supervisor's pipe on stdin until it closes."""
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
    )
    try:
        while await reader.read(4096):
            pass
    finally:
        transport.close()
