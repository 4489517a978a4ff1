"""A caller whose ConfbridgeLeave is lost, so that only their channel's Hangup arrives, is
gone from everything that hears leaves, not only from the roster: the stack, the keys, the
bars. Asterisk cannot be made to drop its own event, so the real service (``bench.big_room``)
is handed the Hangup alone, as the AMI adapter reads it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from bench.big_room import ROOM, BigRoom, big_room
from bridge.domain.events import CallHungUp, LeaveReason


@pytest.fixture
async def room() -> AsyncIterator[BigRoom]:
    async with big_room(participants=40, hands=3) as opened:
        yield opened


def queued(room: BigRoom) -> list[str]:
    shown = room.service.speakers.snapshot(ROOM)
    assert shown is not None
    return [entry["channel"] for entry in shown["queue"]]


async def test_a_hangup_with_no_leave_takes_the_hand_down_and_ends_the_turn(room: BigRoom) -> None:
    waiting, speaker = room.channels[30], room.channels[5]
    assert waiting in queued(room)
    for gone in (waiting, speaker):
        room.service.roster.receive(CallHungUp(gone, time.time(), LeaveReason.TIMED_OUT))
    assert waiting not in queued(room)
    shown = room.service.speakers.snapshot(ROOM)
    assert shown is not None and shown["speaker"] is None
    live = room.service.switchboard.room(ROOM)
    assert live is not None and waiting not in live.participants
    assert room.service.switchboard.room_of(speaker) is None


async def test_a_hangup_after_its_leave_is_still_only_a_hangup(room: BigRoom) -> None:
    heard: list[object] = []
    room.service.roster.add_listener(heard.append)
    caller = room.channels[31]
    room.service.roster.receive(CallHungUp(caller, time.time()))
    room.service.roster.receive(CallHungUp(caller, time.time()))
    assert [type(event).__name__ for event in heard] == ["ParticipantLeft", "CallHungUp"]
