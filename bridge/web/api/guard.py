"""The sources the guard holds back for guessing PINs, over the JSON API, for the local
CLI's ``iobridge lockouts list|clear`` (the admin token only: a moderator's token manages
rooms, not the front door)."""

from __future__ import annotations

from bridge.domain.accounts import Via
from bridge.domain.guard import parse_source
from bridge.errors import BadField, NotAllowed
from bridge.web import render
from bridge.web.api.inputs import ApiRequest
from bridge.web.api.models import HeldBackEntry, HeldBackList, LiftedHold, SourceBody
from bridge.web.openapi import Operation


def _admin_only(api: ApiRequest) -> None:
    if api.principal.via is not Via.ADMIN_TOKEN:
        raise NotAllowed("only the local admin token manages the front door")


async def held_back(api: ApiRequest) -> HeldBackList:
    """The sources refused or slowed right now, with their failed PINs and until when."""
    _admin_only(api)
    held = [HeldBackEntry(**render.held_back(h)) for h in api.service.desk.held_back()]
    return HeldBackList(held_back=held)


async def lift(api: ApiRequest) -> LiftedHold:
    """Lift a source's hold: an address, or a source as the list shows it."""
    _admin_only(api)
    try:
        source = parse_source(api.body.source)
    except ValueError as exc:
        raise BadField(str(exc)) from None
    cleared = await api.service.desk.lift(source)
    return LiftedHold(source=str(source), cleared=cleared)


OPERATIONS = [
    Operation(
        "get", "/api/v1/lockouts", "lockouts", "sources held back for guessing PINs",
        "front door", held_back, response=HeldBackList, errors=(401, 403),
    ),
    Operation(
        "post", "/api/v1/lockouts/clear", "lockout_clear", "lift a source's hold",
        "front door", lift, body=SourceBody, body_required=True, response=LiftedHold,
        errors=(400, 401, 403),
    ),
]  # fmt: skip
