"""Rooms do not wait for each other: the speaker stack carries out each room's effects on
that room's own line, in order, so an Asterisk action that hangs in one room delays no
other room's key answer.

The speaker floor, its courier, the roster and the database (a SQLite file) are the real
ones. The Asterisk node is not: a real Asterisk cannot be made slow on demand, and this
test needs one room's unmute to hang for as long as it likes. ``SlowInOneRoom`` stands in
for that node's ``ConferenceBridge`` in the service's ``PbxDirectory``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bridge.domain.events import ParticipantJoined, Role, RoomStarted
from bridge.service.roster import LiveRoster
from bridge.service.speakers import SpeakerFloor
from tests.adapters.speaker_floors import speaker_floor
from tests.support import eventually

SLOW, QUICK = "slow-room", "quick-room"


class SlowInOneRoom:
    """Stands in for one node's ``ConferenceBridge``: every action is done at once but an
    unmute in ``room``, which hangs until ``release`` is set."""

    def __init__(self, room: str) -> None:
        self.room = room
        self.release = asyncio.Event()
        self.done: list[tuple[str, str]] = []  # (action, channel), in the order carried out

    async def unmute(self, room: str, channel: str) -> None:
        if room == self.room:
            await self.release.wait()
        self.done.append(("unmute", channel))

    async def mute(self, room: str, channel: str) -> None:
        self.done.append(("mute", channel))

    async def whisper(self, channel: str, prompt: str) -> None:
        self.done.append(("whisper", channel))


@dataclass
class Floor:
    floor: SpeakerFloor
    roster: LiveRoster
    node: SlowInOneRoom

    def join(self, room: str, channel: str) -> None:
        now = time.time()
        if self.roster.switchboard.room(room) is None:
            self.roster.apply(RoomStarted(room, now))
        self.roster.apply(
            ParticipantJoined(room, channel, channel[-4:], Role.PARTICIPANT, True, now)
        )

    async def key(self, room: str, channel: str, key: str = "hand") -> str:
        return (await self.floor.key_pressed(room, channel, channel[-4:], key)).heard


@pytest.fixture
async def floor(tmp_path: Path) -> AsyncIterator[Floor]:
    node = SlowInOneRoom(SLOW)
    async with speaker_floor(tmp_path, node) as (speakers, roster):
        try:
            yield Floor(speakers, roster, node)
        finally:
            node.release.set()


async def test_a_hung_action_in_one_room_delays_no_key_answer_in_another(floor: Floor) -> None:
    floor.join(SLOW, "PJSIP/slow-0001")
    floor.join(SLOW, "PJSIP/slow-0002")
    floor.join(QUICK, "PJSIP/quick-0003")
    assert await floor.key(SLOW, "PJSIP/slow-0001") == "hand_raised"
    calling = asyncio.create_task(floor.floor.call_next(SLOW))  # its unmute hangs
    await eventually(lambda: SLOW in floor.floor.courier.busy_rooms, timeout=2, every=0.01)

    async with asyncio.timeout(1):
        assert await floor.key(QUICK, "PJSIP/quick-0003") == "hand_raised"
    assert not calling.done()


async def test_a_rooms_own_effects_stay_in_order_behind_its_hung_action(floor: Floor) -> None:
    floor.join(SLOW, "PJSIP/slow-0001")
    floor.join(SLOW, "PJSIP/slow-0002")
    assert await floor.key(SLOW, "PJSIP/slow-0001") == "hand_raised"
    calling = asyncio.create_task(floor.floor.call_next(SLOW))
    await eventually(lambda: SLOW in floor.floor.courier.busy_rooms, timeout=2, every=0.01)
    later_key = asyncio.create_task(floor.key(SLOW, "PJSIP/slow-0002"))
    await asyncio.sleep(0.2)
    assert not later_key.done(), "answered before the room's earlier effects were carried out"

    floor.node.release.set()
    async with asyncio.timeout(2):
        await calling
        assert await later_key == "hand_raised"
    assert floor.node.done[:2] == [("unmute", "PJSIP/slow-0001"), ("whisper", "PJSIP/slow-0001")]
    await eventually(lambda: not floor.floor.courier.busy_rooms, timeout=2, every=0.01)


async def test_closing_the_floor_stops_a_hung_room_and_cancels_whoever_waits_for_it(
    floor: Floor,
) -> None:
    floor.join(SLOW, "PJSIP/slow-0001")
    assert await floor.key(SLOW, "PJSIP/slow-0001") == "hand_raised"
    calling = asyncio.create_task(floor.floor.call_next(SLOW))
    await eventually(lambda: SLOW in floor.floor.courier.busy_rooms, timeout=2, every=0.01)

    floor.floor.close()
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(1):
            await calling
    assert not floor.floor.courier.busy_rooms
