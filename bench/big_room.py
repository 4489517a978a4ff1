"""A room of hundreds for the room page's measures and screenshots, without hundreds of SIP
calls: the real service (roster, speaker stack, labels, audit trail, SQLite history) and the
real web app, with Asterisk and the callers simulated as ``bench.panel_echo`` does.

The callers come in as the AMI side would bring them: one resync of N participants
(``Resynced``), then talk and mute events (``TalkingChanged``, ``MuteChanged``) fed to the
roster. The stack is filled through the service's own commands (``add``, ``call``) and the
labels through the service's labels. Asterisk's side of a mute or unmute ("Asterisk confirms
at once") is the ``MuteChanged`` its ``ConfbridgeMute`` would bring, on the next loop turn.

    async with big_room(participants=300, hands=40) as room:
        ...  # room.base_url, room.username / room.password, room.service, room.channels
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOM = "general-assembly"
TITLE = "General call"
USERNAME = "facilitator"
PASSWORD = "big-room-panel-pw"  # a bench-only account of a throwaway database
# Labels the facilitators gave some callers (every seventh), as a real call would have them.
PLACES = (
    "Occupy Oakland", "Chicago", "Atlanta", "Portland", "Detroit", "Tucson", "Boston",
    "Baltimore", "Denver", "Austin", "Minneapolis", "Philadelphia",
)  # fmt: skip
NAMES = ("Alex", "Sam", "Jordan", "Rosa", "Kwame", "Mei", "Ines", "Dev", "Lupe", "Noor")


@dataclass
class BigRoom:
    base_url: str
    service: Any  # BridgeService
    channels: list[str]  # every caller's channel, in the order they joined
    username: str = USERNAME
    password: str = PASSWORD
    room: str = ROOM


def channel_of(n: int) -> str:
    """The nth caller's channel, named as Asterisk names an anonymous SIP caller's."""
    return f"PJSIP/anonymous-{0x1A0 + n:08x}"


def caller_id_of(n: int) -> str:
    """The nth caller's number: 5551000, 5551001, ..."""
    return f"555{1000 + n:04d}"


@contextlib.asynccontextmanager
async def big_room(participants: int = 300, hands: int = 40) -> AsyncIterator[BigRoom]:
    from aiohttp import web
    from argon2 import PasswordHasher

    from bridge.domain.events import MuteChanged, Resynced, Role, SeenParticipant, SeenRoom
    from bridge.domain.rooms import ModeratorSpec, RoomsConfig, RoomSpec
    from bridge.domain.speakers import Lane
    from bridge.service import BridgeService
    from bridge.service.pbx_directory import LOCAL
    from bridge.settings import Settings
    from bridge.store.db import Database, upgrade
    from bridge.store.pin_key import install_pin_key
    from bridge.store.rooms import sync_rooms
    from bridge.web.app import create_app
    from tests.support import free_port

    state = Path(tempfile.mkdtemp(prefix="big-room-"))
    settings = Settings(state_dir=state, http_port=free_port(), login_failures_per_address=1000)
    await upgrade(settings.effective_database_url)
    db = Database(settings.effective_database_url)
    account = ModeratorSpec(USERNAME, PasswordHasher().hash(PASSWORD), (ROOM,))
    spec = RoomSpec(ROOM, TITLE, pin="1234", speaking_time_limit=120)
    config = RoomsConfig((spec,), (account,))
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
            """A prompt to one caller alone: nothing the panel sees."""

    service.pbx_directory.nodes[LOCAL] = AsteriskConfirmsAtOnce()  # type: ignore[assignment]
    tasks = [loop.create_task(service.history.run()), loop.create_task(service.speakers.run())]
    channels = [channel_of(n) for n in range(participants)]
    moderator = channels[0]
    joined = time.time() - 40 * 60  # the call began 40 minutes ago, people came over 10
    people = tuple(
        SeenParticipant(
            channel,
            caller_id_of(n),
            Role.MODERATOR if channel == moderator else Role.PARTICIPANT,
            channel != moderator,
            False,
        )
        for n, channel in enumerate(channels)
    )
    service.roster.apply(Resynced((SeenRoom(ROOM, False, people),), joined, None))
    # The history writer opens the call in its next batch; the stack's events written
    # before it would find no call to go with.
    await asyncio.sleep(0.3)
    for n, channel in enumerate(channels):
        if n % 7 == 3:
            label = f"{NAMES[n % len(NAMES)]}, {PLACES[n % len(PLACES)]}"
            service.labels.give(ROOM, channel, label)
    await service.speakers.show(ROOM)  # the stack is loaded
    # Some have spoken already: a turn each (unmuted, talked, muted again).
    for channel in channels[1:25]:
        await speak(service, channel, seconds=20.0)
    lanes = [Lane.PROCESS] * 2 + [Lane.DIRECT] * 4
    waiting = channels[30 : 30 + hands]
    for n, channel in enumerate(waiting):
        await service.speakers.add(ROOM, channel, lanes[n] if n < len(lanes) else Lane.STACK)
    await service.speakers.call(ROOM, channels[5])
    runner = web.AppRunner(create_app(settings, service), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", settings.http_port).start()
    try:
        yield BigRoom(f"http://127.0.0.1:{settings.http_port}", service, channels)
    finally:
        await runner.cleanup()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await db.dispose()
        shutil.rmtree(state, ignore_errors=True)  # the throwaway database, PIN key and logs


async def speak(service: Any, channel: str, seconds: float) -> None:
    """One stretch of talk, as Asterisk reports it: unmuted, talking, silent, muted; it ends
    now (a mute stamped before the speaker's floor was given is not one of this turn)."""
    from bridge.domain.events import MuteChanged, TalkingChanged

    at = time.time() - seconds - 2
    for event in (
        MuteChanged(ROOM, channel, False, at),
        TalkingChanged(ROOM, channel, True, at + 1),
        TalkingChanged(ROOM, channel, False, at + 1 + seconds),
        MuteChanged(ROOM, channel, True, at + 2 + seconds),
    ):
        service.roster.receive(event)
    await asyncio.sleep(0)
