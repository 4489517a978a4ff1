"""An action run on someone's behalf: the right its entry declares, checked through the
principal; its handler given only what it acts on; timed for the metrics
(``iobridge_action_seconds``) and kept in the audit trail, failures included. The web's
one door (``bridge.web.door``) ends here for the panel and the API alike."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from bridge.actions.table import Action, Context, Result
from bridge.domain.accounts import Principal
from bridge.errors import BridgeError, NotAllowed

if TYPE_CHECKING:
    from bridge.service import BridgeService


def check_right(principal: Principal, action: Action[Any], room: str) -> None:
    if not principal.may(action.right, room):
        raise NotAllowed(f"{principal.username} may not {action.name} in room '{room}'")


async def perform(
    service: BridgeService,
    principal: Principal,
    room: str,
    action: Action[Any],
    arguments: BaseModel,
) -> Result:
    """Run ``action`` on ``room`` for ``principal``, and keep a record of it."""
    check_right(service.holders.acting(principal, room), action, room)
    context = Context(
        room,
        principal.username,
        service.moderation,
        service.speakers,
        service.polls,
        service.cues,
        service.holders,
        service.labels,
        service.bars,
        service.keys,
        service.practice,
        service.dialout,
        service.breakouts,
    )

    async def run() -> Result:
        started, outcome = time.perf_counter(), "error"
        try:
            result = await action.handler(context, arguments) or {}
            outcome = "ok"
            return result
        except BridgeError as exc:
            outcome = exc.code
            raise
        finally:
            service.metrics.action_done(action.name, time.perf_counter() - started, outcome)

    return await service.audit.perform(principal.username, room, action.name, arguments, run)
