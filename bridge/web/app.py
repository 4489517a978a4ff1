"""The HTTP side: the application factory and its middlewares (errors, authentication).
The JSON API is in ``bridge.web.api``, the moderators' panel (``/`` is its door) in
``bridge.web.panel``, post-call reports in ``bridge.web.reports``, health, readiness and
metrics in ``bridge.web.ops``."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bridge.errors import BridgeError
from bridge.service import BridgeService
from bridge.settings import Settings
from bridge.web import api, ops, reports
from bridge.web.keys import ADMIN_TOKEN, SERVICE
from bridge.web.panel import setup_panel

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PROTECTED_PREFIX = "/api/"


def error_response(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": message, "code": code}, status=status)


@web.middleware
async def errors_as_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Named failures become answers with their own status and message; never a traceback."""
    try:
        return await handler(request)
    except BridgeError as exc:
        return error_response(exc.status, exc.code, str(exc))


@web.middleware
async def admin_token_required(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every API route needs the admin token (a bearer header); the public pages do not."""
    if request.path.startswith(PROTECTED_PREFIX):
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ").strip().encode("utf-8", "surrogateescape")
        if not token or not hmac.compare_digest(token, request.app[ADMIN_TOKEN].encode()):
            response = error_response(401, "unauthorized", "admin token required")
            response.headers["WWW-Authenticate"] = 'Bearer realm="io-bridge"'
            return response
    return await handler(request)


def create_app(settings: Settings, service: BridgeService) -> web.Application:
    app = web.Application(middlewares=[errors_as_json, admin_token_required])
    app[SERVICE] = service
    app[ADMIN_TOKEN] = settings.ensure_admin_token().get_secret_value()
    ops.add_routes(app.router)
    api.add_routes(app.router)
    reports.add_routes(app.router)
    setup_panel(app)
    return app
