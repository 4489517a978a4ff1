"""The HTTP side: the application factory and its one error middleware.
The JSON API (``/api/v1``) is in ``bridge.web.api``, the moderators' panel (``/`` is its
door) in ``bridge.web.panel``, post-call report pages in ``bridge.web.reports``, health,
readiness and metrics in ``bridge.web.ops``; the push feed's webhooks are sent by
``bridge.web.webhooks``; every failure is answered by ``bridge.web.errors``."""

from __future__ import annotations

from aiohttp import web

from bridge.service import BridgeService
from bridge.settings import Settings
from bridge.web import api, calls, ops, reports, webhooks
from bridge.web.bodies import BODY_SECONDS
from bridge.web.errors import answer_errors
from bridge.web.keys import ADMIN_TOKEN, METRICS_TOKEN, PUBLIC_ORIGIN, SERVICE
from bridge.web.panel import setup_panel
from bridge.web.proxies import trust_proxies


def create_app(settings: Settings, service: BridgeService) -> web.Application:
    # The proxy's word first (bridge.web.proxies), so every answer sees the real client.
    app = web.Application(
        middlewares=[trust_proxies(settings.trusted_proxy_networks), answer_errors]
    )
    app[SERVICE] = service
    app[ADMIN_TOKEN] = settings.ensure_admin_token().get_secret_value()
    app[BODY_SECONDS] = settings.http_body_seconds
    if settings.public_origin is not None:
        app[PUBLIC_ORIGIN] = settings.public_origin
    app[METRICS_TOKEN] = settings.ensure_metrics_token().get_secret_value()
    ops.add_routes(app.router)
    api.add_routes(app.router)
    reports.add_routes(app.router)
    calls.add_routes(app.router)
    setup_panel(app)
    app.cleanup_ctx.append(webhooks.deliver)
    return app
