"""The speaker stack's rules that the panel of a big room relies on, through the real
service (roster, stack, courier, audit trail, SQLite history): ``bench.big_room``, whose
Asterisk node confirms every mute and unmute at once, as Asterisk's own events would."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bench.big_room import ROOM, BigRoom, big_room, speak
from bridge.service.room_view import room_view
from bridge.web.panel.state import room_snapshot
from tests.support import eventually


@pytest.fixture
async def room() -> AsyncIterator[BigRoom]:
    async with big_room(participants=40, hands=3) as opened:
        yield opened


def stack(room: BigRoom) -> dict:  # type: ignore[type-arg]
    shown = room.service.speakers.snapshot(room.room)
    assert shown is not None
    return shown


async def test_muting_the_speaker_ends_their_turn_so_no_clock_runs_on_a_muted_speaker(
    room: BigRoom,
) -> None:
    speaker = room.channels[5]
    assert stack(room)["speaker"]["channel"] == speaker
    await room.service.moderation.mute(room.room, speaker)
    await eventually(lambda: stack(room)["speaker"] is None, timeout=3)
    assert len(stack(room)["queue"]) == 3, "nobody was called on by themselves"


async def test_muting_someone_else_leaves_the_speakers_turn_alone(room: BigRoom) -> None:
    await room.service.moderation.mute(room.room, room.channels[0])  # the moderator
    await room.service.moderation.unmute(room.room, room.channels[7])
    await room.service.moderation.mute(room.room, room.channels[7])
    await room.service.speakers.flushed()
    assert stack(room)["speaker"]["channel"] == room.channels[5]


async def test_the_limit_set_during_the_call_ends_the_turn_and_auto_advance_calls_the_next(
    room: BigRoom,
) -> None:
    floor = room.service.speakers
    await floor.set_auto_advance(room.room, True)
    assert stack(room)["auto_advance"] is True
    await floor.set_limit(room.room, 1)  # the turn under way ends within a second
    head = stack(room)["queue"][0]["channel"]
    await eventually(lambda: (stack(room)["speaker"] or {}).get("channel") == head, timeout=3)
    assert stack(room)["speaking_time_limit"] == 1
    await floor.set_limit(room.room, 0)
    await floor.flushed()
    assert stack(room)["speaker"]["channel"] == head, "no limit: the new turn goes on"
    assert stack(room)["speaker"]["seconds_left"] is None


async def test_the_first_time_speakers_share_counts_first_turns_over_all_the_talk(
    room: BigRoom,
) -> None:
    service = room.service
    assert service.first_time.share(ROOM) == 0.0  # a first turn under way, silent so far
    await service.speakers.end_turn(ROOM)
    await service.speakers.call(ROOM, room.channels[8])  # a first turn on the floor
    # As long as all the others together; the mute at its end ends the turn.
    await speak(service, room.channels[8], seconds=24 * 20.0)
    await eventually(lambda: stack(room)["speaker"] is None, timeout=3)
    await service.speakers.flushed()
    share = service.first_time.share(ROOM)
    assert share is not None and 0.45 < share < 0.55
    view = room_view(service, await service.find_room(ROOM))
    assert room_snapshot(view, [])["room"]["first_time_share"] == round(share, 2)


async def test_a_point_of_process_pressed_again_and_again_is_held_back_and_noted(
    room: BigRoom,
) -> None:
    keys, caller = room.service.keys, room.channels[20]

    async def press() -> str:
        return (await keys.key_pressed(ROOM, caller, "5551020", "process")).heard

    assert await press() == "point_of_process"
    assert await press() == "hand_lowered"  # withdrawn: never held back
    assert await press() == "process_held_back"  # raised again within the minute
    assert caller not in [entry["channel"] for entry in stack(room)["queue"]]
    other = (await keys.key_pressed(ROOM, room.channels[21], "5551021", "process")).heard
    assert other == "point_of_process", "each caller has their own minute"


async def test_a_turn_that_cannot_be_written_still_gives_the_floor_on(
    room: BigRoom, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The history write of the turn ended fails (the database away a moment): the next
    speaker is unmuted all the same, and a mute then ends their turn."""
    turns = room.service.speakers.courier._turns

    async def unwritable(turn: object) -> None:
        raise OSError("disk I/O error")

    monkeypatch.setattr(turns, "ended", unwritable)
    nxt = room.channels[6]
    await room.service.speakers.call(room.room, nxt)  # the turn of channels[5] ends: REPLACED
    live = room.service.switchboard.room(room.room)
    assert live is not None and not live.participants[nxt].muted, "the new speaker is heard"
    await room.service.moderation.mute(room.room, nxt)
    await eventually(lambda: stack(room)["speaker"] is None, timeout=3)
