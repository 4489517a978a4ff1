"""Several Asterisk nodes over the JSON API, for the local CLI's ``iobridge nodes list`` and
``iobridge nodes drain NAME`` (the admin token only: a moderator's token manages rooms, not
the machines)."""

from __future__ import annotations

from bridge.domain.accounts import Via
from bridge.errors import NoSuchNode, NotAllowed
from bridge.web.api.inputs import ApiRequest
from bridge.web.api.models import NodeDrained, NodeEntry, NodeList, NodePath
from bridge.web.openapi import Operation


def _admin_only(api: ApiRequest) -> None:
    if api.principal.via is not Via.ADMIN_TOKEN:
        raise NotAllowed("only the local admin token manages the nodes")


async def nodes(api: ApiRequest) -> NodeList:
    """Every node of the nodes file: its addresses, state, calls and rooms."""
    _admin_only(api)
    links = api.service.node_links
    listing = links.listing() if links is not None else []
    return NodeList(nodes=[NodeEntry.model_validate(node) for node in listing])


async def drain(api: ApiRequest) -> NodeDrained:
    """No new room goes to the node; the rooms on it finish there."""
    _admin_only(api)
    links = api.service.node_links
    if links is None:
        raise NoSuchNode(api.path.node, [])
    links.drain(api.path.node)
    return NodeDrained(node=api.path.node, rooms=links.rooms_on(api.path.node))


OPERATIONS = [
    Operation(
        "get", "/api/v1/nodes", "nodes", "the Asterisk nodes, their state and rooms",
        "nodes", nodes, response=NodeList, errors=(401, 403),
    ),
    Operation(
        "post", "/api/v1/nodes/{node}/drain", "node_drain", "take no new room on a node",
        "nodes", drain, path_params=NodePath, response=NodeDrained, errors=(401, 403, 404),
    ),
]  # fmt: skip
