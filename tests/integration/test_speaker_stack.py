"""The speaker stack end to end: SIPp callers press real RFC 2833 keys inside ConfBridge on the
real Asterisk; the floor is given and taken back in Asterisk itself (its own Unmute/Mute
events and ConfbridgeList say so), and what a caller hears is measured on their RTP."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bridge.cli import main
from bridge.service import BridgeService
from bridge.service.stack_io import WHISPERS
from bridge.settings import Settings
from bridge.sipcaller import Caller
from bridge.store.models import StackEvent
from tests.integration.conftest import Dial, unique_caller_id
from tests.rtp import RtpMeter, loud_samples
from tests.support import JOIN_SECONDS, AmiWatcher, event, eventually, keypad_answers

FIFO, FIFO_PIN, FIFO_MODERATOR_PIN = "e2e-stack", "8191#", "8192#"
PROGRESSIVE, PROGRESSIVE_PIN = "e2e-progressive", "8292#"
LIMITED, LIMITED_PIN = "e2e-limit", "8393#"
REJOIN, REJOIN_PIN = "e2e-rejoin", "8494#"


class Person:
    def __init__(self, caller: Caller, channel: str, caller_id: str) -> None:
        self.caller, self.channel, self.caller_id = caller, channel, caller_id


async def enter(
    ami: AmiWatcher,
    dial: Dial,
    service: BridgeService,
    pin: str,
    keys: tuple[str, ...] = (),
    caller_id: str | None = None,
) -> Person:
    """A caller in the room, who will press ``keys`` there, one ``press`` at a time."""
    caller_id = caller_id or unique_caller_id("stack")
    mark = ami.mark()
    caller = await dial(pin, caller_id=caller_id, later_keys=keys, stay=90)
    joined = await ami.wait_for(
        event("ConfbridgeJoin", CallerIDNum=caller_id), since=mark, timeout=JOIN_SECONDS
    )
    channel = str(joined["Channel"])
    room = str(joined["Conference"])
    await service.roster.wait_until(lambda: service.switchboard.room_of(channel) == room)
    await service.roster.wait_until(lambda: room in service.speakers.stacks)
    return Person(caller, channel, caller_id)


async def queue_of(service: BridgeService, room: str) -> list[str]:
    return [entry["channel"] for entry in (await service.speakers.show(room))["queue"]]


async def press(service: BridgeService, person: Person, keys: str) -> None:
    """Press keys in the room and wait until their answer has played: like a person, the
    test presses nothing while the answer plays (the caller is in the keys' dialplan then,
    and ConfBridge's menu does not hear them)."""
    answers = keypad_answers()
    mark = answers.mark()
    await person.caller.press(keys)
    await eventually(lambda: answers.heard(person.channel, since=mark), timeout=10, every=0.05)


async def raise_hand(service: BridgeService, room: str, person: Person) -> None:
    await press(service, person, "*9")
    await wait_for_stack(
        service, room, lambda s: person.channel in [e["channel"] for e in s["queue"]]
    )


async def wait_for_stack(
    service: BridgeService, room: str, check: Any, timeout: float = 15
) -> None:
    async def holds() -> bool:
        return bool(check(await service.speakers.show(room)))

    await eventually(holds, timeout=timeout, every=0.05)


async def asterisk_muted(service: BridgeService, room: str) -> dict[str, bool]:
    replies = await service.ami.send({"Action": "ConfbridgeList", "Conference": room})
    return {
        str(m["Channel"]): m["Muted"] == "Yes"
        for m in replies
        if m.get("Event") == "ConfbridgeList"
    }


async def test_hands_raised_on_the_keypad_queue_in_the_order_they_were_raised(
    ami: AmiWatcher, dial: Dial, service: BridgeService, runtime_settings: Settings
) -> None:
    people = [await enter(ami, dial, service, FIFO_PIN, ("*9",)) for _ in range(3)]
    for person in people:
        started = time.monotonic()
        await raise_hand(service, FIFO, person)
        print(f"*9 in the stack, its answer played: {time.monotonic() - started:.2f} s")  # reported

    # What scripts read: `iobridge stack ROOM show --json`.
    env = {
        "IOBRIDGE_STATE_DIR": str(runtime_settings.state_dir),
        "IOBRIDGE_HTTP_PORT": str(runtime_settings.http_port),
    }
    result = await asyncio.to_thread(
        CliRunner().invoke, main, ["stack", FIFO, "show", "--json"], env=env
    )
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    mine = [e for e in shown["queue"] if e["channel"] in {p.channel for p in people}]
    assert [e["channel"] for e in mine] == [p.channel for p in people]
    assert [e["caller_id"] for e in mine] == [p.caller_id for p in people]
    assert all(e["lane"] == "stack" and e["priority"] is False for e in mine)
    assert [e["place"] for e in mine] == sorted(e["place"] for e in mine)
    assert shown["policy"] == "fifo" and shown["room"] == FIFO

    # Each hand raised is one of the call's stack events, for its report.
    mine_ids = {p.caller_id for p in people}
    async with service.db.sessions() as session:
        raised = (
            await session.scalars(
                select(StackEvent.caller_id)
                .where(StackEvent.kind == "hand_raised", StackEvent.caller_id.in_(mine_ids))
                .order_by(StackEvent.id)
            )
        ).all()
    assert list(raised) == [p.caller_id for p in people]

    # Cleared for the next test in this room.
    await service.speakers.clear(FIFO, None)


async def test_next_unmutes_the_head_of_the_stack_and_mutes_the_speaker_before(
    ami: AmiWatcher, dial: Dial, service: BridgeService
) -> None:
    first = await enter(ami, dial, service, FIFO_PIN, ("*9",))
    second = await enter(ami, dial, service, FIFO_PIN, ("*9", "*9"))
    await raise_hand(service, FIFO, first)
    await raise_hand(service, FIFO, second)
    assert (await asterisk_muted(service, FIFO))[first.channel] is True

    mark = ami.mark()
    assert (await service.speakers.call_next(FIFO))["speaker"] == first.channel
    await ami.wait_for(event("ConfbridgeUnmute", Channel=first.channel), since=mark)
    assert (await asterisk_muted(service, FIFO))[first.channel] is False

    mark = ami.mark()
    assert (await service.speakers.call_next(FIFO))["speaker"] == second.channel
    await ami.wait_for(event("ConfbridgeMute", Channel=first.channel), since=mark)
    await ami.wait_for(event("ConfbridgeUnmute", Channel=second.channel), since=mark)
    muted = await asterisk_muted(service, FIFO)
    assert muted[first.channel] is True and muted[second.channel] is False
    assert await queue_of(service, FIFO) == []

    # The speaker presses *9: done, muted again.
    mark = ami.mark()
    await press(service, second, "*9")
    await ami.wait_for(event("ConfbridgeMute", Channel=second.channel), since=mark)
    assert (await service.speakers.show(FIFO))["speaker"] is None


async def test_the_speaker_alone_hears_that_they_have_the_floor(
    ami: AmiWatcher, dial: Dial, service: BridgeService
) -> None:
    speaker = await enter(ami, dial, service, FIFO_PIN, ("*9",))
    listener = await enter(ami, dial, service, FIFO_PIN)
    await raise_hand(service, FIFO, speaker)
    await asyncio.sleep(2.5)  # the answer to *9 has played; the room is quiet
    ports = {speaker.caller.media_port, listener.caller.media_port}
    with RtpMeter(ports) as meter:
        since = time.time()
        await service.speakers.call_next(FIFO)
        heard_at = await meter.until_loud(speaker.caller.media_port, since, 0.5, timeout=10)
        print(f"'you have the floor' reached the speaker {heard_at - since:.2f} s after next")
        await asyncio.sleep(1.5)
        assert meter.loud_seconds(listener.caller.media_port, since) < 0.2
    await service.speakers.end_turn(FIFO)


async def test_the_head_of_the_stack_alone_hears_you_are_next_when_the_speaker_is_called_on(
    ami: AmiWatcher, dial: Dial, service: BridgeService, runtime_settings: Settings
) -> None:
    """All of the prompt: ChanSpy drops what it hears until it attaches, and a prompt that
    started before that reached the head without its first tenth of a second (80 % of it;
    83 % on a loaded box with the fixed 0.3 s lead the handshake replaced)."""
    speaker, head, listener = await asyncio.gather(
        enter(ami, dial, service, FIFO_PIN, ("*9",)),
        enter(ami, dial, service, FIFO_PIN, ("*9",)),
        enter(ami, dial, service, FIFO_PIN),
    )
    await service.speakers.clear(FIFO, None)  # earlier tests' callers may still be queued
    await raise_hand(service, FIFO, speaker)
    await raise_hand(service, FIFO, head)
    assert await queue_of(service, FIFO) == [speaker.channel, head.channel]
    await asyncio.sleep(2.5)  # the answer to *9 has played; the room is quiet
    ports = {speaker.caller.media_port, head.caller.media_port, listener.caller.media_port}
    with RtpMeter(ports) as meter:
        since = time.time()
        await service.speakers.call_next(FIFO)
        heard_at = await meter.until_loud(head.caller.media_port, since, 0.5, timeout=10)
        print(f"'you are next' reached the head {heard_at - since:.2f} s after next")  # reported
        await asyncio.sleep(1.5)
        assert meter.loud_seconds(listener.caller.media_port, since) < 0.2
        heard = meter.loud_bytes(head.caller.media_port, since)
        dropped = meter.dropped()
    prompt = loud_samples(runtime_settings.sounds_dir / "en" / f"{WHISPERS['next']}.wav")
    # Nearly all of it: on a loaded box a frame or two of the prompt can go missing on the
    # way (94% was seen with the suite's eight workers), not a tenth of a second.
    assert heard >= 0.9 * prompt, (
        f"the head heard {heard} loud samples of {prompt} (the meter lost {dropped} packets)"
    )
    await service.speakers.end_turn(FIFO)
    await service.speakers.clear(FIFO, None)


async def test_star_one_tells_a_caller_their_place_or_that_their_hand_is_not_raised(
    ami: AmiWatcher, dial: Dial, service: BridgeService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bridge.service.speakers")
    person = await enter(ami, dial, service, FIFO_PIN, ("*1", "*9", "*1"))
    await asyncio.sleep(2)
    with RtpMeter({person.caller.media_port}) as meter:
        since = time.time()
        await press(service, person, "*1")
        await meter.until_loud(person.caller.media_port, since, 0.5, timeout=10)
        began, ended = meter.first_loud(person.caller.media_port, since), time.time()
    if began is not None:  # reported, not asserted
        took = f"began {began - since:.2f} s after the key, over by {ended - since:.2f} s"
        print(f"the answer to *1 {took}")
    assert f"stack.key room={FIFO} key=place heard=not_queued" in caplog.text

    await raise_hand(service, FIFO, person)
    caplog.clear()
    await press(service, person, "*1")
    place = (await service.speakers.show(FIFO))["queue"]
    where = [e["place"] for e in place if e["channel"] == person.channel]
    assert f"stack.key room={FIFO} key=place heard=place place={where[0]}" in caplog.text
    await service.speakers.clear(FIFO, None)


async def test_a_short_time_limit_mutes_the_speaker_again(
    ami: AmiWatcher, dial: Dial, service: BridgeService
) -> None:
    person = await enter(ami, dial, service, LIMITED_PIN, ("*9",))
    await raise_hand(service, LIMITED, person)
    mark = ami.mark()
    await service.speakers.call_next(LIMITED)
    unmuted = await ami.wait_for(event("ConfbridgeUnmute", Channel=person.channel), since=mark)
    muted = await ami.wait_for(
        event("ConfbridgeMute", Channel=person.channel), since=mark, timeout=20
    )
    took = float(muted["Timestamp"]) - float(unmuted["Timestamp"])
    print(f"muted again {took:.2f} s into a 6 s turn")  # reported, not asserted
    assert (await asterisk_muted(service, LIMITED))[person.channel] is True
    assert (await service.speakers.show(LIMITED))["speaker"] is None


async def test_progressive_puts_a_first_time_speaker_ahead_of_one_who_has_spoken(
    ami: AmiWatcher, dial: Dial, service: BridgeService
) -> None:
    veteran = await enter(ami, dial, service, PROGRESSIVE_PIN, ("*9", "*9"))
    newcomer = await enter(ami, dial, service, PROGRESSIVE_PIN, ("*9",))
    await raise_hand(service, PROGRESSIVE, veteran)
    await service.speakers.call_next(PROGRESSIVE)
    mark = ami.mark()
    await service.speakers.end_turn(PROGRESSIVE)
    await ami.wait_for(event("ConfbridgeMute", Channel=veteran.channel), since=mark)

    await raise_hand(service, PROGRESSIVE, veteran)  # raised first ...
    await raise_hand(service, PROGRESSIVE, newcomer)  # ... but has spoken already
    shown = (await service.speakers.show(PROGRESSIVE))["queue"]
    mine = [e for e in shown if e["channel"] in (veteran.channel, newcomer.channel)]
    assert [e["channel"] for e in mine] == [newcomer.channel, veteran.channel]
    assert mine[0]["reason"] == "has not spoken yet"
    assert "1 turn" in mine[1]["reason"]

    # Switched to fifo live: the order of the hands, nobody lost.
    await service.speakers.set_policy(PROGRESSIVE, "fifo")  # type: ignore[arg-type]
    assert await queue_of(service, PROGRESSIVE) == [veteran.channel, newcomer.channel]


async def test_a_caller_who_drops_and_calls_back_within_the_grace_keeps_their_place(
    ami: AmiWatcher, dial: Dial, service: BridgeService
) -> None:
    caller_id = unique_caller_id("back")
    dropping = await enter(ami, dial, service, REJOIN_PIN, ("*9",), caller_id=caller_id)
    staying = await enter(ami, dial, service, REJOIN_PIN, ("*9",))
    await raise_hand(service, REJOIN, dropping)
    await raise_hand(service, REJOIN, staying)

    mark = ami.mark()
    await dropping.caller.hangup()
    await ami.wait_for(event("ConfbridgeLeave", Channel=dropping.channel), since=mark)
    await service.roster.wait_until(lambda: service.switchboard.room_of(dropping.channel) is None)
    assert await queue_of(service, REJOIN) == [staying.channel]  # away, not shown

    back = await enter(ami, dial, service, REJOIN_PIN, caller_id=caller_id)
    await wait_for_stack(service, REJOIN, lambda s: len(s["queue"]) == 2)
    assert await queue_of(service, REJOIN) == [back.channel, staying.channel]
