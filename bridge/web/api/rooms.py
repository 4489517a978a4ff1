"""Rooms over the JSON API: the list with live counts, one room's live state (each a
``RoomView`` serialized), and every action of the table (``bridge.actions``), one route per
action, generated:

    POST /api/v1/rooms/{room}/actions/{name}   the room's (mute, kick, lock, record ...)
    POST /api/v1/rooms/{room}/stack/{name}     the speaker stack's (next, call, move ...)

Each route's body is documented as its action's own arguments model, so the document shows
exactly what each takes; the request goes through the actions' one door
(``bridge.web.door``), as the panel's do, for the token's principal: a moderator's token
is audited as that moderator, the admin token as "admin".
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from aiohttp import web

from bridge.actions import ROOM_ACTIONS, STACK_ACTIONS, Action, Group, of_group
from bridge.service.room_view import (
    NumberShown,
    RoomView,
    numbers_for,
    room_view,
    shown_breakout,
    shown_calls_out,
    shown_row,
    shown_stack,
)
from bridge.web import render
from bridge.web.api.auth import principal_of
from bridge.web.api.inputs import ApiRequest
from bridge.web.api.models import (
    ActionDone,
    Me,
    OpenedRoom,
    OpenRoomBody,
    Participant,
    PollState,
    RoomLinkState,
    RoomList,
    RoomPath,
    RoomState,
    RoomSummary,
    StackState,
)
from bridge.web.api.room_features import BreakoutState, CallOut, PracticeState
from bridge.web.door import act
from bridge.web.openapi import Operation

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
    on_demand = await service.rooms_opened_on_demand()
    return RoomList(
        pbx=render.pbx_state(service.switchboard),
        rooms=[
            _summary(room_view(service, spec), on_demand, numbers_for(api.principal, spec))
            for spec in specs
        ],
    )


async def open_room(api: ApiRequest) -> OpenedRoom:
    """Open a room on demand, with fresh PINs shown in this answer only. A room's host may;
    it closes itself when its hours are up and nobody is in it."""
    body: OpenRoomBody = api.body
    opened = await api.service.on_demand.open(
        api.principal, body.title, hours=body.hours, copy_settings_from=body.copy_settings_from
    )
    return OpenedRoom(
        name=opened.name,
        title=opened.title,
        pin=opened.pin,
        moderator_pin=opened.moderator_pin,
        closes_at=opened.closes_at,
    )


def _summary(view: RoomView, on_demand_names: Collection[str], shown: NumberShown) -> RoomSummary:
    return RoomSummary(
        name=view.name,
        title=view.spec.title,
        live=view.live,
        participants=view.count,
        hands_raised=view.hands_raised,
        speaker=view.speaker_as(shown),
        locked=view.locked,
        recording=view.recording,
        queue=view.spec.queue,
        max_participants=view.spec.max_participants,
        on_demand=view.name in on_demand_names,
        practice=view.spec.practice,
    )


async def room(api: ApiRequest) -> RoomState:
    """One room now: roster, speaker stack and speaker. A room in the rooms file with
    nobody in it is ``live: false``; a room not in it is a 404."""
    api.check_room(api.path.room)
    view = room_view(api.service, await api.service.find_room(api.path.room))
    shown = numbers_for(api.principal, view.spec)
    return RoomState(
        room=view.name,
        title=view.spec.title,
        live=view.live,
        nodes=list(view.nodes),
        links=[RoomLinkState.model_validate(link) for link in view.links],
        pbx=render.pbx_link(view.pbx_connected),
        locked=view.locked,
        recording=view.recording,
        started_at=view.started_at,
        participants=[
            Participant.model_validate(
                shown_row(
                    render.participant(
                        p,
                        view.now,
                        view.names.get(p.channel, ""),
                        p.channel in view.keys_paused,
                        p.channel in view.dialed_out,
                        p.channel in view.names_recorded,
                    ),
                    shown,
                )
            )
            for p in view.participants
        ],
        stack=StackState.model_validate(shown_stack(view.stack, shown)),
        poll=None if view.poll is None else PollState.model_validate(view.poll),
        practice_room=view.spec.practice,
        practice=None if view.practice is None else PracticeState.model_validate(view.practice),
        calls_out=[CallOut.model_validate(c) for c in shown_calls_out(view.calls_out, shown)],
        breakout=None
        if view.breakout is None
        else BreakoutState.model_validate(shown_breakout(view.breakout, shown)),
        first_time_share=view.first_time_share,
    )


def _through_the_door(name: str, group: Group) -> Any:
    """An action's route: the actions' one door, as the panel's (``bridge.web.door``)."""

    async def run(api: ApiRequest) -> Any:
        return await act(api.request, api.principal, api.path.room, name, of_group(group))

    return run


def _action_operations(group: Group, table: dict[str, Action[Any]]) -> list[Operation]:
    tag = group.path
    return [
        Operation(
            "post",
            f"{ROOM}/{group.path}/{name}",
            f"{tag}_{name.replace('-', '_')}",
            action.summary,
            tag,
            _through_the_door(name, group),
            path_params=RoomPath,
            body=action.arguments,
            body_required=bool(action.argument_names),
            body_read_by_handler=True,
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
    Operation(
        "post", "/api/v1/rooms", "open_room", "open a room on demand (a host may)", "rooms",
        open_room, body=OpenRoomBody, body_required=True, response=OpenedRoom,
        errors=(400, 403, 404), description=str(open_room.__doc__),
    ),
    *_action_operations(Group.ROOM, ROOM_ACTIONS),
    *_action_operations(Group.STACK, STACK_ACTIONS),
]  # fmt: skip


def _any_other(group: Group) -> Any:
    async def refuse(request: web.Request) -> web.StreamResponse:
        info = request.match_info
        principal = await principal_of(request)
        return await act(request, principal, info["room"], info["action"], of_group(group))

    return refuse


# A name not in the table: the same door, which answers 404 with the names that are
# (after the token and the room's checks; these routes are not in the document).
UNKNOWN_ACTIONS = [
    (f"{ROOM}/{group.path}/{{action}}", _any_other(group)) for group in (Group.ROOM, Group.STACK)
]
