"""The panel's pages: log in and out, the rooms overview, a room's page. Server-rendered
(aiohttp-jinja2); the room page's live parts are drawn by ``static/panel.js`` from the
snapshots of its websocket (``bridge.web.panel.live``)."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from bridge.errors import BridgeError, LoginRefused, LoginsBusy, TooManyLogins
from bridge.service.accounts import PanelSession
from bridge.service.room_view import numbers_for, room_view
from bridge.web import render
from bridge.web.auth import (
    COOKIE,
    CSRF_FIELD,
    check_same_origin,
    clear_session_cookie,
    client_address,
    current_session,
    json_session,
    page_session,
    room_of_request,
    safe_next,
    set_session_cookie,
    state_changing_session,
)
from bridge.web.bodies import read_form
from bridge.web.keys import SERVICE
from bridge.web.panel.actions import action_table
from bridge.web.panel.state import overview_row

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def html_errors(handler: Handler) -> Handler:
    """A page's failures as a page (403, 404 ...), not as the API's JSON."""

    async def page(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except BridgeError as exc:
            return await error_page(request, exc.status, str(exc))

    return page


async def error_page(request: web.Request, status: int, message: str) -> web.Response:
    """A failure as a page, in the panel's frame (who is logged in, if that can be told)."""
    try:
        chrome = await page_frame(request)
    except Exception:  # the page says what failed even when the database is away
        log.exception("panel.error_page_without_session")
        chrome = {"user": None, "csrf": "", "pbx": "unknown"}
    context = {"status": status, "message": message, **chrome}
    return aiohttp_jinja2.render_template("error.html", request, context, status=status)


async def page_frame(request: web.Request) -> dict[str, Any]:
    """What every page's frame shows: who is logged in, the CSRF token for Log out."""
    session = await current_session(request)
    return {
        "user": session.principal.username if session else None,
        "csrf": session.csrf if session else "",
        # Nothing about the PBX to someone not logged in (the login page included).
        "pbx": render.pbx_state(request.app[SERVICE].switchboard) if session else "",
    }


# ---- log in, log out ---------------------------------------------------------------------


async def index(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/rooms" if await current_session(request) else "/login")


async def login_page(request: web.Request) -> web.StreamResponse:
    if await current_session(request):
        raise web.HTTPFound(safe_next(request.query.get("next")))
    return _login_form(request, await page_frame(request), next_page=request.query.get("next"))


def _login_form(
    request: web.Request,
    chrome: dict[str, Any],
    *,
    next_page: str | None,
    username: str = "",
    error: str = "",
    status: int = 200,
) -> web.Response:
    context = {"username": username, "error": error, "next": safe_next(next_page), **chrome}
    return aiohttp_jinja2.render_template("login.html", request, context, status=status)


@html_errors
async def login_submit(request: web.Request) -> web.StreamResponse:
    check_same_origin(request)
    form = await read_form(request)
    username = form.get("username", "")[:200]
    password = form.get("password", "")
    next_page = form.get("next", "")
    service = request.app[SERVICE]
    try:
        opened = await service.accounts.log_in(
            username, password, client_address(request), previous=request.cookies.get(COOKIE)
        )
    except (LoginRefused, TooManyLogins, LoginsBusy) as exc:
        chrome = await page_frame(request)
        return _login_form(
            request,
            chrome,
            next_page=next_page,
            username=username,
            error=str(exc),
            status=exc.status,
        )
    response = _see_other(safe_next(next_page))
    set_session_cookie(response, request, opened.token)
    return response


@html_errors
async def logout(request: web.Request) -> web.StreamResponse:
    response = _see_other("/login")
    if await current_session(request) is not None:
        form = await read_form(request)
        session = await state_changing_session(request, form.get(CSRF_FIELD, ""))
        await request.app[SERVICE].accounts.log_out(session.token)
    clear_session_cookie(response, request)
    return response


def _see_other(location: str) -> web.Response:
    """After a form: go there with a GET (a response, so it can carry a cookie)."""
    return web.Response(status=303, headers={"Location": location})


# ---- rooms -------------------------------------------------------------------------------


async def _overview(request: web.Request, session: PanelSession) -> list[dict[str, Any]]:
    service = request.app[SERVICE]
    specs = await service.room_specs()  # from the room cache: no query while unchanged
    on_demand = await service.rooms_opened_on_demand()
    allowed = [spec for spec in specs if session.principal.may_moderate(spec.name)]
    return [
        {
            **overview_row(room_view(service, spec), numbers_for(session.principal, spec)),
            "closes_at": _closes(on_demand, spec.name),
        }
        for spec in allowed
    ]


def _closes(on_demand: dict[str, datetime], room: str) -> str | None:
    """When a room opened on demand closes (UTC, to the minute); None for the file's."""
    closes_at = on_demand.get(room)
    return None if closes_at is None else closes_at.strftime("%Y-%m-%d %H:%M UTC")


@html_errors
async def rooms_page(request: web.Request) -> web.StreamResponse:
    session = await page_session(request)
    rooms = await _overview(request, session)
    context = {
        "rooms": rooms,
        "may_open_rooms": session.principal.may_open_rooms(),
        **await page_frame(request),
    }
    return aiohttp_jinja2.render_template("rooms.html", request, context)


async def rooms_json(request: web.Request) -> web.StreamResponse:
    """The overview's rows, for its page to refresh itself."""
    session = await json_session(request)
    pbx = render.pbx_state(request.app[SERVICE].switchboard)
    return web.json_response({"pbx": pbx, "rooms": await _overview(request, session)})


PAST_CALLS = 10  # on the room page; the rest: iobridge calls list ROOM


@html_errors
async def room_page(request: web.Request) -> web.StreamResponse:
    session = await page_session(request)
    room = room_of_request(request, session)
    service = request.app[SERVICE]
    spec = await service.find_room(room)
    acting = service.holders.acting(session.principal, room)
    config = {
        "room": room,
        "title": spec.title,
        "user": session.principal.username,
        "role": acting.role_in(room),
        "actions": action_table(acting, room),
        "speaking_time_limit": spec.speaking_time_limit,
        "cues": await request.app[SERVICE].cues.names(),
        "practice_scenarios": service.practice.scenarios() if spec.practice else [],
    }
    context = {
        "spec": spec,
        "config": json.dumps(config),
        # Past calls and recordings: read once, when the page opens.
        "past_calls": await service.reports.list_calls(room=room, limit=PAST_CALLS),
        "recordings": await service.reports.recordings(lambda of: of == room),
        **await page_frame(request),
    }
    return aiohttp_jinja2.render_template("room.html", request, context)
