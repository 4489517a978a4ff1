"""The JSON API from outside: a script with a moderator's token muting and unmuting
participants of a room of P (400), one POST at a time, each timed until its HTTP answer and
until Asterisk's own ConfbridgeMute/Unmute event of it (by Asterisk's clock, from just
before the POST). This is what a script sees; the panel's path is the population step's.

The requests are a script's: ``bench.api_client``, a process of its own with nothing else
on its loop (this process reads every AMI event of the room, and a client here would wait
for that loop). Two floors stand beside them, so the service's own share can be read off:
the same mute sent straight from the bench's AMI login (Asterisk's round trip, no service),
and, between the POSTs, ``GET /api/v1/me`` with the same token on the same connection (the
HTTP round trip through the service's middlewares and the token's check, no action and no
Asterisk).

The token is made as an admin makes one (``iobridge tokens create --user NAME``, against
the bench's state folder) for the first moderator of the room in the bench's rooms file.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.analysis import stamp
from bench.api_client import AMI_VARIABLE, TOKEN_VARIABLE
from bench.rig import Progress, Rig, Sampler
from bench.stats import Summary
from bench.storm import Room, drain, fill

MODERATOR = "bench-mod-01"
CHECKOUT = Path(__file__).resolve().parent.parent  # where ``bench`` is a package


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
    path = f"/api/v1/rooms/{room.name}/actions/"
    progress(f"api: {posts} mute/unmute POSTs with a token, one at a time")
    async with ScriptClient(rig.web_url, token, rig.ami_login) as http, py_spy(rig, spy):
        with Sampler(rig.pids) as sampler:
            for k in range(posts):
                pause = 0.05 + (k * 37 % 100) / 1000
                await asyncio.sleep(pause / 2)
                me = await http.ask({"get": "/api/v1/me"})
                if me["status"] != 200:
                    raise RuntimeError(f"GET /api/v1/me: {me['status']}")
                http_floor.append(me["ms"])
                await asyncio.sleep(pause / 2)
                channel = channels[(k * 37) % len(channels)]
                mute = not muted.get(channel, False)
                action, event = (
                    ("mute", "ConfbridgeMute") if mute else ("unmute", "ConfbridgeUnmute")
                )
                mark = ami.mark()
                posted = await http.ask({"post": path + action, "json": {"channel": channel}})
                answered.append(posted["ms"])
                sent_at = posted["sent_at"]
                if posted["status"] != 200:
                    if len(failed) < 3:
                        failed.append(f"{action}: {posted['status']} {posted['body']}")
                    continue
                muted[channel] = mute

                def done(e: dict[str, Any], name: str = event, ch: str = channel) -> bool:
                    return e.get("Event") == name and e.get("Channel") == ch

                try:
                    seen = await ami.wait_for(done, since=mark, timeout=5)
                    asterisk.append(1000 * (stamp(seen) - sent_at))
                except TimeoutError:
                    lost += 1
        direct = await asterisk_floor(rig, http, room, channels, muted, posts // 2)
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


class ScriptClient:
    """``bench.api_client`` in a process of its own: ``ask`` hands it one request and reads
    back what it measured."""

    def __init__(self, base: str, token: str, ami_login: str) -> None:
        self._base, self._token, self._ami_login = base, token, ami_login
        self._proc: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> ScriptClient:
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.api_client", self._base,
            cwd=CHECKOUT,
            env={**os.environ, TOKEN_VARIABLE: self._token, AMI_VARIABLE: self._ami_login},
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        return self

    async def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        proc = self._proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps(request).encode() + b"\n")
        await proc.stdin.drain()
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        if not line:
            raise RuntimeError(f"the API client stopped (exit {await proc.wait()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    async def __aexit__(self, *exc: object) -> None:
        proc = self._proc
        if proc is not None and proc.stdin is not None:
            proc.stdin.close()
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except TimeoutError:
                proc.kill()
                await proc.wait()


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
    rig: Rig,
    client: ScriptClient,
    room: Room,
    channels: list[str],
    muted: dict[str, bool],
    count: int,
) -> AsteriskFloor:
    """The floor: the same mute/unmute sent to Asterisk straight from the script's process
    on the bench's AMI login (no service, no events), timed the same way, until Asterisk's
    event (``events``) and until its Response is read back (``replies``: the round trip an
    answer that reports Asterisk's refusal must wait for)."""
    ami = rig.ami
    assert ami is not None
    out: list[float] = []
    replies: list[float] = []
    for k in range(count):
        await asyncio.sleep(0.05 + (k * 37 % 100) / 1000)
        channel = channels[(k * 53) % len(channels)]
        mute = not muted.get(channel, False)
        name = "ConfbridgeMute" if mute else "ConfbridgeUnmute"
        mark = ami.mark()
        sent = await client.ask(
            {"ami": {"Action": name, "Conference": room.name, "Channel": channel}}
        )
        if "error" in sent:  # refused (the caller gone): no event will come
            continue
        replies.append(sent["ms"])
        sent_at = sent["sent_at"]
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
