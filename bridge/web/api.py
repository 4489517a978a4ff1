"""The JSON API the CLI (and scripts) use: live status and the room actions of the shared
table (``bridge.actions``). Handlers parse, call the service, and render."""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from bridge.actions import ROOM_ACTIONS, STACK_ACTIONS, RoomAction
from bridge.domain.accounts import Principal
from bridge.domain.rooms import ROOM_NAME
from bridge.errors import BadField
from bridge.web import render
from bridge.web.keys import SERVICE

log = logging.getLogger(__name__)


def room_name(request: web.Request) -> str:
    """The room named in the path, checked: it goes into AMI fields and file names."""
    room = request.match_info["room"]
    if not ROOM_NAME.fullmatch(room):
        raise BadField(f"not a room name: {room!r} (expected a-z, 0-9 and -)")
    return room


async def parse_body(request: web.Request, model: type[BaseModel]) -> BaseModel:
    """The request's JSON body as ``model``; an empty body is ``{}``."""
    raw = await request.read()
    try:
        data: Any = json.loads(raw.decode(request.charset or "utf-8")) if raw.strip() else {}
    except (ValueError, LookupError, RecursionError):
        raise BadField("the body is not JSON") from None
    if not isinstance(data, dict):
        raise BadField("the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadField(_first_problem(exc)) from None


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "body"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}"


async def status(request: web.Request) -> web.Response:
    return web.json_response(render.status(request.app[SERVICE].switchboard))


async def room_status(request: web.Request) -> web.Response:
    return web.json_response(render.room(request.app[SERVICE].switchboard, room_name(request)))


async def room_action(request: web.Request) -> web.Response:
    return await _act(request, ROOM_ACTIONS)


async def stack_action(request: web.Request) -> web.Response:
    return await _act(request, STACK_ACTIONS)


async def stack_show(request: web.Request) -> web.Response:
    return web.json_response(await request.app[SERVICE].speakers.show(room_name(request)))


async def _act(request: web.Request, table: dict[str, RoomAction]) -> web.Response:
    room = room_name(request)
    name = request.match_info["action"]
    action = table.get(name)
    if action is None:
        expected = ", ".join(table)
        return web.json_response(
            {"error": f"unknown action '{name}'; expected one of {expected}"}, status=404
        )
    arguments = await parse_body(request, action.arguments)
    result: dict[str, Any] = {"room": room, "action": name}
    service = request.app[SERVICE]
    # The admin token is the local CLI: audited as "admin".
    result.update(await service.audit.perform(service, Principal.admin(), room, action, arguments))
    log.info("api.action room=%s action=%s", room, name)
    return web.json_response(result)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/api/status", status)
    router.add_get("/api/rooms/{room}", room_status)
    router.add_get("/api/rooms/{room}/stack", stack_show)
    router.add_post("/api/rooms/{room}/stack/{action}", stack_action)
    router.add_post("/api/rooms/{room}/{action}", room_action)
