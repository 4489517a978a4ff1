"""Guessing PINs, end to end: SIPp callers from distinct loopback addresses (127.0.x.y, each
a different *source* to the guard) against the real Asterisk and the bridge.

The session's stack allows 5 wrong PINs a source and no growing delay (tests/conftest.py):
SIPp types on a fixed schedule. The delays are tested on the FastAGI wire
(tests/adapters/test_agi_guard.py) and the counting rules under hypothesis
(tests/unit/test_guard.py)."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from bridge.cli import main
from bridge.domain.guard import internet_source
from bridge.service import BridgeService
from bridge.settings import Settings
from bridge.sipcaller import Caller
from bridge.store.models import Room
from tests.integration.conftest import Dial, fresh_loopback, unique_caller_id
from tests.rtp import RtpMeter
from tests.support import JOIN_SECONDS, AmiWatcher, event

NEXT_TRY = ",,,"  # "invalid PIN" (2.7 s) plays before the next prompt
OPEN_PIN = "2468"  # e2e-open, in tests/data/rooms-e2e.yaml
GUARD_ROOM, GUARD_PIN, GUARD_MODERATOR_PIN = "e2e-guard", "939393", "939394"
# Wrong PINs long enough that they cannot turn up in a log by chance (a port, a pid).
WRONG = ["73182049", "73182048", "73182047", "73182046", "73182045"]


def failures(service: BridgeService, caller: Caller) -> int:
    return service.desk.guard.failures(internet_source(caller.local_ip), time.time())


def refused(service: BridgeService, address: str) -> bool:
    source = internet_source(address)
    return any(held.source == source and held.refused for held in service.desk.held_back())


async def ended(caller: Caller, within: float = 60) -> float:
    result = await asyncio.wait_for(caller.wait(), within)
    return result.duration


async def guess_from(dial: Dial, address: str, pins: list[str]) -> list[str]:
    """Calls from ``address``, one PIN each, each under a new caller ID (a guesser rotating
    them as a SIP caller freely can); the caller IDs used. The calls run side by side, as a
    guesser's would: the guard counts each, whatever the order they end in."""
    used = [unique_caller_id("rot") for _ in pins]
    callers = [
        await dial(f"{pin}#", caller_id=caller_id, stay=3, local_ip=address)
        for pin, caller_id in zip(pins, used, strict=True)
    ]
    await asyncio.gather(*(ended(caller) for caller in callers))
    return used


