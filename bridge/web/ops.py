"""For operators: ``/healthz`` (the process answers), ``/readyz`` (database and Asterisk
reachable, 503 otherwise) and ``/metrics`` (Prometheus). No moderator's login: ``/healthz``
is open (it says only "ok" and whether Asterisk is reachable); ``/readyz`` and ``/metrics``
ask for the metrics token (``Authorization: Bearer``; Prometheus reads it from a file with
``authorization: credentials_file``), since room names and how busy the bridge is are no
stranger's business."""

from __future__ import annotations

import hmac

from aiohttp import web

from bridge.errors import NotLoggedIn
from bridge.service.metrics import CONTENT_TYPE
from bridge.web import render
from bridge.web.keys import METRICS_TOKEN, SERVICE


async def healthz(request: web.Request) -> web.Response:
    """The process answers; says whether the PBX is reachable, but never fails on it."""
    switchboard = request.app[SERVICE].switchboard
    # A service that answers here is the active one: a standby answers from bridge.web.standby.
    return web.json_response({"ok": True, "pbx": render.pbx_state(switchboard), "role": "active"})


def check_metrics_token(request: web.Request) -> None:
    """401 unless the request carries the metrics token (compared in constant time)."""
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise NotLoggedIn(
            "send the metrics token: Authorization: Bearer TOKEN "
            "(metrics-token in the state folder, or IOBRIDGE_METRICS_TOKEN)"
        )
    expected = request.app[METRICS_TOKEN].encode()
    if not hmac.compare_digest(presented.strip().encode("utf-8", "surrogateescape"), expected):
        raise NotLoggedIn("that is not this bridge's metrics token")


async def readyz(request: web.Request) -> web.Response:
    """Ready to take calls: the database answers and the AMI link is up (else 503)."""
    check_metrics_token(request)
    readiness = await request.app[SERVICE].readiness()
    answer = {**readiness.as_dict(), "role": "active"}
    return web.json_response(answer, status=200 if readiness.ready else 503)


async def metrics(request: web.Request) -> web.Response:
    check_metrics_token(request)
    body = request.app[SERVICE].metrics.render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/healthz", healthz)
    router.add_get("/readyz", readyz)
    router.add_get("/metrics", metrics)
