"""The JSON API from outside: a script with a moderator's token muting and unmuting
participants of a room of P (400), one POST at a time, each timed until its HTTP answer and
until Asterisk's own ConfbridgeMute/Unmute event of it (by Asterisk's clock, from just
before the POST). This is what a script sees; the panel's path is the population step's.

Two floors stand beside it, so the service's own share can be read off: the same mute sent
straight from the bench's AMI login (Asterisk's round trip, no service), and, between the
POSTs, ``GET /api/v1/me`` with the same token on the same connection (the HTTP round trip
through the service's middlewares and the token's check, no action and no Asterisk).

The token is made as an admin makes one (``iobridge tokens create --user NAME``, against
the bench's state folder) for the first moderator of the room in the bench's rooms file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench.analysis import stamp
from bench.rig import Progress, Rig, Sampler
from bench.stats import Summary
from bench.storm import Room, drain, fill

MODERATOR = "bench-mod-01"


@dataclass(frozen=True)
class AsteriskFloor:
    events: list[float]  # ms from sending until Asterisk's event (by Asterisk's clock)
    replies: list[float]  # ms from sending until its Response was read


async def make_token(rig: Rig, username: str = MODERATOR) -> str:
    """A token for ``username``, made by the CLI as an admin makes one."""
    env = {**os.environ, "IOBRIDGE_STATE_DIR": str(rig.settings.state_dir)}
    env["IOBRIDGE_ROOMS_FILE"] = str(rig.settings.rooms_file)
    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "iobridge"), "tokens", "create", "--user", username,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    for word in out.decode().split():
        if word.startswith("iob_"):
            return word
    raise RuntimeError(f"tokens create gave no token: {out.decode()} {err.decode()}")


async def api_actions(
    rig: Rig, room: Room, posts: int, token: str, progress: Progress, spy: Path | None = None
) -> dict[str, Any]:
    """``posts`` mute/unmute POSTs through the API, one at a time, 50-150 ms apart."""
    ami = rig.ami
    assert ami is not None
    channels = sorted(p["channel"] for p in await rig.participants(room.name))
    if not channels:
        raise RuntimeError(f"nobody in {room.name} to mute")
    muted: dict[str, bool] = {}
    answered: list[float] = []
    http_floor: list[float] = []
    asterisk: list[float] = []
    failed: list[str] = []
    lost = 0
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{rig.web_url}/api/v1/rooms/{room.name}/actions/"
    progress(f"api: {posts} mute/unmute POSTs with a token, one at a time")
    async with aiohttp.ClientSession(headers=headers) as http, py_spy(rig, spy):
        with Sampler(rig.pids) as sampler:
            for k in range(posts):
                pause = 0.05 + (k * 37 % 100) / 1000
                await asyncio.sleep(pause / 2)
                http_floor.append(await _timed_get(http, f"{rig.web_url}/api/v1/me"))
                await asyncio.sleep(pause / 2)
                channel = channels[(k * 37) % len(channels)]
                mute = not muted.get(channel, False)
                action, event = (
                    ("mute", "ConfbridgeMute") if mute else ("unmute", "ConfbridgeUnmute")
                )
                mark = ami.mark()
                sent_at, sent = time.time(), time.perf_counter()
                async with http.post(url + action, json={"channel": channel}) as response:
                    body = await response.text()
                answered.append(1000 * (time.perf_counter() - sent))
                if response.status != 200:
                    if len(failed) < 3:
                        failed.append(f"{action}: {response.status} {body[:200]}")
                    continue
                muted[channel] = mute

                def done(e: dict[str, Any], name: str = event, ch: str = channel) -> bool:
                    return e.get("Event") == name and e.get("Channel") == ch

                try:
                    seen = await ami.wait_for(done, since=mark, timeout=5)
                    asterisk.append(1000 * (stamp(seen) - sent_at))
                except TimeoutError:
                    lost += 1
        direct = await asterisk_floor(rig, room, channels, muted, posts // 2)
    return {
        "posts": posts,
        "asterisk_direct_ms": Summary.of(direct.events).as_dict(),
        "asterisk_reply_ms": Summary.of(direct.replies).as_dict(),
        "http_floor_ms": Summary.of(http_floor).as_dict(),
        "participants": len(channels),
        "answered_ms": Summary.of(answered).as_dict(),
        "asterisk_event_ms": Summary.of(asterisk).as_dict(),
        "failed": len(answered) - len(asterisk) - lost,
        "refusals": failed,
        "lost_in_asterisk": lost,
        "processes": sampler.figures(),
    }


async def _timed_get(http: aiohttp.ClientSession, url: str) -> float:
    """ms until the answer of a GET that asks the service for nothing but the token's check."""
    started = time.perf_counter()
    async with http.get(url) as response:
        await response.read()
    if response.status != 200:
        raise RuntimeError(f"GET {url}: {response.status}")
    return 1000 * (time.perf_counter() - started)


@contextlib.asynccontextmanager
async def py_spy(rig: Rig, out: Path | None) -> AsyncIterator[None]:
    """With ``out``: py-spy records the service meanwhile (raw, for flamegraph.pl or
    speedscope), stopped by SIGINT at the end."""
    if out is None or rig.service is None:
        yield
        return
    spy = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "py-spy"), "record", "-p", str(rig.service.pid),
        "-r", "250", "-f", "raw", "-o", str(out), stdout=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        await spy.wait()


async def asterisk_floor(
    rig: Rig, room: Room, channels: list[str], muted: dict[str, bool], count: int
) -> AsteriskFloor:
    """The floor: the same mute/unmute sent to Asterisk straight from the bench's own AMI
    login (no service), timed the same way, until Asterisk's event (``events``) and until
    its Response is read back (``replies``: the round trip an answer that reports
    Asterisk's refusal must wait for)."""
    ami = rig.ami
    assert ami is not None
    out: list[float] = []
    replies: list[float] = []
    for k in range(count):
        await asyncio.sleep(0.05 + (k * 37 % 100) / 1000)
        channel = channels[(k * 53) % len(channels)]
        mute = not muted.get(channel, False)
        name = "ConfbridgeMute" if mute else "ConfbridgeUnmute"
        mark, sent_at, started = ami.mark(), time.time(), time.perf_counter()
        await ami.client.send(
            {"Action": name, "Conference": room.name, "Channel": channel}, timeout=5
        )
        replies.append(1000 * (time.perf_counter() - started))
        muted[channel] = mute

        def done(e: dict[str, Any], name: str = name, ch: str = channel) -> bool:
            return e.get("Event") == name and e.get("Channel") == ch

        with contextlib.suppress(TimeoutError):
            seen = await ami.wait_for(done, since=mark, timeout=5)
            out.append(1000 * (stamp(seen) - sent_at))
    return AsteriskFloor(events=out, replies=replies)


async def api_step(
    rig: Rig,
    room: Room,
    size: int,
    rate: float,
    posts: int,
    progress: Progress,
    spy: Path | None = None,
) -> dict[str, Any]:
    """Fill a room of ``size``, run the API's POSTs against it, empty it."""
    token = await make_token(rig)
    stay = size / rate + posts * 0.5 + 60
    load, ids, _ = await fill(rig, room, size, rate, progress, stay=stay, label=f"api {size}:")
    try:
        return {"size": size, **await api_actions(rig, room, posts, token, progress, spy)}
    finally:
        await load.hangup_all(rate=100)
        await load.wait(timeout=size / 100 + 60)
        await drain(rig, ids, timeout=90)
