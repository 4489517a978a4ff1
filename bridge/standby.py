"""The standby service: a second ``iobridge serve`` of the same PostgreSQL database waits
here, answering only ``/healthz`` and ``/readyz`` (``bridge.web.standby``), until the active
one's service lock (``bridge.store.service_lock``) is free. It opens no FastAGI listener,
logs in to no AMI and runs no migration before its turn."""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiohttp import web

from bridge.asterisk.process import PortInUse
from bridge.errors import StartupError
from bridge.runtime_file import write_runtime_file
from bridge.settings import Settings
from bridge.store.service_lock import ServiceLock
from bridge.systemd import notify
from bridge.web.standby import create_standby_app

log = logging.getLogger(__name__)


async def wait_as_standby(
    settings: Settings, lock: ServiceLock, progress: Callable[[str], None]
) -> None:
    """Return once this process holds ``lock``, the standby's web answers closed again."""

    def say_standby() -> None:
        log.warning("service.standby reason=%r", "another service holds the lock")
        progress(
            "standby: another io-bridge service of this database is active (it holds the "
            "PostgreSQL service lock); this one takes over when it stops"
        )
        # Started, as systemd sees it (Type=notify would otherwise time the standby out).
        notify("READY=1", "STATUS=standby: waiting for the PostgreSQL service lock")

    standby = web.AppRunner(create_standby_app(settings), access_log=None)
    await standby.setup()
    try:
        try:
            await web.TCPSite(standby, settings.bind_host, settings.http_port).start()
        except OSError as exc:
            taken = PortInUse(settings.http_port, "tcp", "panel", "IOBRIDGE_HTTP_PORT")
            raise StartupError(str(taken)) from exc
        settings.ensure_admin_token()  # what ``iobridge health`` presents
        write_runtime_file(settings)
        await lock.acquire(waiting=say_standby)
    finally:
        await standby.cleanup()
    log.info("service.active")
    progress("this service holds the PostgreSQL service lock: it is the active one")
