"""The HTTP side: the application factory and its one error middleware.
The JSON API (``/api/v1``) is in ``bridge.web.api``, the moderators' panel (``/`` is its
door) in ``bridge.web.panel``, post-call report pages in ``bridge.web.reports``, health,
readiness and metrics in ``bridge.web.ops``; the push feed's webhooks are sent by
``bridge.web.webhooks``; every failure is answered by ``bridge.web.errors``."""

from __future__ import annotations

from aiohttp import web

from bridge.service import BridgeService
from bridge.settings import Settings
from bridge.web import api, ops, reports, webhooks
from bridge.web.errors import answer_errors
from bridge.web.keys import ADMIN_TOKEN, SERVICE
from bridge.web.panel import setup_panel


def create_app(settings: Settings, service: BridgeService) -> web.Application:
    app = web.Application(middlewares=[answer_errors])
    app[SERVICE] = service
    app[ADMIN_TOKEN] = settings.ensure_admin_token().get_secret_value()
    ops.add_routes(app.router)
    api.add_routes(app.router)
    reports.add_routes(app.router)
    setup_panel(app)
    app.cleanup_ctx.append(webhooks.deliver)
    return app