async def test_one_source_rotating_caller_ids_is_stopped_at_the_threshold_and_for_good(
    ami: AmiWatcher, dial: Dial, service: BridgeService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bridge")
    attacker = fresh_loopback()
    await guess_from(dial, attacker, WRONG)
    assert refused(service, attacker)

    # The right PIN, under yet another caller ID, from the same address: no prompt at all.
    mark = ami.mark()
    caller_id = unique_caller_id("rot")
    caller = await dial(f"{OPEN_PIN}#", caller_id=caller_id, stay=15, local_ip=attacker)
    took = await ended(caller)
    assert not ami.saw(event("ConfbridgeJoin", CallerIDNum=caller_id), since=mark)
    print(f"the refused source was hung up after {took:.1f} s")  # reported
    assert f"entry.held_back source=address:{attacker}" in caplog.text
    for pin in [*WRONG, GUARD_PIN]:
        assert pin not in caplog.text  # no PIN typed, wrong or right, is ever logged


async def test_a_caller_whose_caller_id_the_attacker_used_gets_in_from_another_address(
    ami: AmiWatcher, dial: Dial, service: BridgeService
) -> None:
    attacker = fresh_loopback()
    spoofed = await guess_from(dial, attacker, WRONG)
    assert refused(service, attacker)

    victim = fresh_loopback()
    mark = ami.mark()
    await dial(f"{OPEN_PIN}#", caller_id=spoofed[-1], local_ip=victim)
    joined = await ami.wait_for(event("ConfbridgeJoin", CallerIDNum=spoofed[-1]), since=mark)
    assert joined["Conference"] == "e2e-open"
    assert not refused(service, victim)


async def test_a_retired_rooms_pin_sounds_the_same_as_a_wrong_pin(
    ami: AmiWatcher, dial: Dial, service: BridgeService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bridge.asterisk.pin_dialogue")
    key = service.desk.rooms.pin_key
    async with service.db.sessions.begin() as session:
        session.add(
            Room(
                name="e2e-gone",
                title="Retired",
                pin_hash=key.hash("808080"),
                retired_at=datetime.now(UTC),
            )
        )
    ids = {"retired": unique_caller_id("retired"), "wrong": unique_caller_id("wrong")}
    mark = ami.mark()
    callers: dict[str, Caller] = {}
    with RtpMeter(set()) as meter:
        since = time.time()
        for kind, pin in (("retired", "808080"), ("wrong", "909090")):
            callers[kind] = await dial(
                f"{pin}#", caller_id=ids[kind], stay=40, local_ip=fresh_loopback()
            )
            meter.add(callers[kind].media_port)
        durations = {kind: await ended(caller, 70) for kind, caller in callers.items()}
        loud = {kind: meter.loud_seconds(c.media_port, since) for kind, c in callers.items()}

    heard = {}
    for kind, caller_id in ids.items():
        arrived = await ami.wait_for(event("Newchannel", CallerIDNum=caller_id), since=mark)
        found = re.search(rf"channel={re.escape(arrived['Channel'])} \S+ heard=(\S+)", caplog.text)
        assert found is not None, caplog.text
        heard[kind] = found.group(1)
    print(f"heard: {heard['wrong']}; loud seconds {loud}; call lengths {durations}")
    assert heard["retired"] == heard["wrong"]
    assert heard["wrong"].split(",")[:2] == ["conf-getpin", "conf-invalidpin"]
    assert abs(loud["retired"] - loud["wrong"]) < 1.0
    assert abs(durations["retired"] - durations["wrong"]) < 2.0
    assert failures(service, callers["retired"]) == failures(service, callers["wrong"]) == 1


async def test_a_locked_rooms_refusal_counts_and_sounds_like_a_wrong_pin_after_a_failure(
    ami: AmiWatcher, dial: Dial, service: BridgeService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bridge.asterisk.pin_dialogue")
    mark = ami.mark()
    moderator_id = unique_caller_id("guardmod")
    await dial(f"{GUARD_MODERATOR_PIN}#", caller_id=moderator_id, stay=120)
    await ami.wait_for(event("ConfbridgeJoin", CallerIDNum=moderator_id), since=mark)
    await service.moderation.lock(GUARD_ROOM)
    try:
        guesser = fresh_loopback()
        # Three wrong PINs on one call; then, on another, a fourth wrong PIN and the locked
        # room's PIN, which a source that has failed hears as "invalid PIN".
        first = await dial(
            f"{WRONG[0]}#{NEXT_TRY}{WRONG[1]}#{NEXT_TRY}{WRONG[2]}#", stay=40, local_ip=guesser
        )
        await ended(first)
        caller_id = unique_caller_id("locked")
        mark = ami.mark()
        locked = await dial(
            f"{WRONG[3]}#{NEXT_TRY}{GUARD_PIN}#", caller_id=caller_id, stay=40, local_ip=guesser
        )
        await ended(locked)
        assert failures(service, locked) == 5
        assert refused(service, guesser)
        arrived = await ami.wait_for(event("Newchannel", CallerIDNum=caller_id), since=mark)
        found = re.search(rf"channel={re.escape(arrived['Channel'])} \S+ heard=(\S+)", caplog.text)
        assert found is not None, caplog.text
        heard = found.group(1).split(",")
        assert heard[:4] == ["conf-getpin", "conf-invalidpin", "conf-getpin", "conf-invalidpin"]
        assert "conf-locked" not in heard
        # So the right PIN of an open room is no use from there any more.
        caller_id = unique_caller_id("rot")
        mark = ami.mark()
        await ended(await dial(f"{OPEN_PIN}#", caller_id=caller_id, stay=15, local_ip=guesser))
        assert not ami.saw(event("ConfbridgeJoin", CallerIDNum=caller_id), since=mark)
    finally:
        await service.moderation.unlock(GUARD_ROOM)


async def test_an_admin_sees_the_held_source_and_lifts_it_from_the_command_line(
    ami: AmiWatcher,
    dial: Dial,
    service: BridgeService,
    runtime_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    attacker = fresh_loopback()
    await guess_from(dial, attacker, WRONG)
    monkeypatch.setenv("IOBRIDGE_STATE_DIR", str(runtime_settings.state_dir))

    async def iobridge(*args: str) -> list[str]:  # a thread: the service answers on this loop
        result = await asyncio.to_thread(CliRunner().invoke, main, list(args))
        assert result.exit_code == 0, result.output
        return result.stdout.strip().splitlines()

    listed = await iobridge("lockouts", "list")
    mine = [line for line in listed if line.startswith(f"address:{attacker} ")]
    assert len(mine) == 1 and "refused until" in mine[0] and "(5 failed PINs)" in mine[0]
    assert await iobridge("lockouts", "clear", attacker) == [f"hold on address:{attacker} lifted"]

    mark = ami.mark()
    caller_id = unique_caller_id("lifted")
    await dial(f"{OPEN_PIN}#", caller_id=caller_id, local_ip=attacker)
    await ami.wait_for(
        event("ConfbridgeJoin", CallerIDNum=caller_id), since=mark, timeout=JOIN_SECONDS
    )
