"""Rooms over the JSON API: the list with live counts, one room's live state, and every
action of the shared tables (``bridge.actions``), one route per action, generated:

    POST /api/v1/rooms/{room}/actions/{name}   ROOM_ACTIONS (mute, kick, lock, record ...)
    POST /api/v1/rooms/{room}/stack/{name}     STACK_ACTIONS (next, call, move, clear ...)

Each route's body is its action's own arguments model, so the document shows exactly what
each takes. Actions run through ``AuditTrail.perform`` for the token's principal: a
moderator's token is audited as that moderator, the admin token as "admin".
"""

from __future__ import annotations

import logging
import time
from typing import Any

from aiohttp import web

from bridge.actions import ROOM_ACTIONS, STACK_ACTIONS, RoomAction
from bridge.domain.rooms import RoomSpec
from bridge.errors import UnknownAction
from bridge.web import render
from bridge.web.api.inputs import ApiRequest
from bridge.web.api.models import (
    ActionDone,
    Me,
    RoomList,
    RoomPath,
    RoomState,
    RoomSummary,
    StackState,
)
from bridge.web.openapi import Operation

log = logging.getLogger(__name__)

ROOM = "/api/v1/rooms/{room}"


async def me(api: ApiRequest) -> Me:
    """Who this token acts for, and the rooms it may moderate."""
    names = [spec.name for spec in await api.service.room_specs()]
    who = api.principal
    return Me(
        username=who.username, via=who.via, all_rooms=who.all_rooms, rooms=who.rooms_of(names)
    )


async def rooms(api: ApiRequest) -> RoomList:
    """The rooms this token may moderate, with who is in them now."""
    service = api.service
    specs = [s for s in await service.room_specs() if api.principal.may_moderate(s.name)]
    return RoomList(
        pbx=render.pbx_state(service.switchboard), rooms=[_summary(api, s) for s in specs]
    )


def _summary(api: ApiRequest, spec: RoomSpec) -> RoomSummary:
    live = api.service.switchboard.room(spec.name)
    stack = _stack(api, spec)
    return RoomSummary(
        name=spec.name,
        title=spec.title,
        live=live is not None,
        participants=live.count if live else 0,
        hands_raised=len(stack.queue),
        speaker=(stack.speaker.caller_id or stack.speaker.channel) if stack.speaker else None,
        locked=bool(live and live.locked),
        recording=bool(live and live.recording),
        queue=spec.queue,
        max_participants=spec.max_participants,
    )


def _stack(api: ApiRequest, spec: RoomSpec) -> StackState:
    shown = api.service.speakers.snapshot(spec.name)
    if shown is None:  # nobody in the room: an empty stack with the room's policy
        return StackState(room=spec.name, policy=spec.queue, speaker=None, queue=[])
    return StackState.model_validate(shown)


async def room(api: ApiRequest) -> RoomState:
    """One room now: roster, speaker stack and speaker. A room in the rooms file with
    nobody in it is ``live: false``; a room not in it is a 404."""
    name = api.path.room
    api.check_room(name)
    spec = await api.service.find_room(name)
    switchboard = api.service.switchboard
    now = time.time()
    shown: dict[str, Any] = render.room(switchboard, name, now)
    return RoomState(
        room=name,
        title=spec.title,
        live=shown["live"],
        pbx=render.pbx_state(switchboard),
        locked=shown.get("locked", False),
        recording=shown.get("recording", False),
        started_at=shown.get("started_at"),
        participants=shown["participants"],
        stack=_stack(api, spec),
    )


def _runs(action: RoomAction) -> Any:
    async def run(api: ApiRequest) -> ActionDone:
        name = api.path.room
        api.check_room(name)
        service = api.service
        await service.find_room(name)  # a room not in the rooms file: 404, not "nobody there"
        result = await service.audit.perform(service, api.principal, name, action, api.body)
        log.info("api.action room=%s action=%s actor=%s", name, action.name, api.principal.username)
        return ActionDone(room=name, action=action.name, **result)

    return run


def _unknown(table: dict[str, RoomAction]) -> Any:
    async def refuse(request: web.Request) -> web.StreamResponse:
        raise UnknownAction(request.match_info["action"], list(table))

    return refuse


def _action_operations(prefix: str, tag: str, table: dict[str, RoomAction]) -> list[Operation]:
    return [
        Operation(
            "post",
            f"{prefix}/{name}",
            f"{tag}_{name.replace('-', '_')}",
            action.summary,
            tag,
            _runs(action),
            path_params=RoomPath,
            body=action.arguments,
            body_required=bool(action.argument_names),
            response=ActionDone,
            errors=(403, 404, 409, 503),
        )
        for name, action in table.items()
    ]


OPERATIONS = [
    Operation("get", "/api/v1/me", "me", "who this token acts for", "rooms", me, response=Me),
    Operation(
        "get", "/api/v1/rooms", "list_rooms", "the rooms, with live counts", "rooms", rooms,
        response=RoomList,
    ),
    Operation(
        "get", ROOM, "show_room", "one room's live state: roster, stack, speaker", "rooms",
        room, path_params=RoomPath, response=RoomState, errors=(403, 404),
        description=str(room.__doc__).split("\n\n")[0],
    ),
    *_action_operations(f"{ROOM}/actions", "actions", ROOM_ACTIONS),
    *_action_operations(f"{ROOM}/stack", "stack", STACK_ACTIONS),
]  # fmt: skip

# A name not in the tables: 404 with the names that are (not in the document).
UNKNOWN_ACTIONS = [
    (f"{ROOM}/actions/{{action}}", _unknown(ROOM_ACTIONS)),
    (f"{ROOM}/stack/{{action}}", _unknown(STACK_ACTIONS)),
]
