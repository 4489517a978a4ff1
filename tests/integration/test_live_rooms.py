"""Live rooms end to end: several SIPp callers in one room, moderator actions sent by the
service, each verified by Asterisk's own events or its ConfbridgeList, never only by the
service's state."""

from __future__ import annotations

import array
import asyncio
import wave
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bridge.asterisk import recorder
from bridge.errors import NoSuchParticipant, NoSuchRoom
from bridge.recordings import list_recordings
from bridge.service import BridgeService
from bridge.settings import Settings
from bridge.store.models import Call, Leg
from tests.integration.conftest import Dial, unique_caller_id
from tests.support import (
    JOIN_SECONDS,
    AmiWatcher,
    event,
    eventually,
    is_recording,
    recorder_event,
    roster_rows,
)

ROOM = "e2e-live"
Join = Callable[..., Awaitable[str]]
PIN, MODERATOR_PIN = "3333#", "3334#"


@pytest.fixture
def join(ami: AmiWatcher, dial: Dial, service: BridgeService) -> Callable[..., Awaitable[str]]:
    """Dial in with ``keys``; return the channel once Asterisk reported the join and the
    service's roster shows it (moderators act on the roster they see)."""

    async def dial_in(keys: str, **options: Any) -> str:
        caller_id = unique_caller_id("live")
        mark = ami.mark()
        await dial(keys, caller_id=caller_id, **options)
        joined = await ami.wait_for(
            event("ConfbridgeJoin", CallerIDNum=caller_id), since=mark, timeout=JOIN_SECONDS
        )
        channel = str(joined["Channel"])
        room = str(joined["Conference"])
        await service.roster.wait_until(lambda: channel in roster(service, room))
        return channel

    return dial_in


async def asterisk_list(service: BridgeService, room: str = ROOM) -> dict[str, dict[str, Any]]:
    """Asterisk's own roster: ConfbridgeList, by channel."""
    try:
        replies = await service.ami.send({"Action": "ConfbridgeList", "Conference": room})
    except NoSuchRoom:
        return {}
    return {str(m["Channel"]): dict(m) for m in replies if m.get("Event") == "ConfbridgeList"}


def roster(service: BridgeService, room: str = ROOM) -> dict[str, dict[str, Any]]:
    return {p["channel"]: p for p in roster_rows(service.switchboard, room)}


async def test_the_roster_matches_what_asterisk_lists(
    ami: AmiWatcher, join: Join, service: BridgeService
) -> None:
    channels = [await join(PIN) for _ in range(2)]
    moderator = await join(MODERATOR_PIN)
    await service.roster.wait_until(lambda: set(roster(service)) >= {*channels, moderator})

    # Only this test's callers: one of an earlier test may still be leaving the room.
    callers = {*channels, moderator}
    listed = await asterisk_list(service)
    ours = roster(service)
    assert callers <= set(listed) and callers <= set(ours)
    for channel in callers:
        assert ours[channel]["muted"] == (listed[channel]["Muted"] == "Yes")
        assert (ours[channel]["role"] == "moderator") == (listed[channel]["Admin"] == "Yes")


async def test_a_moderator_mutes_and_unmutes_one_participant(
    ami: AmiWatcher, join: Join, service: BridgeService
) -> None:
    channel = await join(PIN)
    mark = ami.mark()
    await service.moderation.mute(ROOM, channel)
    await ami.wait_for(event("ConfbridgeMute", Channel=channel), since=mark)
    assert (await asterisk_list(service))[channel]["Muted"] == "Yes"
    await service.roster.wait_until(lambda: roster(service).get(channel, {}).get("muted") is True)

    await service.moderation.unmute(ROOM, channel)
    await ami.wait_for(event("ConfbridgeUnmute", Channel=channel), since=mark)
    assert (await asterisk_list(service))[channel]["Muted"] == "No"
    await service.roster.wait_until(lambda: roster(service).get(channel, {}).get("muted") is False)


