"""The panel's front door on a real socket: where a login sends the browser, which Origin a
POST is taken from, how a login form is read, and when an open room page's websocket is
closed (logout, a password changed, a room taken away, however busy the room)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bridge.provision import provision_rooms
from bridge.roomsfile import load_rooms_file
from bridge.service import BridgeService, accounts as accounts_module
from bridge.settings import Settings
from bridge.store.db import Database, upgrade
from bridge.store.models import PanelSession
from bridge.store.pin_key import install_pin_key
from bridge.store.rooms import sync_rooms
from bridge.web.app import create_app
from bridge.web.auth import safe_next, session_in_head
from bridge.web.panel import live
from tests.adapters.conftest import Web
from tests.adapters.test_api_errors import bearer
from tests.conftest import E2E_ROOMS

ROOM = "e2e-open"  # carol's room
CSRF_META = re.compile(r'<meta name="csrf-token" content="([0-9a-f]+)">')


def origin_of(web_app: Web) -> str:
    return f"http://127.0.0.1:{web_app.client.port}"


async def log_in(web_app: Web, username: str = "carol", **form: str) -> aiohttp.ClientResponse:
    fields = {"username": username, "password": f"{username}-panel-pw", **form}
    return await web_app.client.post(
        "/login", data=fields, headers={"Origin": origin_of(web_app)}, allow_redirects=False
    )


async def csrf(web_app: Web) -> str:
    page = await (await web_app.client.get("/rooms")).text()
    found = CSRF_META.search(page)
    assert found
    return found.group(1)


@pytest.mark.parametrize(
    "target",
    [
        "/\t/evil.example/x",
        "/\r\n/evil.example/x",
        "//evil.example/x",
        "/\\evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "rooms",
        "/rooms/\x00",
        "/rooms/é",
        "",
        None,
    ],
)
def test_a_next_page_elsewhere_goes_to_the_rooms_instead(target: str | None) -> None:
    assert safe_next(target) == "/rooms"


def test_a_next_page_on_this_site_is_kept() -> None:
    assert safe_next("/rooms/e2e-open") == "/rooms/e2e-open"
    assert safe_next("/rooms?x=%2F%2Fevil.example") == "/rooms?x=%2F%2Fevil.example"


async def test_a_logged_in_moderator_is_never_sent_off_site(web_app: Web) -> None:
    response = await log_in(web_app, next="/\t/evil.example/x")
    assert response.headers["Location"] == "/rooms"
    answered = await web_app.client.get("/login?next=/%09/evil.example/x", allow_redirects=False)
    assert answered.status == 302 and answered.headers["Location"] == "/rooms"
    answered = await web_app.client.get("/login?next=/rooms/e2e-open", allow_redirects=False)
    assert answered.headers["Location"] == "/rooms/e2e-open"


async def test_a_name_the_panel_does_not_know_is_refused_even_with_a_matching_origin(
    web_app: Web,
) -> None:
    # DNS rebinding: evil.example points at this machine, so Host and Origin agree.
    evil = {"Host": "evil.example", "Origin": "http://evil.example"}
    response = await web_app.client.post(
        "/login", data={"username": "carol", "password": "x"}, headers=evil
    )
    assert response.status == 403
    assert "IOBRIDGE_PUBLIC_ORIGIN" in await response.text()
    assert (await log_in(web_app)).status == 303  # by address, as before


@pytest.fixture
async def public_panel(tmp_path: Path) -> AsyncIterator[TestClient[Any, Any]]:
    settings = Settings(
        state_dir=tmp_path / "state",
        rooms_file=E2E_ROOMS,
        public_origin="https://panel.example.org",
        http_body_seconds=0.5,
    )
    await upgrade(settings.effective_database_url)
    db = Database(settings.effective_database_url)
    await provision_rooms(db, settings, lambda _: None)
    client: TestClient[Any, Any] = TestClient(
        TestServer(create_app(settings, BridgeService(settings, db)), host="127.0.0.1")
    )
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()
        await db.dispose()


async def test_with_a_public_origin_only_that_origin_may_post(
    public_panel: TestClient[Any, Any],
) -> None:
    form = {"username": "carol", "password": "carol-panel-pw"}
    own = f"http://127.0.0.1:{public_panel.port}"
    for origin in (own, "http://panel.example.org", "https://evil.example"):
        response = await public_panel.post("/login", data=form, headers={"Origin": origin})
        assert response.status == 403, origin
    response = await public_panel.post(
        "/login",
        data=form,
        headers={"Origin": "https://panel.example.org", "Host": "panel.example.org"},
        allow_redirects=False,
    )
    assert response.status == 303


async def test_a_login_form_over_4_kib_is_refused_unread(web_app: Web) -> None:
    response = await log_in(web_app, padding="x" * 5000)
    assert response.status == 400
    assert "too large" in await response.text()


async def test_a_dribbled_login_body_is_cut_off_at_the_deadline(
    public_panel: TestClient[Any, Any],
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", public_panel.port)
    writer.write(
        b"POST /login HTTP/1.1\r\nHost: panel.example.org\r\n"
        b"Origin: https://panel.example.org\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n"
    )
    started = time.monotonic()

    async def dribble() -> None:
        for _ in range(40):  # a byte every 0.1 s: each read is quick, the whole is not
            writer.write(b"u")
            await writer.drain()
            await asyncio.sleep(0.1)

    dribbling = asyncio.create_task(dribble())
    try:
        answer = await asyncio.wait_for(reader.readuntil(b"\r\n"), 3)
    finally:
        dribbling.cancel()
        writer.close()
    assert answer.startswith(b"HTTP/1.1 408")
    assert time.monotonic() - started < 1.5


async def _open_room_page(web_app: Web) -> aiohttp.ClientWebSocketResponse:
    assert (await log_in(web_app)).status == 303
    ws = await web_app.client.ws_connect(f"/rooms/{ROOM}/live", origin=origin_of(web_app))
    first = await ws.receive_json(timeout=2)
    assert first["type"] == "snapshot"
    return ws


async def _closed_with(ws: aiohttp.ClientWebSocketResponse, within: float) -> int | None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        message = await ws.receive(timeout=deadline - time.monotonic())
        if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
            return ws.close_code
    return None


async def test_a_logout_closes_that_sessions_open_room_pages_at_once(web_app: Web) -> None:
    ws = await _open_room_page(web_app)
    token = await csrf(web_app)
    response = await web_app.client.post(
        "/logout", data={"csrf": token}, headers={"Origin": origin_of(web_app)}
    )
    assert response.status == 200  # followed to the login page
    assert await _closed_with(ws, 1.0) == live.CLOSE_NOT_ALLOWED


async def _sync(web_app: Web, tmp_path: Path, change: dict[str, Any]) -> None:
    rooms = yaml.safe_load(E2E_ROOMS.read_text())
    for moderator in rooms["moderators"]:
        if moderator["username"] == "carol":
            moderator.update(change)
    changed = tmp_path / "rooms.yaml"
    changed.write_text(yaml.safe_dump(rooms))
    async with web_app.service.db.sessions.begin() as session:
        await sync_rooms(
            session, load_rooms_file(changed), pin_key=install_pin_key(web_app.service.settings)
        )


@pytest.fixture
def quick_rechecks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live, "RECHECK_RIGHTS", 0.3)
    monkeypatch.setattr(accounts_module, "SESSION_CACHE_SECONDS", 0.1)


@pytest.mark.usefixtures("quick_rechecks")
async def test_a_password_changed_in_the_file_closes_the_open_room_pages(
    web_app: Web, tmp_path: Path
) -> None:
    ws = await _open_room_page(web_app)
    bob = next(
        m for m in yaml.safe_load(E2E_ROOMS.read_text())["moderators"] if m["username"] == "bob"
    )
    await _sync(web_app, tmp_path, {"password_hash": bob["password_hash"]})
    assert await _closed_with(ws, 2.0) == live.CLOSE_NOT_ALLOWED


@pytest.mark.usefixtures("quick_rechecks")
async def test_a_room_taken_away_closes_its_page_however_busy_the_room(
    web_app: Web, tmp_path: Path
) -> None:
    ws = await _open_room_page(web_app)
    admin = bearer(web_app.admin_token)

    async def keep_busy() -> None:  # an audited action every 0.1 s: the feed never goes quiet
        while True:
            await web_app.client.post(f"/api/v1/rooms/{ROOM}/actions/unlock", headers=admin)
            await asyncio.sleep(0.1)

    busy = asyncio.create_task(keep_busy())
    try:
        await asyncio.sleep(0.5)
        await _sync(web_app, tmp_path, {"rooms": ["e2e-panel"]})
        assert await _closed_with(ws, 2.0) == live.CLOSE_NOT_ALLOWED
    finally:
        busy.cancel()


async def test_only_a_live_sessions_cookie_opens_the_moderators_share(web_app: Web) -> None:
    accounts = web_app.service.accounts
    opened = await accounts.log_in("carol", "carol-panel-pw", "127.0.0.1")

    def head(token: str) -> bytes:
        return (
            f"GET / HTTP/1.1\r\nHost: x\r\nCookie: a=1; iobridge_session={token}\r\n\r\n".encode()
        )

    assert session_in_head(head(opened.token), accounts)
    assert not session_in_head(head("made-up"), accounts)
    assert not session_in_head(b"GET / HTTP/1.1\r\nX-Cookie: iobridge_session=x\r\n\r\n", accounts)
    await accounts.log_out(opened.token)
    assert not session_in_head(head(opened.token), accounts)


async def _login_address_and_cookie(client: TestClient[Any, Any], db: Any) -> tuple[str, bool]:
    headers = {
        "Origin": f"http://127.0.0.1:{client.port}",
        "X-Forwarded-For": "192.0.2.7",
        "X-Forwarded-Proto": "https",
    }
    form = {"username": "carol", "password": "carol-panel-pw"}
    response = await client.post("/login", data=form, headers=headers, allow_redirects=False)
    assert response.status == 303
    async with db.sessions() as session:
        [address] = list(await session.scalars(select(PanelSession.address)))
    return address, bool(response.cookies["iobridge_session"]["secure"])


async def test_forwarding_headers_from_a_peer_not_listed_change_nothing(web_app: Web) -> None:
    address, secure = await _login_address_and_cookie(web_app.client, web_app.service.db)
    assert (address, secure) == ("127.0.0.1", False)


async def test_a_trusted_proxy_names_the_client_and_the_scheme(tmp_path: Path) -> None:
    settings = Settings(
        state_dir=tmp_path / "state", rooms_file=E2E_ROOMS, trusted_proxies="127.0.0.1"
    )
    await upgrade(settings.effective_database_url)
    db = Database(settings.effective_database_url)
    await provision_rooms(db, settings, lambda _: None)
    service = BridgeService(settings, db)
    client: TestClient[Any, Any] = TestClient(
        TestServer(create_app(settings, service), host="127.0.0.1")
    )
    await client.start_server()
    try:
        address, secure = await _login_address_and_cookie(client, db)
        assert (address, secure) == ("192.0.2.7", True)
        # The throttle counts the client: its failures do not lock out the proxy's others.
        assert service.accounts.throttle.retry_after("carol", "192.0.2.7", time.time()) == 0
    finally:
        await client.close()
        await db.dispose()


def test_a_trusted_proxy_that_is_not_an_address_is_refused_with_its_name() -> None:
    with pytest.raises(ValueError, match=re.escape("not an address or a network: 'proxy.example'")):
        Settings(trusted_proxies="127.0.0.1, proxy.example")
    with pytest.raises(ValueError, match="expected a scheme and a host"):
        Settings(public_origin="panel.example.org")
