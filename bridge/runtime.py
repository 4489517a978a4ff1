"""The bridge in one process: the database, the bridge service, its FastAGI server and the
web app, and (for the test session) Asterisk as a child. ``iobridge serve`` runs the service
part alone; ``iobridge up`` runs that as a supervised child (see ``bridge.supervisor``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from aiohttp import web

from bridge.asterisk.alert import alert_route
from bridge.asterisk.dialout import dialout_route
from bridge.asterisk.fastagi import FastAgiServer
from bridge.asterisk.install import AsteriskInstall, AsteriskInstallError, ensure_asterisk
from bridge.asterisk.keypad import keys_route
from bridge.asterisk.pin_dialogue import LanguageChoice, entry_route
from bridge.asterisk.process import AsteriskProcess, AsteriskProcessError, PortInUse, busy_ports
from bridge.domain.nodes import NodesConfig, NodeSpec
from bridge.domain.pins import PinKeyMismatch
from bridge.errors import StartupError
from bridge.nodesfile import NodesFileError, load_nodes_config
from bridge.phone_keys import PhoneKeypad
from bridge.pidfile import PidFile as PidFile, holder as holder
from bridge.provision import FilePins, practice_room, provision_rooms
from bridge.runtime_file import read_runtime_file as read_runtime_file, write_runtime_file
from bridge.service import BridgeService
from bridge.service.nodes import NodeSecretMissing
from bridge.settings import EXAMPLE_ROOMS_FILE, Settings
from bridge.standby import wait_as_standby
from bridge.store.db import Database, DatabaseUnusable, upgrade
from bridge.store.pin_key import check_pin_key, install_pin_key
from bridge.store.service_lock import ServiceLock, takes_service_lock
from bridge.web.app import create_app
from bridge.web.auth import session_in_head
from bridge.web.limits import ConnectionCounter, HttpLimits, serve as serve_with_limits

log = logging.getLogger(__name__)

# Seconds a stopping web server gives a request still running (a report being written) to
# finish, then as long again to its cancellation, before the connection is cut: aiohttp's
# own default is 60 s each. Nothing of the panel's or the API's waits on a client (the
# panels' websockets and the scripts' streams are ended by the stop itself), so a stop
# that systemd times should never spend them.
WEB_STOP_GRACE = 5.0


class Runtime:
    """Start and stop everything, in order; ``stop()`` undoes whatever ``start()`` did.

    ``provision``: check the rooms (an empty database needs the admin's rooms file; a full
    one is compared with it). Off under ``up``, which has done it before starting Asterisk.
    ``exclusive``: on PostgreSQL, be the one active service of the database
    (``bridge.store.service_lock``): ``take_turn`` waits as the standby until then.
    """

    def __init__(
        self,
        settings: Settings,
        progress: Callable[[str], None] = print,
        *,
        provision: bool = True,
        exclusive: bool = False,
    ) -> None:
        self.settings = settings
        self.exclusive = exclusive
        self.lock: ServiceLock | None = None
        self._lock_watch: asyncio.Task[None] | None = None
        self.progress = progress
        self.provision = provision
        self.pidfile = PidFile(settings.service_pid_file, "the io-bridge service")
        self.install: AsteriskInstall | None = None
        self.asterisk: AsteriskProcess | None = None
        self.db: Database | None = None
        self.service: BridgeService | None = None
        self._agi_server: asyncio.base_events.Server | None = None
        self._web: web.AppRunner | None = None
        self._http_server: asyncio.Server | None = None
        self.http_connections: ConnectionCounter | None = None
        self._service_task: asyncio.Task[None] | None = None
        self._pbx_watch: asyncio.Task[None] | None = None

    async def take_turn(self) -> None:
        """Hold the state folder; then, when ``exclusive`` on PostgreSQL, wait as the
        standby until this process holds the service lock. A standby answers only
        ``/healthz`` and ``/readyz`` (``bridge.web.standby``): no FastAGI listener, no AMI
        login, no migration, until its turn."""
        settings = self.settings
        settings.secure_state_dir()
        self.pidfile.acquire()
        url = settings.effective_database_url
        if not self.exclusive or not takes_service_lock(url):
            return
        self.lock = ServiceLock(url)
        await wait_as_standby(settings, self.lock, self.progress)

    @property
    def lock_watch(self) -> asyncio.Task[None] | None:
        """Ends (ServiceLockLost) if the service lock's connection is lost: stop driving."""
        return self._lock_watch

    async def fence(self) -> None:
        """Stop driving Asterisk at once (the lock is lost: another service may be active):
        no FastAGI dialogue starts, the AMI link closes; ``stop`` does the rest."""
        if self._agi_server is not None:
            self._agi_server.close()
            self._agi_server = None
        if self.service is not None:
            await self.service.ami.close()

    def check_ports(self, with_pbx: bool) -> None:
        """StartupError naming the first port this stack needs that something else holds."""
        taken = busy_ports(self.settings, with_pbx)
        if taken:
            raise StartupError(str(taken[0]))

    async def start(self, *, with_pbx: bool = True) -> None:
        try:
            await self._start(with_pbx)
        except BaseException:
            await self.stop()
            raise

    async def _start(self, with_pbx: bool) -> None:
        settings = self.settings
        settings.secure_state_dir()
        self.pidfile.acquire()
        self.check_ports(with_pbx)
        if with_pbx:
            self.install = await ensure_asterisk_async(settings, self.progress)
        self.db = await open_database(settings)
        if self.provision:
            await provision_rooms(self.db, settings, self.progress)
        if with_pbx:
            assert self.install is not None
            self.asterisk = AsteriskProcess(settings, self.install)
            try:
                await self.asterisk.start()
            except AsteriskProcessError as exc:
                raise StartupError(str(exc)) from exc
        await self.start_service()
        if self.lock is not None:
            self._lock_watch = asyncio.get_running_loop().create_task(
                self.lock.watch(), name="service-lock"
            )
        if with_pbx:
            assert self.asterisk is not None
            await self.wait_connected()
            self._pbx_watch = asyncio.get_running_loop().create_task(
                keep_asterisk_running(self.asterisk), name="asterisk-watch"
            )

    async def start_service(self) -> None:
        """The bridge itself: service, FastAGI server and web app (Asterisk may be down)."""
        assert self.db is not None
        settings = self.settings
        file_pins = FilePins(settings.rooms_file) if settings.rooms_file else None
        # A practice room's callers dial its PIN: from the admin's file, or the example
        # rooms where the service took them.
        practice_pins = FilePins(settings.rooms_file or EXAMPLE_ROOMS_FILE, practice_room)
        try:
            nodes = read_nodes_config(settings)
            self.service = BridgeService(
                settings,
                self.db,
                file_pins,
                practice_pins,
                nodes=nodes.nodes,
                max_callers_per_node=nodes.max_callers_per_node,
            )
        except NodeSecretMissing as exc:  # a node's AMI secret: its file or variable
            raise StartupError(str(exc)) from exc
        await self.service.desk.restore()  # holds on guessing sources outlive a restart
        if self.service.node_links is not None:
            await self.service.node_links.restore()  # rooms stay on their nodes
        try:
            fastagi = FastAgiServer(
                [
                    entry_route(
                        self.service.desk,
                        settings.pin_attempts_per_call,
                        settings.sounds_dir,
                        LanguageChoice(settings.entry_languages, settings.sounds_dir),
                        names=self.service.names,
                    ),
                    keys_route(PhoneKeypad(self.service), settings.sounds_dir),
                    dialout_route(self.service.dialout, settings.sounds_dir),
                    alert_route(self.service.alerts, settings.sounds_dir),
                ],
                secret=settings.ensure_agi_secret().get_secret_value(),
                max_dialogues=settings.agi_max_dialogues,
                dialogues_per_second=settings.agi_dialogues_per_second,
            )
            self._agi_server = await asyncio.start_server(
                fastagi.handle,
                "127.0.0.1",
                settings.agi_port,
            )
        except OSError as exc:
            taken = PortInUse(settings.agi_port, "tcp", "FastAGI", "IOBRIDGE_AGI_PORT")
            raise StartupError(str(taken)) from exc
        limits = HttpLimits.of(settings)
        runner = web.AppRunner(
            create_app(settings, self.service),
            access_log=None,
            shutdown_timeout=WEB_STOP_GRACE,
            **limits.server_options(),
        )
        await runner.setup()
        self._web = runner
        assert runner.server is not None
        try:
            accounts = self.service.accounts
            self._http_server, self.http_connections = await serve_with_limits(
                runner.server,
                settings.bind_host,
                settings.http_port,
                limits,
                has_session=lambda head: session_in_head(head, accounts),
            )
        except OSError as exc:
            taken = PortInUse(settings.http_port, "tcp", "panel", "IOBRIDGE_HTTP_PORT")
            raise StartupError(str(taken)) from exc
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
        await service.roster.wait_until(lambda: service.switchboard.pbx_connected, timeout=timeout)

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

    async def stop(self, ending_calls: bool | None = None) -> None:
        """Stop; the calls end in history when our own Asterisk stops with us, or when
        ``ending_calls`` says the Asterisk we serve is going away (``up`` stopping)."""
        if self._pbx_watch is not None:
            self._pbx_watch.cancel()
            with contextlib.suppress(BaseException):
                await self._pbx_watch
            self._pbx_watch = None
        if ending_calls is None:
            ending_calls = self.asterisk is not None
        await self.stop_service(ending_calls=ending_calls)
        if self.asterisk is not None:
            await self.asterisk.stop()
            self.asterisk = None
        if self.db is not None:
            await self.db.dispose()
            self.db = None
        if self._lock_watch is not None:
            self._lock_watch.cancel()
            with contextlib.suppress(BaseException):
                await self._lock_watch
            self._lock_watch = None
        if self.lock is not None:  # last: the next service may drive once we have stopped
            await self.lock.release()
            self.lock = None
        self.pidfile.release()


