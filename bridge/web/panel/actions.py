"""The panel's actions: every button posts to one route, which runs the named action of
the shared table (``bridge.actions``) through the audit trail. No action is listed here:
adding one to the table adds it to the panel (a button appears where the page has a place
for it).

``POST /rooms/{room}/actions/{action}`` with a JSON object of the action's arguments and
the session's CSRF token in ``X-CSRF-Token``. Checked in this order, so a refused request
changes nothing: same origin, logged in (401), CSRF token (403), rights to the room (403),
a known action (404), well-formed arguments (400).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel

from bridge.actions import ROOM_ACTIONS, STACK_ACTIONS, RoomAction
from bridge.errors import UnknownAction
from bridge.web.auth import room_of_request, state_changing_session
from bridge.web.bodies import read_body, read_object
from bridge.web.keys import SERVICE

MAX_BODY = 4096


def panel_actions() -> dict[str, RoomAction]:
    """The actions a panel may run: the shared tables, the room's and the stack's. The page
    shows a button only when its action is in here."""
    return {**ROOM_ACTIONS, **STACK_ACTIONS}


def action_table() -> dict[str, dict[str, Any]]:
    """What the page's script needs to know of each action: its summary and the names of
    its arguments, in the order the CLI takes them (buttons give them in that order)."""
    return {
        name: {"summary": action.summary, "arguments": list(action.argument_names)}
        for name, action in panel_actions().items()
    }


async def _arguments(request: web.Request, model: type[BaseModel]) -> BaseModel:
    raw, charset = await read_body(request, MAX_BODY)
    return read_object(raw, charset, model)


async def run_action(request: web.Request) -> web.Response:
    session = await state_changing_session(request)
    room = room_of_request(request, session)
    name = request.match_info["action"]
    table = panel_actions()
    action = table.get(name)
    if action is None:
        raise UnknownAction(name, list(table))
    arguments = await _arguments(request, action.arguments)
    service = request.app[SERVICE]
    result = await service.audit.perform(service, session.principal, room, action, arguments)
    return web.json_response({"room": room, "action": name, **result})
