"""The API bench's client: a script with a moderator's token, alone in its own process.

``bench.api_bench`` drives it over stdin/stdout, one JSON line each way per request, so the
time it measures is a script's: its event loop does nothing but the request. (In the bench's
own process the same client shared its loop with the AMI watcher reading every event of 400
callers, and every answer waited for that loop to come round.) The token comes in the
environment (``IOBRIDGE_BENCH_TOKEN``), never on the command line; so does the bench's AMI
login (``IOBRIDGE_BENCH_AMI``: ``PORT USER SECRET``), for the floor: the same action sent
straight to Asterisk, on a login that asks for no events, timed until its Response.

    {"get": "/api/v1/me"}                             -> {"status": 200, "ms": 1.2}
    {"post": "/api/v1/...", "json": {"channel": ...}} -> {"status": 200, "ms": 3.4,
                                                          "sent_at": <epoch s>, "body": "..."}
    {"ami": {"Action": "ConfbridgeMute", ...}}        -> {"ms": 1.1, "sent_at": <epoch s>}
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from pydantic import SecretStr

from bridge.asterisk.ami import AmiClient
from bridge.errors import BridgeError

TOKEN_VARIABLE = "IOBRIDGE_BENCH_TOKEN"
AMI_VARIABLE = "IOBRIDGE_BENCH_AMI"


async def serve(base: str, token: str, ami_login: str) -> None:
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(base, headers=headers) as http, _ami(ami_login) as ami:
        while line := await stdin.readline():
            asked = json.loads(line)
            if "ami" in asked:
                answer = await _action(ami, asked["ami"])
            else:
                answer = await (_post(http, asked) if "post" in asked else _get(http, asked["get"]))
            sys.stdout.write(json.dumps(answer) + "\n")
            sys.stdout.flush()


@contextlib.asynccontextmanager
async def _ami(login: str) -> AsyncIterator[AmiClient]:
    port, user, secret = login.split()

    async def nothing(up: bool) -> None:
        return None

    ami = AmiClient("127.0.0.1", int(port), user, SecretStr(secret), lambda _: None, nothing)
    running = asyncio.get_running_loop().create_task(ami.run())
    try:
        await asyncio.wait_for(ami.connected.wait(), 15)
        await ami.send({"Action": "Events", "EventMask": "off"})  # answers only
        yield ami
    finally:
        running.cancel()
        await ami.close()


async def _action(ami: AmiClient, action: dict[str, str]) -> dict[str, Any]:
    sent_at, started = time.time(), time.perf_counter()
    try:
        await ami.send(action, timeout=5)
    except BridgeError as exc:  # refused (the participant gone): timed all the same
        return {"ms": 1000 * (time.perf_counter() - started), "sent_at": sent_at, "error": str(exc)}
    return {"ms": 1000 * (time.perf_counter() - started), "sent_at": sent_at}


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
    asyncio.run(serve(sys.argv[1], os.environ[TOKEN_VARIABLE], os.environ[AMI_VARIABLE]))