async def open_database(settings: Settings) -> Database:
    """The database, migrated to this version, its PINs hashed with this install's key."""
    url = settings.effective_database_url
    key = install_pin_key(settings)
    try:
        await upgrade(url, pin_key=key)
    except DatabaseUnusable as exc:
        raise StartupError(str(exc)) from exc
    db = Database(url)
    try:
        async with db.sessions() as session:
            await check_pin_key(session, key)
    except PinKeyMismatch as exc:
        await db.dispose()
        raise StartupError(pin_key_mismatch_message(settings)) from exc
    return db


def pin_key_mismatch_message(settings: Settings) -> str:
    ours = "IOBRIDGE_PIN_KEY" if settings.pin_key else settings.state_dir / "pin-key"
    return (
        f"the rooms' PINs in the database were hashed with another PIN key than {ours}: "
        f"use the state folder that made them (IOBRIDGE_STATE_DIR) or its key "
        f"(IOBRIDGE_PIN_KEY), or, if that key is lost, hash them again from the rooms "
        f"file: iobridge rooms sync --new-pin-key FILE"
    )


def read_nodes(settings: Settings) -> tuple[NodeSpec, ...]:
    """The nodes file's nodes (several Asterisk nodes), or none: one Asterisk."""
    return read_nodes_config(settings).nodes


def read_nodes_config(settings: Settings) -> NodesConfig:
    """The nodes file (several Asterisk nodes), or no nodes: one Asterisk."""
    if settings.nodes_file is None:
        return NodesConfig(())
    try:
        return load_nodes_config(settings.nodes_file)
    except NodesFileError as exc:
        raise StartupError(str(exc)) from exc


async def ensure_asterisk_async(
    settings: Settings, progress: Callable[[str], None]
) -> AsteriskInstall:
    try:
        return await asyncio.to_thread(
            ensure_asterisk,
            settings.cache_dir,
            mirror=settings.debian_mirror,
            suite=settings.debian_suite,
            keyring=settings.debian_keyring,
            binary=settings.asterisk_binary,
            prefer_system=settings.asterisk_prefer_system,
            progress=progress,
        )
    except AsteriskInstallError as exc:
        raise StartupError(str(exc)) from exc


async def keep_asterisk_running(pbx: AsteriskProcess) -> None:
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
