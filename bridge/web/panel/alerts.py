"""The alerts' pages behind the login: the latest alerts this moderator may see (those of
the rooms they host), and one alert with what became of each number. Read only: alerts are
sent by ``iobridge alert`` or ``POST /api/v1/alerts``."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import aiohttp_jinja2
from aiohttp import web

from bridge.errors import NoSuchAlert
from bridge.web.api.alerts import answer
from bridge.web.auth import page_session
from bridge.web.keys import SERVICE
from bridge.web.panel.pages import html_errors, page_frame

_ID = re.compile(r"alert-[0-9a-f]{12}")


def _at(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@html_errors
async def alerts_page(request: web.Request) -> web.StreamResponse:
    session = await page_session(request)
    found = await request.app[SERVICE].alerts.listed(session.principal)
    alerts = [answer(alert, calls) for alert, calls in found]
    context = {"alerts": alerts, "at": _at, **await page_frame(request)}
    return aiohttp_jinja2.render_template("alerts.html", request, context)


@html_errors
async def alert_page(request: web.Request) -> web.StreamResponse:
    session = await page_session(request)
    alert_id = request.match_info["alert_id"]
    if not _ID.fullmatch(alert_id):
        raise NoSuchAlert(alert_id[:40])
    shown = answer(*await request.app[SERVICE].alerts.show(session.principal, alert_id))
    context = {"alert": shown, "at": _at, **await page_frame(request)}
    return aiohttp_jinja2.render_template("alert.html", request, context)
