"""The one door of every moderator action, for the panel (``POST /rooms/{room}/actions/NAME``,
with its session) and the JSON API (``POST /api/v1/rooms/{room}/actions|stack/NAME``, with
its token) alike. Whoever the caller proved to be, the request is then checked in this
order, so a refused one changes nothing and reads the same through either door:

1. the room's name (400), and the principal may moderate it (403);
2. the action is one of those this door offers (404, naming them);
3. the principal holds the right the action's entry declares (403);
4. the room is in the rooms file (404; a known room with nobody in it is the action's
   own answer, e.g. 409);
5. the body, read with one limit and one reader, is the action's arguments (400);

then the action runs through ``bridge.actions.perform`` (audited, timed) and the answer is
``ActionDone``: ``{"room", "action", "file", "speaker"}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from bridge.actions import Action, check_right, perform
from bridge.domain.accounts import Principal
from bridge.domain.rooms import RoomSpec
from bridge.errors import NotAllowed, UnknownAction
from bridge.service.room_view import numbers_for, shown_breakout, shown_calls_out
from bridge.web.api.models import ActionDone, RoomPath
from bridge.web.bodies import read_body, read_object, validate
from bridge.web.keys import SERVICE

MAX_BODY = 16 * 1024  # the largest action takes a channel and a number: room to spare


async def act(
    request: web.Request,
    principal: Principal,
    room: str,
    name: str,
    offered: Mapping[str, Action[Any]],
) -> web.Response:
    validate(RoomPath, {"room": room}, "path")
    if not principal.may_moderate(room):
        raise NotAllowed(f"{principal.username} may not moderate room '{room}'")
    action = offered.get(name)
    if action is None:
        raise UnknownAction(name, list(offered))
    service = request.app[SERVICE]
    check_right(service.holders.acting(principal, room), action, room)
    spec = await service.find_room(room)
    arguments = read_object(*await read_body(request, MAX_BODY), action.arguments)
    result = _as_shown(await perform(service, principal, room, action, arguments), spec, principal)
    done = ActionDone(room=room, action=action.name, **result)
    return web.Response(text=done.model_dump_json(), content_type="application/json")


def _as_shown(result: dict[str, Any], spec: RoomSpec, principal: Principal) -> dict[str, Any]:
    """An action's answer with callers' numbers as the principal sees them in the room (a
    breakout's groups, the calls out): an assistant's answer is masked as their panel is."""
    shown = numbers_for(principal, spec)
    if result.get("breakout") is not None:
        result = {**result, "breakout": shown_breakout(result["breakout"], shown)}
    if result.get("calls") is not None:
        result = {**result, "calls": shown_calls_out(result["calls"], shown)}
    return result
