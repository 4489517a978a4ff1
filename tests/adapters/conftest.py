"""The web application on a real socket, with a real service and database (rooms and
moderators from tests/data/rooms-e2e.yaml), but no Asterisk: the service is built, not
started, so everything that needs the PBX answers as it does while Asterisk is away."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bridge.provision import provision_rooms
from bridge.service import BridgeService
from bridge.settings import Settings
from bridge.store.db import Database, upgrade
from bridge.web.app import create_app
from tests.conftest import E2E_ROOMS


@dataclass
class Web:
    client: TestClient[Any, Any]
    service: BridgeService
    settings: Settings

    async def token(self, username: str) -> str:
        return (await self.service.tokens.create(username)).token

    @property
    def admin_token(self) -> str:
        return self.settings.ensure_admin_token().get_secret_value()


async def _boom(request: web.Request) -> web.Response:
    raise RuntimeError("a bug, with a detail no client should see: /etc/secret")


@pytest.fixture
async def web_app(tmp_path: Path) -> AsyncIterator[Web]:
    settings = Settings(state_dir=tmp_path / "state", rooms_file=E2E_ROOMS)
    await upgrade(settings.effective_database_url)
    db = Database(settings.effective_database_url)
    await provision_rooms(db, settings, lambda _: None)
    service = BridgeService(settings, db)
    app = create_app(settings, service)
    # An unexpected failure, to see how it is answered (no real handler fails on purpose).
    app.router.add_get("/api/v1/test-only/boom", _boom)
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        yield Web(client, service, settings)
    finally:
        await client.close()
        await service.audit.flushed()  # rows still being written after the last answer
        await db.dispose()
