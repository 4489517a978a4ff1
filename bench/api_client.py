"""The API bench's client: a script with a moderator's token, alone in its own process.

``bench.api_bench`` drives it over stdin/stdout, one JSON line each way per request, so the
time it measures is a script's: its event loop does nothing but the request. (In the bench's
own process the same client shared its loop with the AMI watcher reading every event of 400
callers, and every answer waited for that loop to come round.) The token comes in the
environment (``IOBRIDGE_BENCH_TOKEN``), never on the command line.

    {"get": "/api/v1/me"}                             -> {"status": 200, "ms": 1.2}
    {"post": "/api/v1/...", "json": {"channel": ...}} -> {"status": 200, "ms": 3.4,
                                                          "sent_at": <epoch s>, "body": "..."}
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

import aiohttp

TOKEN_VARIABLE = "IOBRIDGE_BENCH_TOKEN"


async def serve(base: str, token: str) -> None:
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(base, headers=headers) as http:
        while line := await stdin.readline():
            asked = json.loads(line)
            answer = await (_post(http, asked) if "post" in asked else _get(http, asked["get"]))
            sys.stdout.write(json.dumps(answer) + "\n")
            sys.stdout.flush()


async def _get(http: aiohttp.ClientSession, path: str) -> dict[str, Any]:
    started = time.perf_counter()
    async with http.get(path) as response:
        await response.read()
    return {"status": response.status, "ms": 1000 * (time.perf_counter() - started)}


async def _post(http: aiohttp.ClientSession, asked: dict[str, Any]) -> dict[str, Any]:
    sent_at, started = time.time(), time.perf_counter()
    async with http.post(asked["post"], json=asked["json"]) as response:
        body = await response.text()
    ms = 1000 * (time.perf_counter() - started)
    return {"status": response.status, "ms": ms, "sent_at": sent_at, "body": body[:200]}


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], os.environ[TOKEN_VARIABLE]))
