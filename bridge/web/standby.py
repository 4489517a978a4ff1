"""What a standby service answers while another service is active (``bridge.store.service_lock``):
``/healthz`` (alive, ``"role": "standby"``) and ``/readyz`` (503: it takes no calls). Nothing
else: the panel and the API are the active service's; a standby holds no roster and drives
no Asterisk."""

from __future__ import annotations

from aiohttp import web

from bridge.errors import NotLoggedIn
from bridge.settings import Settings
from bridge.web.keys import METRICS_TOKEN
from bridge.web.ops import check_metrics_token


def json_error(status: int, code: str, message: str) -> web.Response:
    """The API's one error shape (``bridge.web.errors``, which imports the whole panel)."""
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


STANDBY = {"role": "standby", "pbx": "standby"}


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"ok": True, **STANDBY})


async def readyz(request: web.Request) -> web.Response:
    try:
        check_metrics_token(request)
    except NotLoggedIn as exc:
        return json_error(NotLoggedIn.status, NotLoggedIn.code, str(exc))
    return web.json_response({"ready": False, **STANDBY}, status=503)


async def not_here(_request: web.Request) -> web.Response:
    message = "this is the standby service: the active one answers the panel and the API"
    return json_error(503, "standby", message)


def create_standby_app(settings: Settings) -> web.Application:
    app = web.Application()
    app[METRICS_TOKEN] = settings.ensure_metrics_token().get_secret_value()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_route("*", "/{anything:.*}", not_here)
    return app
