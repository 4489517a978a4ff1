"""A token's scope narrows its moderator: ``--read-only`` reads and never acts; ``--rooms``
sees and acts on those rooms alone, even when the moderator has more (tester has ``*``,
alice e2e-panel and e2e-panel-short). Stored in the database, shown by ``tokens list``."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from bridge.cli import main
from bridge.errors import BadField
from tests.adapters.conftest import Web
from tests.adapters.test_api_errors import bearer, error_of
from tests.conftest import E2E_ROOMS


async def scoped(web: Web, username: str, **scope: object) -> dict[str, str]:
    return bearer((await web.service.tokens.create(username, **scope)).token)  # type: ignore[arg-type]


async def listed_rooms(web: Web, headers: dict[str, str]) -> list[str]:
    response = await web.client.get("/api/v1/rooms", headers=headers)
    assert response.status == 200
    return [room["name"] for room in (await response.json())["rooms"]]


async def test_a_read_only_token_reads_but_no_action_runs(web_app: Web) -> None:
    reader = await scoped(web_app, "alice", read_only=True)
    assert await listed_rooms(web_app, reader) == ["e2e-panel", "e2e-panel-short"]
    response = await web_app.client.get("/api/v1/rooms/e2e-panel", headers=reader)
    assert response.status == 200
    for path in ("/api/v1/rooms/e2e-panel/actions/lock", "/api/v1/rooms/e2e-panel/stack/clear"):
        response = await web_app.client.post(path, headers=reader)
        assert response.status == 403
        error = await error_of(response)
        assert error["code"] == "not_allowed" and "read-only" in error["message"]
    assert await web_app.service.audit.of_room("e2e-panel", 10) == []  # nothing ran


async def test_a_room_token_sees_and_acts_only_on_its_rooms_though_its_moderator_has_all(
    web_app: Web,
) -> None:
    one_room = await scoped(web_app, "tester", rooms=frozenset({"e2e-muted"}))
    assert await listed_rooms(web_app, one_room) == ["e2e-muted"]
    me = await (await web_app.client.get("/api/v1/me", headers=one_room)).json()
    assert me["all_rooms"] is False and me["rooms"] == ["e2e-muted"]
    response = await web_app.client.get("/api/v1/rooms/e2e-panel", headers=one_room)
    assert response.status == 403
    response = await web_app.client.post("/api/v1/rooms/e2e-panel/actions/lock", headers=one_room)
    assert response.status == 403
    assert await web_app.service.audit.of_room("e2e-panel", 10) == []
    response = await web_app.client.post("/api/v1/rooms/e2e-muted/actions/lock", headers=one_room)
    assert response.status in (404, 503)  # let through: no Asterisk here to lock it
    [entry] = await web_app.service.audit.of_room("e2e-muted", 10)
    assert entry.actor == "tester"


async def test_a_token_cannot_be_scoped_to_a_room_its_moderator_does_not_have(
    web_app: Web,
) -> None:
    with pytest.raises(BadField, match="alice does not moderate e2e-open"):
        await web_app.service.tokens.create("alice", rooms=frozenset({"e2e-panel", "e2e-open"}))
    with pytest.raises(BadField, match="no room named nowhere"):
        await web_app.service.tokens.create("tester", rooms=frozenset({"nowhere"}))
    with pytest.raises(BadField, match="at least one room"):
        await web_app.service.tokens.create("tester", rooms=frozenset())


def test_scoped_tokens_are_made_and_listed_from_the_shell(tmp_path: Path) -> None:
    env = {"IOBRIDGE_STATE_DIR": str(tmp_path / "state")}
    runner = CliRunner()
    assert runner.invoke(main, ["rooms", "sync", str(E2E_ROOMS)], env=env).exit_code == 0
    made = runner.invoke(
        main,
        ["tokens", "create", "--user", "alice", "--read-only", "--rooms", "e2e-panel-short"],
        env=env,
    )
    assert made.exit_code == 0, made.output
    assert "token 1 for alice (read-only, rooms e2e-panel-short)" in made.stderr
    assert runner.invoke(main, ["tokens", "create", "--user", "bob"], env=env).exit_code == 0

    rows = runner.invoke(main, ["tokens", "list"], env=env).stdout.splitlines()[1:]
    assert rows[0].endswith("read-only, rooms e2e-panel-short")
    assert rows[1].endswith("all rooms")
    listed = yaml.safe_load(runner.invoke(main, ["tokens", "list", "--json"], env=env).stdout)
    assert [(t["user"], t["read_only"], t["rooms"]) for t in listed] == [
        ("alice", True, ["e2e-panel-short"]),
        ("bob", False, None),
    ]
    refused = runner.invoke(
        main, ["tokens", "create", "--user", "alice", "--rooms", "e2e-open"], env=env
    )
    assert refused.exit_code == 1
    assert "alice does not moderate e2e-open" in refused.stderr
