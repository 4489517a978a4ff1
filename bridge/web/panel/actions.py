"""The panel's actions: every button posts to one route, which goes through the actions'
one door (``bridge.web.door``), as the JSON API does. No action is listed here: adding one
to the table (``bridge.actions``) adds it to the panel (a button appears where the page has
a place for it).

``POST /rooms/{room}/actions/{action}`` with a JSON object of the action's arguments and
the session's CSRF token in ``X-CSRF-Token``. Same origin, logged in (401) and the CSRF
token (403) are checked first; then the door's checks, in the door's order.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bridge.actions import ACTIONS
from bridge.domain.accounts import Principal
from bridge.web.auth import state_changing_session
from bridge.web.door import act


def action_table(principal: Principal, room: str) -> dict[str, dict[str, Any]]:
    """What the page's script needs to know of each action ``principal`` may run in
    ``room`` (an assistant's page gets no host action, so draws no host button; the door
    still checks every post): its summary and the names of its arguments, in the order
    the CLI takes them (buttons give them in that order)."""
    return {
        name: {"summary": action.summary, "arguments": list(action.argument_names)}
        for name, action in ACTIONS.items()
        if principal.may(action.right, room)
    }


async def run_action(request: web.Request) -> web.Response:
    session = await state_changing_session(request)
    info = request.match_info
    return await act(request, session.principal, info["room"], info["action"], ACTIONS)
