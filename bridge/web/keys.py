"""Typed keys for what the application holds."""

from __future__ import annotations

from aiohttp import web

from bridge.service import BridgeService

SERVICE = web.AppKey("service", BridgeService)
ADMIN_TOKEN = web.AppKey("admin_token", str)
# The admin's public_origin (``scheme://host[:port]``), when set: the panel's only Origin.
PUBLIC_ORIGIN = web.AppKey("public_origin", str)
METRICS_TOKEN = web.AppKey("metrics_token", str)