async def test_mute_all_silences_participants_but_not_moderators(
    ami: AmiWatcher, join: Join, service: BridgeService
) -> None:
    people = [await join(PIN) for _ in range(2)]
    moderator = await join(MODERATOR_PIN)
    mark = ami.mark()
    await service.moderation.mute_all(ROOM)
    for channel in people:
        await ami.wait_for(event("ConfbridgeMute", Channel=channel), since=mark)
    listed = await asterisk_list(service)
    assert all(listed[c]["Muted"] == "Yes" for c in people)
    assert listed[moderator]["Muted"] == "No"

    await service.moderation.unmute_all(ROOM)
    for channel in people:
        await ami.wait_for(event("ConfbridgeUnmute", Channel=channel), since=mark)
    listed = await asterisk_list(service)
    assert all(listed[c]["Muted"] == "No" for c in people)


async def test_a_kicked_participant_is_gone_and_their_leg_closed(
    ami: AmiWatcher, join: Join, service: BridgeService
) -> None:
    channel = await join(PIN)
    mark = ami.mark()
    await service.moderation.kick(ROOM, channel)
    await ami.wait_for(event("ConfbridgeLeave", Channel=channel), since=mark)
    await eventually(lambda: _absent(service, channel))
    await service.roster.wait_until(lambda: channel not in roster(service))
    await service.history.flushed()
    async with service.db.sessions() as session:
        leg = await session.scalar(select(Leg).where(Leg.channel == channel))
    assert leg is not None and leg.left_at is not None


async def test_an_action_on_someone_who_just_left_names_the_problem(
    ami: AmiWatcher, join: Join, service: BridgeService
) -> None:
    await join(PIN)  # keeps the room alive
    channel = await join(PIN)
    mark = ami.mark()
    await service.moderation.kick(ROOM, channel)
    await ami.wait_for(event("ConfbridgeLeave", Channel=channel), since=mark)
    await service.roster.wait_until(lambda: channel not in roster(service))
    with pytest.raises(NoSuchParticipant):
        await service.moderation.mute(ROOM, channel)
    with pytest.raises(NoSuchParticipant):
        await service.moderation.kick(ROOM, channel)
    # And Asterisk's own refusal, for a channel it has never had, gets the same name.
    with pytest.raises(NoSuchParticipant):
        await service.ami.send(
            {"Action": "ConfbridgeMute", "Conference": ROOM, "Channel": "PJSIP/nobody-0"}
        )


async def test_a_locked_room_turns_new_participants_away(
    ami: AmiWatcher, join: Join, dial: Dial, service: BridgeService
) -> None:
    await join(MODERATOR_PIN)
    await service.moderation.lock(ROOM)
    rooms = await service.ami.send({"Action": "ConfbridgeListRooms"})
    assert [r["Locked"] for r in rooms if r.get("Conference") == ROOM] == ["Yes"]
    live = service.switchboard.room(ROOM)
    assert live is not None and live.locked

    late = unique_caller_id("late")
    mark = ami.mark()
    caller = await dial(PIN, caller_id=late, stay=30)
    result = await asyncio.wait_for(caller.wait(), 40)
    assert result.ended_by == "remote"
    assert not ami.saw(event("ConfbridgeJoin", CallerIDNum=late), since=mark)

    await service.moderation.unlock(ROOM)
    rooms = await service.ami.send({"Action": "ConfbridgeListRooms"})
    assert [r["Locked"] for r in rooms if r.get("Conference") == ROOM] == ["No"]
    await join(PIN)


async def test_a_caller_playing_audio_is_seen_talking_and_gains_talk_time(
    ami: AmiWatcher, join: Join, service: BridgeService
) -> None:
    await join(PIN)  # a silent listener
    mark = ami.mark()
    talker = await join(PIN, audio=True, stay=30)
    await ami.wait_for(event("ConfbridgeTalking", Channel=talker, TalkingStatus="on"), since=mark)
    await service.roster.wait_until(lambda: roster(service).get(talker, {}).get("talking") is True)
    first = roster(service)[talker]["talk_time"]
    await eventually(lambda: roster(service)[talker]["talk_time"] >= first + 1.0)
    silent = [c for c, p in roster(service).items() if c != talker]
    assert all(roster(service)[c]["talk_time"] == 0 for c in silent)


