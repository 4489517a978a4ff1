"""Every moderator action has one door: each entry of the table is reachable from the API
(a route, in the OpenAPI document), the panel (its action table) and the CLI (its
commands' choices), and the panel and the API refuse a request alike, in the same order."""

from __future__ import annotations

from typing import Any

import click
import pytest

from bridge.actions import ACTIONS, Group
from bridge.cli.base import main
from bridge.domain.accounts import Principal, Via
from bridge.web.api.routes import api_document
from bridge.web.panel.actions import action_table
from tests.adapters.conftest import Web


def cli_choices(command: str) -> list[str]:
    """The action names ``iobridge COMMAND ROOM ACTION`` accepts."""
    group = main
    assert isinstance(group, click.Group)
    found = group.get_command(click.Context(group), command)  # imported when asked for
    assert found is not None
    (action,) = [p for p in found.params if p.name == "action"]
    assert isinstance(action.type, click.Choice)
    return list(action.type.choices)


CLI_COMMAND = {Group.ROOM: "room", Group.STACK: "stack"}


async def test_every_action_of_the_table_is_reachable_from_the_api_the_panel_and_the_cli(
    web_app: Web,
) -> None:
    document = api_document()
    panel = action_table(Principal.admin(), "e2e-panel")
    admin = {"Authorization": f"Bearer {web_app.admin_token}"}
    session = await panel_session(web_app, "tester", "test-moderator")
    # the room (26: polls, play, hand-over, label, bar, keys, practice, dial-out, 5 breakout-*),
    # the stack (11: limit, auto-advance)
    assert len(ACTIONS) == 37
    for name, action in ACTIONS.items():
        path = f"/api/v1/rooms/{{room}}/{action.group.path}/{name}"
        body = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        assert body["schema"]["$ref"].endswith("/" + action.arguments.__name__), name
        assert panel[name]["arguments"] == list(action.argument_names)
        assert name in cli_choices(CLI_COMMAND[action.group])
        # Both doors answer, and reach the room check (past the rights and the name).
        api = await web_app.client.post(path.replace("{room}", "nowhere"), json={}, headers=admin)
        assert (api.status, (await api.json())["error"]["code"]) == (404, "no_such_room"), name
        posted = await session.post("nowhere", name, {})
        assert posted[:2] == (404, "no_such_room"), name


class PanelSession:
    def __init__(self, web_app: Web, token: str, csrf: str) -> None:
        self.web_app, self.token, self.csrf = web_app, token, csrf

    async def post(self, room: str, name: str, body: Any) -> tuple[int, str, str]:
        client = self.web_app.client
        origin = str(client.make_url("/")).rstrip("/")
        response = await client.post(
            f"/rooms/{room}/actions/{name}",
            json=body,
            cookies={"iobridge_session": self.token},
            headers={"Origin": origin, "X-CSRF-Token": self.csrf},
        )
        return await answer(response)


async def panel_session(web_app: Web, username: str, password: str) -> PanelSession:
    opened = await web_app.service.accounts.log_in(username, password, "127.0.0.1")
    return PanelSession(web_app, opened.token, opened.csrf)


async def answer(response: Any) -> tuple[int, str, str]:
    error = (await response.json())["error"]
    return response.status, error["code"], error["message"]


PASSWORDS = {"tester": ("tester", "test-moderator"), "alice": ("alice", "alice-panel-pw")}


@pytest.mark.parametrize(
    ("room", "name", "body", "status", "code"),
    [
        ("Not_A_Room", "lock", {}, 400, "bad_field"),
        ("e2e-open", "lock", {}, 403, "not_allowed"),  # alice moderates e2e-panel only
        ("e2e-nowhere", "kick", {"channel": "all"}, 404, "no_such_room"),  # tester: every room
        ("e2e-panel", "kick", {"channel": "all"}, 400, "bad_field"),
        ("e2e-panel", "kick", {}, 400, "bad_field"),
        ("e2e-panel", "move", {"channel": "PJSIP/a-1", "place": 0}, 400, "bad_field"),
        ("e2e-panel", "lock", {"now": True}, 400, "bad_field"),
        ("e2e-panel", "lock", [1, 2], 400, "bad_field"),
    ],
)
async def test_the_panel_and_the_api_refuse_a_request_alike(
    web_app: Web, room: str, name: str, body: Any, status: int, code: str
) -> None:
    who, password = PASSWORDS["tester" if room == "e2e-nowhere" else "alice"]
    token = {"Authorization": f"Bearer {await web_app.token(who)}"}
    group = ACTIONS[name].group.path
    through_api = await answer(
        await web_app.client.post(f"/api/v1/rooms/{room}/{group}/{name}", json=body, headers=token)
    )
    through_panel = await (await panel_session(web_app, who, password)).post(room, name, body)
    assert through_api == through_panel
    assert through_api[:2] == (status, code), through_api


