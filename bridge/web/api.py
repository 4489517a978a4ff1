"""The JSON API the CLI (and scripts) use: live status, the room actions of the shared
table (``bridge.actions``), and the sources the guard holds back for guessing PINs.
Handlers parse, call the service, and render."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from bridge.actions import ROOM_ACTIONS, STACK_ACTIONS, RoomAction
from bridge.domain.accounts import Principal
from bridge.domain.guard import parse_source
from bridge.domain.rooms import ROOM_NAME
from bridge.errors import BadField
from bridge.web import render
from bridge.web.bodies import read_object
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
    try:
        charset = request.charset
    except ValueError:  # a Content-Type header that does not parse
        raise BadField("unreadable Content-Type header") from None
    return read_object(await request.read(), charset, model)


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


class SourceArgument(BaseModel):
    source: str


async def lockouts(request: web.Request) -> web.Response:
    """The sources held back right now (``iobridge lockouts list``)."""
    held = request.app[SERVICE].desk.held_back()
    return web.json_response({"held_back": [render.held_back(h) for h in held]})


async def lockout_clear(request: web.Request) -> web.Response:
    """Lift a source's hold (``iobridge lockouts clear``)."""
    argument = await parse_body(request, SourceArgument)
    assert isinstance(argument, SourceArgument)
    try:
        source = parse_source(argument.source)
    except ValueError as exc:
        raise BadField(str(exc)) from None
    cleared = await request.app[SERVICE].desk.lift(source)
    return web.json_response({"source": str(source), "cleared": cleared})


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/api/lockouts", lockouts)
    router.add_post("/api/lockouts/clear", lockout_clear)
    router.add_get("/api/status", status)
    router.add_get("/api/rooms/{room}", room_status)
    router.add_get("/api/rooms/{room}/stack", stack_show)
    router.add_post("/api/rooms/{room}/stack/{action}", stack_action)
    router.add_post("/api/rooms/{room}/{action}", room_action)
