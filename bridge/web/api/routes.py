"""The route table of ``/api/v1``: every operation, the router built from it, and the
OpenAPI document generated from it (``/api/v1/openapi.json``, readable at ``/api/v1/docs``).

A request goes: the token (``bridge.web.api.auth``), then the path, query and body parsed
by the operation's models (``bridge.web.api.inputs``), then the handler, whose answer is
the operation's response model (or a CSV, SVG or WAV answer). Failures become the one
JSON error shape in ``bridge.web.errors``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from bridge.web.api import alerts, docs, events, guard, history, nodes, rooms
from bridge.web.api.auth import principal_of
from bridge.web.api.inputs import parse
from bridge.web.api.models import ErrorAnswer
from bridge.web.openapi import Operation, document

VERSION = "1"
DESCRIPTION = """\
The io-bridge JSON API: rooms and their live state, every moderator action of the panel
(room and speaker stack), calls and their post-call reports, recordings, the audit trail,
alerts (a recorded message rung out to a list of numbers),
and the push feed of what happens (`GET /api/v1/events`, Server-Sent Events).

Send `Authorization: Bearer TOKEN` with a moderator's token (`iobridge tokens create --user
NAME`): it may do what that moderator may, in that moderator's rooms, and its actions are
audited under the moderator's name. Every failure is JSON: `{"error": {"code", "message"}}`.
"""


def _public(path: str, operation_id: str, summary: str, handler: Any, media: str) -> Operation:
    return Operation(
        "get", path, operation_id, summary, "meta", handler, other_media={media: summary},
        public=True,
    )  # fmt: skip


async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(api_document())


async def docs_page(request: web.Request) -> web.Response:
    return web.Response(text=docs_html(), content_type="text/html")


OPERATIONS: list[Operation] = [
    *rooms.OPERATIONS,
    *history.OPERATIONS,
    *guard.OPERATIONS,
    *nodes.OPERATIONS,
    *events.OPERATIONS,
    *alerts.OPERATIONS,
    _public("/api/v1/openapi.json", "openapi", "this document", openapi_json, "application/json"),
    _public("/api/v1/docs", "docs", "this document, to read", docs_page, "text/html"),
]


@cache
def api_document() -> dict[str, Any]:
    return document(
        OPERATIONS,
        title="io-bridge",
        version=VERSION,
        description=DESCRIPTION,
        error_model=ErrorAnswer,
    )


@cache
def docs_html() -> str:
    return docs.render(api_document())


def _handler(op: Operation) -> Any:
    if op.public:
        return op.handler

    async def handle(request: web.Request) -> web.StreamResponse:
        principal = await principal_of(request)
        answer = await op.handler(await parse(request, op, principal))
        if isinstance(answer, web.StreamResponse):
            return answer
        assert op.response is not None and isinstance(answer, op.response), op.operation_id
        return _json(answer)

    return handle


def _json(answer: BaseModel) -> web.Response:
    return web.Response(text=answer.model_dump_json(), content_type="application/json")


def add_routes(router: web.UrlDispatcher) -> None:
    for op in OPERATIONS:
        router.add_route(op.method.upper(), op.path, _handler(op), name=op.operation_id)
    for path, refuse in rooms.UNKNOWN_ACTIONS:
        router.add_post(path, refuse)
