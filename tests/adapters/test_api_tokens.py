"""Tokens for scripts: a token acts as its moderator, with that moderator's rooms (as the
database says at each request), and is refused once revoked, expired, or its moderator
gone; the admin token is the local CLI's, with every room, audited as "admin"."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from click.testing import CliRunner

from bridge.cli import main
from bridge.roomsfile import load_rooms_file
from bridge.service.tokens import ApiTokens
from bridge.store.pin_key import install_pin_key
from bridge.store.rooms import sync_rooms
from bridge.web.api.auth import from_this_machine
from tests.adapters.conftest import Web
from tests.adapters.test_api_errors import bearer, error_of
from tests.conftest import E2E_ROOMS


async def test_a_token_sees_and_acts_on_its_moderators_rooms_only(web_app: Web) -> None:
    client, carol = web_app.client, bearer(await web_app.token("carol"))
    response = await client.get("/api/v1/rooms", headers=carol)
    assert response.status == 200
    listed = await response.json()
    assert [room["name"] for room in listed["rooms"]] == ["e2e-open"]
    assert listed["pbx"] == "disconnected"

    me = await (await client.get("/api/v1/me", headers=carol)).json()
    assert me == {"username": "carol", "via": "token", "all_rooms": False, "rooms": ["e2e-open"]}

    for path in ("/api/v1/rooms/e2e-panel", "/api/v1/rooms/no-such-room"):
        response = await client.get(path, headers=carol)  # rights first: a name tells nothing
        assert response.status == 403 and (await error_of(response))["code"] == "not_allowed"
    response = await client.post("/api/v1/rooms/e2e-panel/actions/lock", headers=carol)
    assert response.status == 403
    assert await web_app.service.audit.of_room("e2e-panel", 10) == []  # refused: nothing ran


async def test_an_unknown_room_is_404_and_an_empty_one_is_not_live(web_app: Web) -> None:
    tester = bearer(await web_app.token("tester"))
    response = await web_app.client.get("/api/v1/rooms/no-such-room", headers=tester)
    assert response.status == 404
    assert (await error_of(response))["code"] == "no_such_room"
    response = await web_app.client.post("/api/v1/rooms/no-such-room/actions/lock", headers=tester)
    assert response.status == 404

    response = await web_app.client.get("/api/v1/rooms/e2e-muted", headers=tester)
    assert response.status == 200
    state = await response.json()
    assert state["live"] is False and state["participants"] == []
    assert state["title"] == "Muted on entry" and state["started_at"] is None
    assert state["stack"] == {
        "room": "e2e-muted", "policy": "progressive", "speaking_time_limit": 0,
        "auto_advance": False, "speaker": None, "queue": []
    }  # fmt: skip


async def test_a_tokens_actions_are_audited_as_its_moderator(web_app: Web) -> None:
    alice = bearer(await web_app.token("alice"))
    response = await web_app.client.post("/api/v1/rooms/e2e-panel/actions/lock", headers=alice)
    # No Asterisk here: the action fails, and is recorded all the same.
    assert response.status in (404, 503)
    trail = await (await web_app.client.get("/api/v1/rooms/e2e-panel/audit", headers=alice)).json()
    [entry] = trail["actions"]
    assert (entry["actor"], entry["action"], entry["room"]) == ("alice", "lock", "e2e-panel")
    assert entry["result"] == (await error_of(response))["code"]


async def test_a_revoked_token_is_refused_at_its_next_request(web_app: Web) -> None:
    made = await web_app.service.tokens.create("alice")
    response = await web_app.client.get("/api/v1/me", headers=bearer(made.token))
    assert response.status == 200
    await web_app.service.tokens.revoke(made.id)
    response = await web_app.client.get("/api/v1/me", headers=bearer(made.token))
    assert response.status == 401 and (await error_of(response))["code"] == "invalid_token"


async def test_an_expired_token_is_refused(web_app: Web) -> None:
    two_days_ago = ApiTokens(web_app.service.db, clock=lambda: time.time() - 2 * 86400)
    expired = await two_days_ago.create("alice", expires_days=1)
    response = await web_app.client.get("/api/v1/me", headers=bearer(expired.token))
    assert response.status == 401
    fresh = await two_days_ago.create("alice", expires_days=3)
    response = await web_app.client.get("/api/v1/me", headers=bearer(fresh.token))
    assert response.status == 200


async def test_a_sync_that_removes_the_moderator_or_a_room_takes_it_from_the_token(
    web_app: Web, tmp_path: Path
) -> None:
    alice, bob = bearer(await web_app.token("alice")), bearer(await web_app.token("bob"))
    carol = bearer(await web_app.token("carol"))
    rooms = yaml.safe_load(E2E_ROOMS.read_text())
    rooms["moderators"] = [m for m in rooms["moderators"] if m["username"] != "alice"]
    for moderator in rooms["moderators"]:
        if moderator["username"] == "carol":
            moderator["rooms"] = ["e2e-panel"]
    changed = tmp_path / "rooms.yaml"
    changed.write_text(yaml.safe_dump(rooms))
    async with web_app.service.db.sessions.begin() as session:
        await sync_rooms(
            session, load_rooms_file(changed), pin_key=install_pin_key(web_app.service.settings)
        )

    response = await web_app.client.get("/api/v1/me", headers=alice)
    assert response.status == 401
    response = await web_app.client.get("/api/v1/me", headers=bob)
    assert response.status == 200
    response = await web_app.client.get("/api/v1/rooms/e2e-open", headers=carol)
    assert response.status == 403
    response = await web_app.client.get("/api/v1/rooms/e2e-panel", headers=carol)
    assert response.status == 200


async def test_the_admin_token_has_every_room_and_is_audited_as_admin(web_app: Web) -> None:
    admin = bearer(web_app.admin_token)
    me = await (await web_app.client.get("/api/v1/me", headers=admin)).json()
    assert (me["username"], me["via"], me["all_rooms"]) == ("admin", "admin-token", True)
    assert "e2e-panel" in me["rooms"] and "e2e-open" in me["rooms"]
    await web_app.client.post("/api/v1/rooms/e2e-open/actions/unlock", headers=admin)
    trail = await (await web_app.client.get("/api/v1/rooms/e2e-open/audit", headers=admin)).json()
    assert [e["actor"] for e in trail["actions"]] == ["admin"]


def test_the_admin_token_is_taken_only_from_this_machine() -> None:
    assert from_this_machine("127.0.0.1", "127.0.0.1")
    assert from_this_machine("127.0.0.2", "127.0.0.1")
    assert from_this_machine("::1", "::1")
    assert from_this_machine("192.0.2.7", "192.0.2.7")  # a process here, to the LAN address
    assert not from_this_machine("192.0.2.8", "192.0.2.7")
    assert not from_this_machine("2001:db8::8", "2001:db8::7")
    assert not from_this_machine(None, "127.0.0.1")


def test_tokens_are_made_listed_and_revoked_from_the_shell(tmp_path: Path) -> None:
    env = {"IOBRIDGE_STATE_DIR": str(tmp_path / "state")}
    runner = CliRunner()
    assert runner.invoke(main, ["rooms", "sync", str(E2E_ROOMS)], env=env).exit_code == 0

    made = runner.invoke(main, ["tokens", "create", "--user", "bob", "--expires", "7"], env=env)
    assert made.exit_code == 0, made.output
    token = made.stdout.strip()
    assert token.startswith("iob_") and len(token) > 40 and "\n" not in token
    assert "token 1 for bob, expires" in made.stderr and "shown once" in made.stderr

    listed = runner.invoke(main, ["tokens", "list"], env=env)
    assert listed.exit_code == 0 and token not in listed.stdout
    [row] = listed.stdout.splitlines()[1:]
    assert row.split()[:3] == ["1", "bob", "live"]

    assert (
        runner.invoke(main, ["tokens", "revoke", "1"], env=env).stdout == "token 1 (bob) revoked\n"
    )
    listed = runner.invoke(main, ["tokens", "list", "--json"], env=env)
    assert [(t["id"], t["user"], t["state"]) for t in yaml.safe_load(listed.stdout)] == [
        (1, "bob", "revoked")
    ]
    for stored in (tmp_path / "state").glob("iobridge.sqlite3*"):
        assert token.encode() not in stored.read_bytes()  # only its hash

    unknown = runner.invoke(main, ["tokens", "create", "--user", "mallory"], env=env)
    assert unknown.exit_code == 1
    assert (
        unknown.stderr == "iobridge: no moderator 'mallory' (moderators come from the rooms file)\n"
    )
    missing = runner.invoke(main, ["tokens", "revoke", "42"], env=env)
    assert missing.exit_code == 1 and "no API token 42" in missing.stderr


async def test_a_token_made_without_an_expiry_expires_in_90_days(web_app: Web) -> None:
    made = await web_app.service.tokens.create("alice")
    assert made.expires_at is not None
    days = (made.expires_at - datetime.now(UTC)).total_seconds() / 86400
    assert 89.9 < days <= 90
    ninety_days_on = ApiTokens(web_app.service.db, clock=lambda: time.time() + 90 * 86400 + 1)
    assert await ninety_days_on.principal(made.token) is None


def test_the_shell_makes_tokens_that_expire_in_90_days_unless_told(tmp_path: Path) -> None:
    env = {"IOBRIDGE_STATE_DIR": str(tmp_path / "state")}
    runner = CliRunner()
    assert runner.invoke(main, ["rooms", "sync", str(E2E_ROOMS)], env=env).exit_code == 0
    made = runner.invoke(main, ["tokens", "create", "--user", "bob"], env=env)
    assert made.exit_code == 0, made.output
    in_90_days = (datetime.now() + timedelta(days=90)).strftime("%Y-%m-%d")
    assert f"expires {in_90_days}" in made.stderr and "never" not in made.stderr
    listed = yaml.safe_load(runner.invoke(main, ["tokens", "list", "--json"], env=env).stdout)
    assert listed[0]["expires_at"] is not None


async def test_the_admin_token_is_refused_when_a_proxy_forwards_it(web_app: Web) -> None:
    admin = bearer(web_app.admin_token)
    for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP", "Via"):
        value = "for=192.0.2.9" if header == "Forwarded" else "192.0.2.9"
        response = await web_app.client.get("/api/v1/me", headers={**admin, header: value})
        assert response.status == 403, header
        assert "not through a proxy" in (await error_of(response))["message"]
    assert (await web_app.client.get("/api/v1/me", headers=admin)).status == 200


async def test_a_token_is_looked_up_once_and_a_revoke_from_the_shell_ends_it_at_once(
    web_app: Web,
) -> None:
    made = await web_app.service.tokens.create("alice")
    alice = bearer(made.token)
    for _ in range(2):  # the first request writes "last used": the second reads it again
        assert (await web_app.client.get("/api/v1/me", headers=alice)).status == 200
    looked_up = web_app.service.tokens.lookups
    for _ in range(5):
        assert (await web_app.client.get("/api/v1/me", headers=alice)).status == 200
    assert web_app.service.tokens.lookups == looked_up
    # `iobridge tokens revoke` is another process, with tokens of its own.
    await ApiTokens(web_app.service.db).revoke(made.id)
    assert (await web_app.client.get("/api/v1/me", headers=alice)).status == 401


async def test_a_token_kept_in_memory_still_expires_on_time(web_app: Web) -> None:
    now = [time.time()]
    tokens = ApiTokens(web_app.service.db, clock=lambda: now[0])
    made = await tokens.create("alice", expires_days=1)
    assert await tokens.principal(made.token) is not None
    now[0] += 86400 + 1
    assert await tokens.principal(made.token) is None