async def test_a_recording_is_made_and_listed_with_its_duration(
    ami: AmiWatcher, join: Join, service: BridgeService, runtime_settings: Settings
) -> None:
    # Marked before the join: the talker's voice is continuous, so its one "talking on"
    # may come before the recording starts (it did on a loaded CI machine).
    mark = ami.mark()
    await join(PIN, audio=True, stay=30)
    path = await service.moderation.start_recording(ROOM)
    await ami.wait_for(recorder_event("ConfbridgeJoin", ROOM), since=mark)
    await service.roster.wait_until(lambda: is_recording(service.switchboard, ROOM))
    await ami.wait_for(event("ConfbridgeTalking", TalkingStatus="on"), since=mark, timeout=20)
    # Let Asterisk write a few seconds of the talker's voice before stopping.
    await eventually(lambda: path.exists() and path.stat().st_size > 3 * 16000, timeout=20)
    await service.moderation.stop_recording(ROOM)
    await ami.wait_for(recorder_event("ConfbridgeLeave", ROOM), since=mark)
    await service.roster.wait_until(lambda: not is_recording(service.switchboard, ROOM))
    # Asterisk finishes the file (and its WAV header) just after it reports the stop.
    await eventually(lambda: _recorded(runtime_settings, path.name) > 0.5)
    found = {r.path.name: r for r in list_recordings(runtime_settings.recordings_dir)}
    assert path.name.startswith(f"{ROOM}-") and path.suffix == ".wav"
    assert found[path.name].duration > 0.5
    assert found[path.name].size > 1000
    assert _loudest_sample(path) > 1000  # the talker's voice, not the recorder's silence
    assert all(not recorder.is_recorder(c) for c in roster(service))


async def test_a_room_set_to_record_records_from_the_first_join(
    ami: AmiWatcher, join: Join, service: BridgeService, runtime_settings: Settings
) -> None:
    mark = ami.mark()
    await join("7777#")
    await ami.wait_for(recorder_event("ConfbridgeJoin", "e2e-record"), since=mark)

    def recording() -> bool:  # Asterisk opens the file a moment after the recorder joins
        names = [r.path.name for r in list_recordings(runtime_settings.recordings_dir)]
        return any(n.startswith("e2e-record-") for n in names)

    await eventually(recording, timeout=15)


async def test_history_keeps_one_call_row_and_a_leg_per_participant(
    ami: AmiWatcher, join: Join, service: BridgeService
) -> None:
    first = await join(PIN)
    second = await join(MODERATOR_PIN)
    await service.history.flushed()
    async with service.db.sessions() as session:
        calls = (
            await session.scalars(
                select(Call).where(Call.room_name == ROOM, Call.ended_at.is_(None))
            )
        ).all()
        assert len(calls) == 1
        legs = {
            leg.channel: leg
            for leg in await session.scalars(select(Leg).where(Leg.call_id == calls[0].id))
        }
    assert legs[first].role == "participant" and legs[second].role == "moderator"
    assert legs[first].left_at is None


async def _absent(service: BridgeService, channel: str) -> bool:
    return channel not in await asterisk_list(service)


def _loudest_sample(path: Path) -> int:
    with wave.open(str(path)) as recording:
        assert recording.getsampwidth() == 2
        samples = array.array("h", recording.readframes(recording.getnframes()))
    return max((abs(s) for s in samples), default=0)


def _recorded(settings: Settings, name: str) -> float:
    found = {r.path.name: r for r in list_recordings(settings.recordings_dir)}
    return found[name].duration if name in found else 0.0
