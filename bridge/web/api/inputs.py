"""What a handler of the JSON API receives: the request, who asks, and its path, query and
body already parsed by the operation's models (a 400 ``bad_field`` otherwise). What
``bridge.web.openapi`` documents is what is parsed here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from bridge.domain.accounts import Principal
from bridge.errors import NotAllowed
from bridge.service import BridgeService
from bridge.web.bodies import read_body, read_object, validate
from bridge.web.keys import SERVICE
from bridge.web.openapi import Operation

MAX_BODY = 16 * 1024  # as the actions' door (bridge.web.door): a source to lift is short


@dataclass(frozen=True)
class ApiRequest:
    request: web.Request
    principal: Principal
    path: Any  # an instance of the operation's path_params model
    query: Any  # ... of its query model
    body: Any  # ... of its body model

    @property
    def service(self) -> BridgeService:
        return self.request.app[SERVICE]

    def check_room(self, room: str) -> None:
        """Before anything about ``room`` is read or done: may this principal moderate it?
        (Asked before whether the room exists, so a name tells nobody anything.)"""
        if not self.principal.may_moderate(room):
            raise NotAllowed(f"{self.principal.username} may not moderate room '{room}'")


async def parse(request: web.Request, op: Operation, principal: Principal) -> ApiRequest:
    return ApiRequest(
        request,
        principal,
        path=_validate(op.path_params, dict(request.match_info), "path"),
        query=_validate(op.query, dict(request.query), "query"),
        body=await _body(request, op.body) if op.body and not op.body_read_by_handler else None,
    )


def _validate(model: type[BaseModel] | None, data: Any, where: str) -> BaseModel | None:
    return None if model is None else validate(model, data, where)


async def _body(request: web.Request, model: type[BaseModel]) -> BaseModel:
    return read_object(*await read_body(request, MAX_BODY), model)
