"""The panel behind a real reverse proxy: Debian's nginx, started here with a throwaway
certificate, in front of the panel's own HTTP server (no Asterisk: a login needs none).
Chromium logs in over HTTPS; the cookie is Secure, and the session and the throttle know
the browser's address, not the proxy's (the docs/admin.md "HTTPS" example, tested)."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import Browser
from sqlalchemy import select

from bridge.provision import provision_rooms
from bridge.service import BridgeService
from bridge.settings import Settings
from bridge.store.db import Database, upgrade
from bridge.store.models import PanelSession
from bridge.web.app import create_app
from bridge.web.auth import session_in_head
from bridge.web.limits import HttpLimits, serve
from tests.browser.conftest import log_in
from tests.conftest import E2E_ROOMS
from tests.support import free_port

NGINX = Path("/usr/sbin/nginx")
LISTEN_ADDRESS = "127.0.0.2"  # where nginx listens for the browser (from 127.0.0.1)
PROXY_ADDRESS = "127.0.0.3"  # where nginx connects to the panel from: the trusted proxy

NGINX_CONF = """
{user}
worker_processes 1;
error_log {dir}/error.log;
pid {dir}/nginx.pid;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    server {{
        listen {listen} ssl;
        ssl_certificate {dir}/cert.pem;
        ssl_certificate_key {dir}/key.pem;
        location / {{
            proxy_pass http://127.0.0.1:{panel};
            proxy_bind {proxy_address};
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
        }}
    }}
}}
"""


@dataclass
class Proxied:
    url: str
    db: Database


def _certificate(folder: Path) -> None:
    """A throwaway self-signed certificate for the proxy (openssl, made at test time)."""
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem"),
            "-subj", "/CN=iobridge-test", "-addext", f"subjectAltName=IP:{LISTEN_ADDRESS}",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip


@pytest.fixture(scope="session")
def nginx_path() -> Path:
    if not NGINX.exists():
        pytest.fail(f"{NGINX} is missing: install Debian's nginx (make system does)")
    return NGINX


@pytest.fixture
async def behind_nginx(tmp_path: Path, nginx_path: Path) -> AsyncIterator[Proxied]:
    listen = free_port()
    url = f"https://{LISTEN_ADDRESS}:{listen}"
    settings = Settings(
        state_dir=tmp_path / "state",
        rooms_file=E2E_ROOMS,
        http_port=free_port(),
        trusted_proxies=PROXY_ADDRESS,
        public_origin=url,
    )
    await upgrade(settings.effective_database_url)
    db = Database(settings.effective_database_url)
    await provision_rooms(db, settings, lambda _: None)
    service = BridgeService(settings, db)
    limits = HttpLimits.of(settings)
    runner = web.AppRunner(create_app(settings, service), **limits.server_options())
    await runner.setup()
    assert runner.server is not None
    server, _ = await serve(
        runner.server,
        "127.0.0.1",
        settings.http_port,
        limits,
        has_session=lambda head: session_in_head(head, service.accounts),
    )
    proxy_dir = tmp_path / "nginx"
    proxy_dir.mkdir()
    _certificate(proxy_dir)
    conf = proxy_dir / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(
            user="user root;" if os.geteuid() == 0 else "",
            dir=proxy_dir,
            listen=f"{LISTEN_ADDRESS}:{listen}",
            proxy_address=PROXY_ADDRESS,
            panel=settings.http_port,
        )
    )
    nginx = await asyncio.create_subprocess_exec(
        str(nginx_path), "-p", str(proxy_dir), "-c", str(conf), "-g", "daemon off;",
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await _listening(LISTEN_ADDRESS, listen, nginx, proxy_dir)
        yield Proxied(url, db)
    finally:
        nginx.terminate()
        await nginx.wait()
        server.close()
        await runner.cleanup()
        await db.dispose()


async def _listening(host: str, port: int, nginx: asyncio.subprocess.Process, logs: Path) -> None:
    for _ in range(100):
        if nginx.returncode is not None:
            break
        try:
            _, writer = await asyncio.open_connection(host, port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return
    error_log = logs / "error.log"
    raise AssertionError(
        f"nginx did not start: {error_log.read_text() if error_log.exists() else ''}"
    )


async def test_a_moderator_logs_in_through_nginx_over_https(
    browser: Browser, behind_nginx: Proxied
) -> None:
    context = await browser.new_context(base_url=behind_nginx.url, ignore_https_errors=True)
    try:
        page = await context.new_page()
        await page.goto("/rooms")
        await log_in(page, "alice")
        await page.wait_for_url(f"{behind_nginx.url}/rooms")
        [cookie] = await context.cookies()
        assert cookie["name"] == "iobridge_session"
        assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    finally:
        await context.close()
    async with behind_nginx.db.sessions() as session:
        addresses = list(await session.scalars(select(PanelSession.address)))
    assert addresses == ["127.0.0.1"]  # the browser's, not the proxy's 127.0.0.3
