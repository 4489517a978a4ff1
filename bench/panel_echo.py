"""How long a moderator's action takes to show in every open panel. Prints figures; asserts
nothing.

    .venv/bin/python -m bench.panel_echo [--participants 400] [--panels 20] [--actions 200]
                                         [--action mute|call]

What is real and what is simulated:

* Real: the web app (aiohttp, the login, the session and CSRF checks, the action route,
  the audit trail written to SQLite), the service's roster, its hub, the panel's room feed
  (coalescing, one snapshot per burst, one mailbox per panel) and 20 websockets, each with
  its own logged-in moderator, that parse every message as JSON (as the page does):
  ``bench.panel``'s, the same panels the load run opens on the real stack.
* Simulated: Asterisk and the callers. The room's participants are fed into the roster as
  domain events (a resync of N participants), a background storm of talk-detection events
  keeps the room busy (``--talk-rate`` per second), and the AMI side of mute/unmute is
  replaced by "Asterisk confirms at once": the ``MuteChanged`` event that Asterisk's
  ``ConfbridgeMute`` would bring is fed to the roster on the next loop turn. So the figure
  is the bridge's own share of the echo; Asterisk's (a few ms on loopback) comes on top.
  The same figures on the real stack (Asterisk, SIPp callers, ``iobridge serve``) are the
  moderator actions of the load run's population step (``python -m bench.run``).

The service and the panels run in two processes (the machine's two cores), so the panels'
JSON parsing does not eat the server's time. One action at a time, 50-150 ms apart; for
each: the time from sending the POST until each panel holds a snapshot showing the new
state ("echo", 20 figures per action), and until the last of the 20 does ("all panels").
With ``--action call`` each action gives the floor to another participant (the speaker
stack's ``call``, carried out by the stack's own task, Asterisk's unmute simulated as
above) and the echo is the panel showing them as the speaker.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.panel import PASSWORD, Panels, shows_muted, shows_speaker

ROOM = "bench-room"


def moderators(count: int) -> list[str]:
    """The room's moderators, one per panel (all with bench.panel's PASSWORD)."""
    return [f"mod{i:02d}" for i in range(count)]


# ---- the server process ------------------------------------------------------------------


async def serve(args: argparse.Namespace) -> dict[str, Any]:
    from aiohttp import web
    from argon2 import PasswordHasher

    from bridge.domain.events import (
        MuteChanged,
        Resynced,
        Role,
        SeenParticipant,
        SeenRoom,
        TalkingChanged,
    )
    from bridge.domain.rooms import ModeratorSpec, RoomsConfig, RoomSpec
    from bridge.service import BridgeService
    from bridge.service.pbx_directory import LOCAL
    from bridge.settings import Settings
    from bridge.store.db import Database, upgrade
    from bridge.store.pin_key import install_pin_key
    from bridge.store.rooms import sync_rooms
    from bridge.web.app import create_app
    from tests.support import free_port

    state = Path(tempfile.mkdtemp(prefix="panel-echo-"))
    settings = Settings(state_dir=state, http_port=free_port(), login_failures_per_address=1000)
    await upgrade(settings.effective_database_url)
    db = Database(settings.effective_database_url)
    hashed = PasswordHasher().hash(PASSWORD)
    accounts = tuple(ModeratorSpec(name, hashed, (ROOM,)) for name in moderators(args.panels))
    config = RoomsConfig((RoomSpec(ROOM, "Benchmark assembly", pin="1234"),), accounts)
    async with db.sessions.begin() as session:
        await sync_rooms(session, config, pin_key=install_pin_key(settings))

    service = BridgeService(settings, db)
    loop = asyncio.get_running_loop()

    class AsteriskConfirmsAtOnce:
        """Stands in for ConferenceBridge: Asterisk's Mute/Unmute event, next loop turn."""

        async def mute(self, room: str, channel: str) -> None:
            loop.call_soon(service.roster.receive, MuteChanged(room, channel, True, time.time()))

        async def unmute(self, room: str, channel: str) -> None:
            loop.call_soon(service.roster.receive, MuteChanged(room, channel, False, time.time()))

        async def whisper(self, channel: str, prompt: str) -> None:
            """The speaker alone hears a prompt: nothing the panels see."""

    # Every room's node, for moderation and the stack's courier alike.
    service.pbx_directory.nodes[LOCAL] = AsteriskConfirmsAtOnce()  # type: ignore[assignment]
    history = loop.create_task(service.history.run())
    floor = loop.create_task(service.speakers.run())
    people = tuple(
        SeenParticipant(f"PJSIP/caller-{n:05d}", f"555{n:04d}", Role.PARTICIPANT, True, False)
        for n in range(args.participants)
    )
    service.roster.apply(Resynced((SeenRoom(ROOM, False, people),), time.time(), None))

    async def talk_storm() -> None:
        talking: set[str] = set()
        while args.talk_rate > 0:
            await asyncio.sleep(1 / args.talk_rate)
            channel = random.choice(people).channel
            on = channel not in talking
            (talking.add if on else talking.discard)(channel)
            service.roster.receive(TalkingChanged(ROOM, channel, on, time.time()))

    storm = loop.create_task(talk_storm())
    runner = web.AppRunner(create_app(settings, service), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", settings.http_port).start()
    try:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.panel_echo", "--drive",
            f"http://127.0.0.1:{settings.http_port}", "--participants", str(args.participants),
            "--panels", str(args.panels), "--actions", str(args.actions),
            "--action", args.action, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, _ = await child.communicate()
        return dict(json.loads(out))
    finally:
        storm.cancel()
        await runner.cleanup()
        floor.cancel()
        history.cancel()
        await db.dispose()
        shutil.rmtree(state, ignore_errors=True)  # the throwaway database, PIN key and logs


# ---- the panels' process -----------------------------------------------------------------


async def drive(args: argparse.Namespace) -> dict[str, Any]:
    echoes: list[float] = []
    everyone: list[float] = []
    answers: list[float] = []
    lost = 0
    async with Panels(args.drive, ROOM, moderators(args.panels)) as panels:
        channels = sorted(panels.first.muted)
        for n in range(args.actions):
            channel = channels[(n * 37) % len(channels)]
            if args.action == "call":  # give the floor to someone who does not have it
                echo = await panels.act("call", {"channel": channel}, shows_speaker(channel))
            else:
                wanted = not panels.first.muted[channel]
                action = "mute" if wanted else "unmute"
                echo = await panels.act(action, {"channel": channel}, shows_muted(channel, wanted))
            assert echo.ok, echo.answer
            answers.append(echo.answered)
            echoes += echo.seen
            lost += echo.lost
            if echo.everywhere is not None:
                everyone.append(echo.everywhere)
            await asyncio.sleep(random.uniform(0.05, 0.15))
        sizes = panels.message_sizes()
    return {
        "echo": echoes,
        "all_panels": everyone,
        "post_answered": answers,
        "lost": lost,
        "message_bytes": statistics.median(sizes),
        "largest_bytes": max(sizes),
        "messages_per_panel": len(sizes) / args.panels,
    }


# ---- figures -----------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def line(name: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"  {name:<22} p50 {percentile(ms, 50):7.1f} ms   p90 {percentile(ms, 90):7.1f} ms   "
        f"p99 {percentile(ms, 99):7.1f} ms   max {max(ms):7.1f} ms   (n={len(ms)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=400)
    parser.add_argument("--panels", type=int, default=20)
    parser.add_argument("--actions", type=int, default=200)
    parser.add_argument("--talk-rate", type=float, default=40.0, help="talk events per second")
    parser.add_argument(
        "--action",
        choices=("mute", "call"),
        default="mute",
        help="mute/unmute participants, or call on one after another (the speaker stack)",
    )
    parser.add_argument("--drive", help=argparse.SUPPRESS)  # the panels' process
    args = parser.parse_args()
    if args.drive:
        print(json.dumps(asyncio.run(drive(args))))
        return
    result = asyncio.run(serve(args))
    print(
        f"panel echo: {args.participants} participants, {args.panels} open panels, "
        f"{args.actions} {'call' if args.action == 'call' else 'mute/unmute'} actions, "
        f"{args.talk_rate:g} talk events/s in the room"
    )
    print(f"  ({platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} CPUs; Asterisk simulated, see the module's docstring)")  # fmt: skip
    print(line("POST answered", result["post_answered"]))
    print(line("echo, each panel", result["echo"]))
    print(line("echo, all 20 panels" if args.panels == 20 else "echo, all panels",
               result["all_panels"]))  # fmt: skip
    print(f"  messages: median {result['message_bytes'] / 1024:.1f} KiB, largest (the whole "
          f"room) {result['largest_bytes'] / 1024:.0f} KiB, "
          f"{result['messages_per_panel']:.0f} per panel in the run")  # fmt: skip
    if result["lost"]:
        print(f"  LOST: {result['lost']} echoes never reached their panel within 5 s")


if __name__ == "__main__":
    main()
