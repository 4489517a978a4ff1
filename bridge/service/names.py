"""Callers' names, live: the recording each caller made at entry in a room that asks for it
(``ask_name``, ``announce_names``; ``bridge.asterisk.name_recording``), kept while they
are in the room, announced to the whole room only where ``announce_names`` says so, and
deleted when they leave; and the room key a caller pressed during the recording (``*9``),
run once they are in the room, its answer whispered to them alone.

Announcements go through the room's PBX's announcer one at a time per room (a name, then
"has joined"), so two callers who join together are heard one after the other. The names
waiting are a ``NameQueue`` (``bridge.domain.name_announcements``): a burst is folded into a
count ("joined the call: 12"), so a big room is not kept listening for minutes. A room's
announcing is a task of its own that only plays what waits: the join itself never waits for
it, nor for anyone's name.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from bridge.asterisk.keypad import PROMPTS, SILENCE
from bridge.domain.events import (
    CallHungUp,
    DomainEvent,
    ParticipantJoined,
    ParticipantLeft,
    RoomEnded,
)
from bridge.domain.name_announcements import NameCount, NameQueue, WaitingName
from bridge.domain.rooms import RoomSpec
from bridge.recordings import wav_duration
from bridge.service.keys import RoomKeys
from bridge.service.pbx_directory import PbxDirectory
from bridge.service.tasks import Tasks

log = logging.getLogger(__name__)

KEY_KEPT_FOR = 60.0  # seconds a key pressed during the recording waits for the join
AROUND_A_NAME = 2.0  # seconds of an announcement besides the name: the pause, "has joined"
A_COUNT = 2.5  # seconds of "joined the call: 12" (and as much for "left the call: 3")
SILENT = 0.2  # seconds: a name shorter than this (the caller said nothing) is counted


@dataclass(frozen=True)
class HeldKey:
    room: str
    caller_id: str
    key: str
    at: float


class CallerNames:
    def __init__(
        self,
        folder: Path,
        sounds: Path,
        keys: RoomKeys,
        pbxs: PbxDirectory,
        find_room: Callable[[str], Awaitable[RoomSpec | None]],
    ) -> None:
        self.folder = folder  # where Asterisk records the names (the recordings folder's names/)
        self.sounds = sounds
        self._keys = keys
        self._pbxs = pbxs
        self._find_room = find_room
        self._files: dict[tuple[str, str], Path] = {}  # (room, channel) -> its name's file
        self._held: dict[str, HeldKey] = {}  # channel -> the key pressed before the join
        self._waiting: dict[str, NameQueue] = {}  # room -> the names its announcer owes
        self._announcing: dict[str, asyncio.Task[None]] = {}  # room -> its announcer's task
        self._tasks = Tasks(log, "names.failed")

    # ---- from the entry dialogue ---------------------------------------------------------

    def name_recorded(self, room: str, channel: str, file: Path) -> None:
        self._files[(room, channel)] = file

    def key_before_join(self, room: str, channel: str, caller_id: str, key: str) -> None:
        now = time.monotonic()
        for stale in [c for c, held in self._held.items() if now - held.at > KEY_KEPT_FOR]:
            del self._held[stale]  # the caller hung up before joining
        self._held[channel] = HeldKey(room, caller_id, key, now)

    # ---- for moderators ------------------------------------------------------------------

    def file_of(self, room: str, channel: str) -> Path | None:
        """The name ``channel`` recorded on entering ``room``, while they are in it."""
        return self._files.get((room, channel))

    def recorded_in(self, room: str) -> frozenset[str]:
        """The channels in ``room`` with a recorded name."""
        return frozenset(channel for (where, channel) in self._files if where == room)

    # ---- the roster's events -------------------------------------------------------------

    def on_event(self, event: DomainEvent) -> None:
        match event:
            case ParticipantJoined(group=None):
                held = self._held.pop(event.channel, None)
                if held is not None and held.room == event.room:
                    self._tasks.start(self._run_held_key(event.channel, held))
                file = self._files.get((event.room, event.channel))
                if file is not None:
                    self._owe(event.room, WaitingName(event.channel, str(file), True, _now()))
            case ParticipantLeft():  # a move between conferences is a ParticipantMoved
                self._held.pop(event.channel, None)
                file = self._files.pop((event.room, event.channel), None)
                if file is not None and event.group is None:
                    self._owe(event.room, WaitingName(event.channel, str(file), False, _now()))
                elif file is not None:  # hung up in a breakout group: the room never hears it
                    file.unlink(missing_ok=True)
            case CallHungUp():  # in no room (``explain``): hung up before joining
                self._held.pop(event.channel, None)
                for key in [key for key in self._files if key[1] == event.channel]:
                    self._files.pop(key).unlink(missing_ok=True)
            case RoomEnded():
                waiting = self._waiting.pop(event.room, None)
                if waiting is not None:
                    _forget(waiting.clear())
                for key in [key for key in self._files if key[0] == event.room]:
                    self._files.pop(key).unlink(missing_ok=True)

    def waiting_in(self, room: str) -> int:
        """Names the room's announcer still owes it."""
        waiting = self._waiting.get(room)
        return 0 if waiting is None else len(waiting)

    def _owe(self, room: str, name: WaitingName) -> None:
        """Queue a name for the room's announcer, and start it if it is idle: returns at
        once, whatever the announcer is doing."""
        self._waiting.setdefault(room, NameQueue()).add(name)
        if room not in self._announcing:
            self._announcing[room] = self._tasks.start(self._announce(room))

    async def _run_held_key(self, channel: str, held: HeldKey) -> None:
        # Answered by a whisper, not in the caller's channel: no key dialogue is opened (a
        # key they press meanwhile has its own, which this must not close).
        answer = await self._keys.key_pressed(held.room, channel, held.caller_id, held.key)
        log.info("names.key_after_join room=%s key=%s heard=%s", held.room, held.key, answer.heard)
        if answer.heard != SILENCE:
            prompt = PROMPTS.get(answer.heard, PROMPTS["key_not_available"])
            await self._pbxs.bridge_for_channel(held.room, channel).whisper(
                channel, prompt, answer.place
            )

    async def _announce(self, room: str) -> None:
        """Play what the room is owed, one announcement at a time, until nothing waits;
        where the room does not announce names, only forget them."""
        try:
            while (waiting := self._waiting.get(room)) is not None and (
                next_one := waiting.next(_now())
            ) is not None:
                try:
                    spec = await self._find_room(room)
                    if spec is not None and spec.announce_names:
                        await self._play(room, spec.language, next_one)
                except Exception:  # one announcement lost (Asterisk, the room gone), not the rest
                    log.exception("names.announce_failed room=%s", room)
                finally:
                    done = (next_one,) if isinstance(next_one, WaitingName) else next_one.names
                    await asyncio.to_thread(_forget, done)
        finally:
            self._announcing.pop(room, None)  # no await since the queue was seen empty

    async def _play(self, room: str, language: str, what: WaitingName | NameCount) -> None:
        bridge = self._pbxs.bridge_for(room)
        if isinstance(what, WaitingName):
            seconds = await asyncio.to_thread(wav_duration, Path(what.file))
            if seconds >= SILENT:
                log.info(
                    "names.announced room=%s channel=%s joined=%s seconds=%.1f",
                    room, what.channel, what.joined, seconds,
                )  # fmt: skip
                await bridge.announce_name(
                    room, str(Path(what.file).with_suffix("")), what.joined, language
                )
                await asyncio.sleep(seconds + AROUND_A_NAME)
                return
            what = NameCount(int(what.joined), int(not what.joined), (what,))
        log.info("names.counted room=%s joined=%d left=%d", room, what.joined, what.left)
        await bridge.announce_count(room, what.joined, what.left, language)
        await asyncio.sleep(A_COUNT * ((what.joined > 0) + (what.left > 0)) + 0.5)

    def close(self) -> None:
        self._tasks.cancel()
        with contextlib.suppress(OSError):
            for file in self._files.values():
                file.unlink(missing_ok=True)


def _now() -> float:
    return time.monotonic()


def _forget(names: tuple[WaitingName, ...]) -> None:
    """A leaver's name is deleted once announced or counted (a joiner's stays while they
    are in the room: moderators play it)."""
    for name in names:
        if not name.joined:
            Path(name.file).unlink(missing_ok=True)