async def test_an_unknown_action_is_404_through_both_doors_after_the_rights(web_app: Web) -> None:
    token = {"Authorization": f"Bearer {await web_app.token('alice')}"}
    panel = await panel_session(web_app, "alice", "alice-panel-pw")
    api = await answer(
        await web_app.client.post("/api/v1/rooms/e2e-panel/actions/explode", headers=token)
    )
    assert api[:2] == (404, "unknown_action") and "mute-all" in api[2]
    assert (await panel.post("e2e-panel", "explode", {}))[:2] == (404, "unknown_action")
    # A room the principal may not moderate: 403 first, whatever the name.
    api = await answer(
        await web_app.client.post("/api/v1/rooms/e2e-open/actions/explode", headers=token)
    )
    assert api[:2] == (403, "not_allowed")
    assert (await panel.post("e2e-open", "explode", {}))[:2] == (403, "not_allowed")


async def test_an_assistant_is_refused_host_actions_alike_through_both_doors(web_app: Web) -> None:
    token = {"Authorization": f"Bearer {await web_app.token('dana')}"}
    panel = await panel_session(web_app, "dana", "dana-panel-pw")
    for name in ("lock", "end", "record", "kick", "hand-over"):
        body = (
            {"channel": "PJSIP/a-1"}
            if name == "kick"
            else {"to": "bob"}
            if name == "hand-over"
            else {}
        )
        path = f"/api/v1/rooms/e2e-panel/actions/{name}"
        api = await answer(await web_app.client.post(path, json=body, headers=token))
        assert api == (await panel.post("e2e-panel", name, body))
        assert api == (403, "not_allowed", f"dana may not {name} in room 'e2e-panel'")
    # An assistant's own actions get past the rights (to Asterisk, which is away here).
    api = await web_app.client.post("/api/v1/rooms/e2e-panel/actions/mute-all", headers=token)
    assert (api.status, (await api.json())["error"]["code"]) == (503, "pbx_unavailable")


async def test_the_panel_page_lists_only_the_actions_the_role_allows() -> None:
    dana = Principal.from_room_list("dana", ("e2e-panel",), Via.SESSION, ("e2e-panel",))
    offered = action_table(dana, "e2e-panel")
    assert {"mute", "mute-all", "unmute-all", "next", "poll-open", "play"} <= set(offered)
    assert not {"lock", "unlock", "end", "record", "stop-record", "kick", "hand-over"} & set(
        offered
    )
    host = Principal.from_room_list("alice", ("e2e-panel",), Via.SESSION)
    assert set(action_table(host, "e2e-panel")) == set(ACTIONS)


async def test_a_host_hands_the_room_to_another_host_and_then_assists(web_app: Web) -> None:
    alice = {"Authorization": f"Bearer {await web_app.token('alice')}"}
    bob = {"Authorization": f"Bearer {await web_app.token('bob')}"}
    client = web_app.client
    refused = await client.post(
        "/api/v1/rooms/e2e-panel/actions/hand-over", json={"to": "dana"}, headers=alice
    )
    assert (await answer(refused))[:2] == (409, "action_refused")
    unknown = await client.post(
        "/api/v1/rooms/e2e-panel/actions/hand-over", json={"to": "nobody"}, headers=alice
    )
    assert (await answer(unknown))[:2] == (404, "no_such_moderator")
    handed = await client.post(
        "/api/v1/rooms/e2e-panel/actions/hand-over", json={"to": "bob"}, headers=alice
    )
    assert handed.status == 200 and (await handed.json())["holder"] == "bob"
    # alice assists from now on; bob holds the room; the other room is untouched.
    lock = "/api/v1/rooms/e2e-panel/actions/lock"
    assert (await answer(await client.post(lock, headers=alice)))[:2] == (403, "not_allowed")
    assert (await client.post(lock, headers=bob)).status == 503  # past the rights
    other = "/api/v1/rooms/e2e-panel-short/actions/lock"
    assert (await client.post(other, headers=alice)).status == 503
