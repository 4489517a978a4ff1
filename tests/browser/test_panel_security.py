"""The panel refuses what it must, over plain HTTP (what a forger sends is not what a
browser would), and a refused request changes nothing in Asterisk or in the audit trail."""

from __future__ import annotations

import logging

import aiohttp
import pytest
from sqlalchemy import select

from bridge.service import BridgeService
from bridge.store.models import ModeratorAction
from tests.browser.conftest import ROOM, HttpLogin, InRoom, Join, asterisk_list, password_of
from tests.support import AmiWatcher, event

FOREIGN = "http://evil.example"


async def _audited(service: BridgeService, caller: InRoom) -> list[str]:
    """Who acted on ``caller`` (by channel and caller ID: a channel's name comes back after
    a test of the same worker restarted Asterisk, and an older row may carry it)."""
    await service.audit.flushed()  # the row is written just after the answer
    async with service.db.sessions() as session:
        rows = await session.scalars(
            select(ModeratorAction.actor).where(
                ModeratorAction.target_channel == caller.channel,
                ModeratorAction.target_caller_id == caller.caller_id,
            )
        )
        return list(rows)


async def test_without_a_session_pages_go_to_login_and_json_answers_401(base_url: str) -> None:
    async with aiohttp.ClientSession() as http:
        for page in ("/", "/rooms", f"/rooms/{ROOM}"):
            async with http.get(base_url + page, allow_redirects=False) as response:
                assert response.status == 302, page
                assert response.headers["Location"].startswith("/login"), page
        async with http.get(base_url + "/rooms.json") as response:
            assert response.status == 401
            assert (await response.json())["error"]["code"] == "not_logged_in"
        async with http.post(
            f"{base_url}/rooms/{ROOM}/actions/mute-all", json={}, headers={"Origin": base_url}
        ) as response:
            assert response.status == 401
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(f"{base_url}/rooms/{ROOM}/live", origin=base_url)
        assert refused.value.status == 401


async def test_the_session_cookie_is_httponly_strict_and_new_at_every_login(
    base_url: str,
) -> None:
    tokens = []
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        for _ in range(2):
            form = {"username": "alice", "password": password_of("alice")}
            async with http.post(
                f"{base_url}/login", data=form, headers={"Origin": base_url}, allow_redirects=False
            ) as response:
                assert response.status == 303
                cookie = response.cookies["iobridge_session"]
            assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/"
            assert not cookie["secure"]  # plain HTTP here; under TLS it is Secure
            tokens.append(cookie.value)
        assert tokens[0] != tokens[1]
    async with aiohttp.ClientSession() as other:
        old = {"iobridge_session": tokens[0]}
        async with other.get(f"{base_url}/rooms.json", cookies=old) as response:
            assert response.status == 401  # the first session ended at the second login


async def test_a_moderator_of_another_room_is_refused_and_nothing_changes(
    http_login: HttpLogin, join: Join, ami: AmiWatcher, service: BridgeService
) -> None:
    caller = await join()
    carol = await http_login("carol")  # moderates e2e-open only
    response = await carol.post_action(ROOM, "mute", {"channel": caller.channel})
    assert response.status == 403
    for action in ("lock", "end", "mute-all"):
        assert (await carol.post_action(ROOM, action, {})).status == 403
    listed = await asterisk_list(service)
    assert listed[caller.channel]["Muted"] == "No"
    pbx = service.pbx_directory.bridge_for(ROOM)
    assert listed[caller.channel] and (await pbx.is_locked(ROOM)) is False
    assert await _audited(service, caller) == []


async def test_a_missing_or_wrong_csrf_token_is_refused_and_nothing_changes(
    http_login: HttpLogin, join: Join, ami: AmiWatcher, service: BridgeService
) -> None:
    caller = await join()
    alice = await http_login("alice")
    mark = ami.mark()
    body = {"channel": caller.channel}
    assert (await alice.post_action(ROOM, "mute", body, **{"X-CSRF-Token": ""})).status == 403
    assert (await alice.post_action(ROOM, "mute", body, **{"X-CSRF-Token": "0" * 64})).status == 403
    assert (await alice.post_action(ROOM, "mute", body, Origin=FOREIGN)).status == 403
    assert (await asterisk_list(service))[caller.channel]["Muted"] == "No"
    assert await _audited(service, caller) == []

    # The same request with the session's own token and origin is done, once.
    assert (await alice.post_action(ROOM, "mute", body)).status == 200
    await ami.wait_for(event("ConfbridgeMute", Channel=caller.channel), since=mark)
    assert await _audited(service, caller) == ["alice"]


async def test_the_websocket_refuses_a_foreign_origin_and_a_room_not_granted(
    http_login: HttpLogin, base_url: str
) -> None:
    alice = await http_login("alice")
    live = f"{base_url}/rooms/{ROOM}/live"
    for origin in (FOREIGN, None):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await alice.http.ws_connect(live, origin=origin)
        assert refused.value.status == 403, origin
    carol = await http_login("carol")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await carol.http.ws_connect(live, origin=base_url)
    assert refused.value.status == 403

    async with alice.http.ws_connect(live, origin=base_url) as ws:  # the control
        snapshot = await ws.receive_json(timeout=5)
    assert snapshot["type"] == "snapshot" and snapshot["room"]["name"] == ROOM


async def test_a_forged_login_and_a_redirect_elsewhere_are_refused(base_url: str) -> None:
    form = {"username": "alice", "password": password_of("alice"), "next": "//evil.example/x"}
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(
            f"{base_url}/login", data=form, headers={"Origin": FOREIGN}, allow_redirects=False
        ) as response:
            assert response.status == 403 and "iobridge_session" not in response.cookies
        async with http.post(
            f"{base_url}/login", data=form, headers={"Origin": base_url}, allow_redirects=False
        ) as response:
            assert response.status == 303 and response.headers["Location"] == "/rooms"


async def test_too_many_wrong_passwords_block_the_name_for_a_while(base_url: str) -> None:
    # A name of no account: the throttle counts it all the same (no account enumeration).
    form = {"username": "mallory", "password": "guess"}
    async with aiohttp.ClientSession() as http:
        statuses = []
        for _ in range(6):
            async with http.post(
                f"{base_url}/login", data=form, headers={"Origin": base_url}
            ) as response:
                statuses.append(response.status)
                page = await response.text()
    assert statuses == [401] * 5 + [429]
    assert "Too many failed logins. Try again in 15 minutes." in page


async def test_passwords_and_session_tokens_never_reach_the_logs_or_pages(
    base_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # as shipped; our own loggers at every level
    caplog.set_level(logging.DEBUG, logger="bridge")
    wrong = "alice-wrong-password-7731"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        pages = []
        for username, password in (("alice", wrong), (wrong, wrong), ("alice", None)):
            form = {"username": username, "password": password or password_of("alice")}
            async with http.post(
                f"{base_url}/login", data=form, headers={"Origin": base_url}
            ) as response:
                pages.append(await response.text())
                assert "Content-Security-Policy" in response.headers
        token = next(c.value for c in http.cookie_jar if c.key == "iobridge_session")
    assert "login.ok user=alice" in caplog.text  # the log was captured
    for secret in (wrong, password_of("alice"), token):
        assert secret not in caplog.text
    for secret in (password_of("alice"), token):
        assert not any(secret in page for page in pages)
