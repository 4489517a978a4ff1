"""The moderators' panel: log in, the rooms overview, a room's live page.

| what | module |
| --- | --- |
| the session cookie, CSRF and Origin checks, room rights | ``bridge.web.auth`` |
| pages: login, logout, rooms, a room | ``bridge.web.panel.pages`` |
| Open a room: its PINs shown once | ``bridge.web.panel.rooms_on_demand`` |
| alerts and each number's result (read only) | ``bridge.web.panel.alerts`` |
| the one action route (the shared table, audited) | ``bridge.web.panel.actions`` |
| the room page's websocket and its coalesced snapshots | ``bridge.web.panel.live`` |
| a caller's recorded name, played to the room's moderators | ``bridge.web.panel.names`` |
| the snapshot itself; where the speaker stack plugs in | ``bridge.web.panel.state`` |
| templates, the ES module and the stylesheet | ``bridge/web/templates``, ``bridge/web/static`` |
"""

from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bridge.web.panel import actions, alerts, live, names, pages, rooms_on_demand

STATIC = Path(__file__).resolve().parent.parent / "static"

# Our own pages, scripts and styles only: no inline script, no third party, no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if response.content_type == "text/html":
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("Cache-Control", "no-store")  # pages carry names and tokens


async def _close_feeds(app: web.Application) -> None:
    await app[live.FEEDS].close()


def setup_panel(app: web.Application) -> None:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("bridge.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    static = app.router.add_static("/static/", STATIC, name="static", append_version=True)
    env.globals["static"] = lambda filename: str(static.url_for(filename=filename))
    app[live.FEEDS] = live.LiveFeeds()
    app.on_shutdown.append(_close_feeds)
    app.on_response_prepare.append(_security_headers)

    router = app.router
    router.add_get("/", pages.index)
    router.add_get("/login", pages.login_page)
    router.add_post("/login", pages.login_submit)
    router.add_post("/logout", pages.logout)
    router.add_get("/rooms", pages.rooms_page)
    router.add_get("/rooms.json", pages.rooms_json)
    router.add_post("/rooms/open", rooms_on_demand.open_room)
    router.add_get("/rooms/{room}", pages.room_page)
    router.add_get("/rooms/{room}/live", live.live)
    router.add_get("/rooms/{room}/name", names.recorded_name)
    router.add_post("/rooms/{room}/actions/{action}", actions.run_action)
    router.add_get("/alerts", alerts.alerts_page)
    router.add_get("/alerts/{alert_id}", alerts.alert_page)
