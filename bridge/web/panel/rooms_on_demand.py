"""The panel's "Open a room": a host opens a room on demand and is shown its PINs, once.

The form sits on the rooms overview (for hosts only); the rules and the refusals (403 for
anyone but a host, 400 for a title or length that cannot be) are the service's
(``bridge.service.rooms_on_demand``), answered as pages.
"""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from bridge.domain.on_demand import DEFAULT_HOURS
from bridge.errors import BadField
from bridge.web.auth import CSRF_FIELD, state_changing_session
from bridge.web.bodies import read_form
from bridge.web.keys import SERVICE
from bridge.web.panel.pages import html_errors, page_frame


@html_errors
async def open_room(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    session = await state_changing_session(request, form.get(CSRF_FIELD, ""))
    try:
        hours = float(form.get("hours") or DEFAULT_HOURS)
    except ValueError:
        raise BadField(f"hours: a number of hours, not {form.get('hours', '')[:20]!r}") from None
    opened = await request.app[SERVICE].on_demand.open(
        session.principal,
        form.get("title", "")[:1000],
        hours=hours,
        copy_settings_from=form.get("copy_settings_from") or None,
    )
    context = {"opened": opened, **await page_frame(request)}
    return aiohttp_jinja2.render_template("room_opened.html", request, context, status=201)
