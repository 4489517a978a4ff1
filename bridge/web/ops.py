"""For operators: ``/healthz`` (the process answers), ``/readyz`` (database and Asterisk
reachable, 503 otherwise) and ``/metrics`` (Prometheus). No login: a probe or a scraper
has none, and none of them says anything about a caller or a room."""

from __future__ import annotations

from aiohttp import web

from bridge.service.metrics import CONTENT_TYPE
from bridge.web import render
from bridge.web.keys import SERVICE


async def healthz(request: web.Request) -> web.Response:
    """The process answers; says whether the PBX is reachable, but never fails on it."""
    switchboard = request.app[SERVICE].switchboard
    return web.json_response({"ok": True, "pbx": render.pbx_state(switchboard)})


async def readyz(request: web.Request) -> web.Response:
    """Ready to take calls: the database answers and the AMI link is up (else 503)."""
    readiness = await request.app[SERVICE].readiness()
    return web.json_response(readiness.as_dict(), status=200 if readiness.ready else 503)


async def metrics(request: web.Request) -> web.Response:
    body = request.app[SERVICE].metrics.render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/healthz", healthz)
    router.add_get("/readyz", readyz)
    router.add_get("/metrics", metrics)
