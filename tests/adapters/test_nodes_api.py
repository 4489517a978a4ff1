"""The nodes over the JSON API: the local admin token alone lists and drains them; with one
Asterisk there are none, and a room's status names no node."""

from __future__ import annotations

from tests.adapters.conftest import Web
from tests.adapters.test_api_errors import bearer, error_of


async def test_one_asterisk_lists_no_node_and_drains_none(web_app: Web) -> None:
    admin = bearer(web_app.admin_token)
    response = await web_app.client.get("/api/v1/nodes", headers=admin)
    assert response.status == 200
    assert await response.json() == {"nodes": []}
    response = await web_app.client.post("/api/v1/nodes/node-2/drain", headers=admin)
    assert response.status == 404
    error = await error_of(response)
    assert error["code"] == "no_such_node" and "one Asterisk" in error["message"]
    room = await (await web_app.client.get("/api/v1/rooms/e2e-panel", headers=admin)).json()
    assert room["nodes"] == []


async def test_a_moderators_token_does_not_manage_the_nodes(web_app: Web) -> None:
    moderator = bearer(await web_app.token("tester"))
    for method, path in (("get", "/api/v1/nodes"), ("post", "/api/v1/nodes/node-1/drain")):
        response = await getattr(web_app.client, method)(path, headers=moderator)
        assert response.status == 403
        assert (await error_of(response))["code"] == "not_allowed"


async def test_a_node_name_that_cannot_be_one_is_a_bad_field(web_app: Web) -> None:
    admin = bearer(web_app.admin_token)
    response = await web_app.client.post("/api/v1/nodes/Node_1/drain", headers=admin)
    assert response.status == 400
    assert (await error_of(response))["code"] == "bad_field"
