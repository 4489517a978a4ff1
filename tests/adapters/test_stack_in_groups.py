"""The speaker stack during breakouts: a room keeps one stack, and the person it gives the
floor to is unmuted where they are (their group's conference), muted there again when the
turn ends; someone moved while they hold the floor who arrives muted has lost it.

The speaker floor, its courier, the roster and the database (a SQLite file) are the real
ones; the roster hears the moves as Asterisk reports them (a leave, then a join in the
group's conference). The node is not a real Asterisk: ``Recorder`` stands in for its
``ConferenceBridge`` and keeps which conference each action named, which a real one only
shows in its events (tests/integration/test_breakouts_stack.py does that)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bridge.domain.breakouts import conference_name
from bridge.domain.events import (
    LeaveReason,
    ParticipantJoined,
    ParticipantLeft,
    RemovalOrdered,
    Role,
    RoomStarted,
)
from bridge.service.roster import LiveRoster
from bridge.service.speakers import SpeakerFloor
from tests.adapters.speaker_floors import speaker_floor
from tests.support import eventually

ROOM = "ga"
ALICE, BOB = "PJSIP/alice-00000001", "PJSIP/bob-00000002"


@dataclass
class Recorder:
    """Stands in for the node's ``ConferenceBridge``: keeps (action, conference, channel)."""

    done: list[tuple[str, str, str]] = field(default_factory=list)

    async def unmute(self, conference: str, channel: str) -> None:
        self.done.append(("unmute", conference, channel))

    async def mute(self, conference: str, channel: str) -> None:
        self.done.append(("mute", conference, channel))

    async def whisper(self, channel: str, prompt: str) -> None:
        self.done.append(("whisper", prompt, channel))


@dataclass
class Floor:
    floor: SpeakerFloor
    roster: LiveRoster
    node: Recorder

    def join(self, channel: str) -> None:
        now = time.time()
        if self.roster.switchboard.room(ROOM) is None:
            self.roster.apply(RoomStarted(ROOM, now))
        self.roster.apply(
            ParticipantJoined(ROOM, channel, channel[-4:], Role.PARTICIPANT, True, now)
        )

    def move(self, channel: str, group: str | None, *, arrives_muted: bool) -> None:
        """The bridge orders the move; Asterisk reports a leave and a join elsewhere."""
        now = time.time()
        live = self.roster.switchboard.room(ROOM)
        assert live is not None
        before = live.participants[channel].group
        self.roster.apply(RemovalOrdered(ROOM, channel, LeaveReason.MOVED, now))
        self.roster.apply(ParticipantLeft(ROOM, channel, now, group=before))
        self.roster.apply(
            ParticipantJoined(
                ROOM, channel, channel[-4:], Role.PARTICIPANT, arrives_muted, now, group=group
            )
        )

    def speaker(self) -> str | None:
        return self.floor.stacks[ROOM].speaker

    def acted(self, action: str) -> list[tuple[str, str]]:
        return [(where, channel) for a, where, channel in self.node.done if a == action]


@pytest.fixture
async def floor(tmp_path: Path) -> AsyncIterator[Floor]:
    node = Recorder()
    async with speaker_floor(tmp_path, node) as (speakers, roster):
        yield Floor(speakers, roster, node)


async def test_a_speaker_in_a_group_is_unmuted_and_muted_again_in_the_groups_conference(
    floor: Floor,
) -> None:
    floor.join(ALICE)
    floor.join(BOB)
    await floor.floor.key_pressed(ROOM, ALICE, "0001", "hand")
    floor.move(ALICE, "group-2", arrives_muted=True)
    group = conference_name(ROOM, "group-2")

    await floor.floor.call_next(ROOM)
    assert floor.acted("unmute") == [(group, ALICE)]
    await floor.floor.end_turn(ROOM)
    assert floor.acted("mute") == [(group, ALICE)]


async def test_someone_in_the_main_room_is_still_unmuted_in_the_rooms_own_conference(
    floor: Floor,
) -> None:
    floor.join(ALICE)
    floor.join(BOB)
    floor.move(BOB, "group-1", arrives_muted=True)
    await floor.floor.key_pressed(ROOM, ALICE, "0001", "hand")
    await floor.floor.call_next(ROOM)
    assert floor.acted("unmute") == [(ROOM, ALICE)]


async def test_a_speaker_moved_who_arrives_muted_loses_the_floor_and_one_unmuted_keeps_it(
    floor: Floor,
) -> None:
    floor.join(ALICE)
    await floor.floor.key_pressed(ROOM, ALICE, "0001", "hand")
    await floor.floor.call_next(ROOM)
    assert floor.speaker() == ALICE

    floor.move(ALICE, "group-1", arrives_muted=False)  # a room whose callers enter unmuted
    await asyncio.sleep(0.05)
    assert floor.speaker() == ALICE

    floor.move(ALICE, None, arrives_muted=True)  # back, muted as the room says
    await eventually(lambda: floor.speaker() is None, timeout=2, every=0.01)
    assert floor.acted("mute") == []  # Asterisk muted them already; nothing to send
