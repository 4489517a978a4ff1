"""Is the bridge ready to take calls? Its database answers and it is logged in to
Asterisk's AMI (and has read the rooms back). ``/readyz`` answers 503 otherwise."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bridge.store.db import Database

DATABASE_TIMEOUT = 2.0  # seconds: a readiness probe must answer quickly itself


@dataclass(frozen=True)
class Readiness:
    database: str  # "ok", or why not
    pbx: str  # "connected" or "disconnected"

    @property
    def ready(self) -> bool:
        return self.database == "ok" and self.pbx == "connected"

    def as_dict(self) -> dict[str, object]:
        return {"ready": self.ready, "database": self.database, "pbx": self.pbx}


async def check(db: Database, pbx_connected: bool) -> Readiness:
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT):
            await db.ping()
        database = "ok"
    except TimeoutError:
        database = f"no answer within {DATABASE_TIMEOUT:g} s"
    except Exception as exc:  # any driver's failure: say which, never a traceback
        database = f"unreachable: {type(exc).__name__}"
    return Readiness(database, "connected" if pbx_connected else "disconnected")
