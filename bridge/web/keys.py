"""Typed keys for what the application holds."""

from __future__ import annotations

from aiohttp import web

from bridge.service import BridgeService

SERVICE = web.AppKey("service", BridgeService)
ADMIN_TOKEN = web.AppKey("admin_token", str)
METRICS_TOKEN = web.AppKey("metrics_token", str)
