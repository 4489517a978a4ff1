"""Silent callers stay; dead calls go. A stack of its own whose Asterisk refreshes every
call's SIP session every 45 s (``sip_session_timer_seconds`` = 90, the least RFC 4028
allows): a muted caller who sends no RTP at all answers those refreshes and stays, for five
minutes; a caller whose phone vanishes (SIPp SIGKILLed: no BYE, no answer) is hung up by
Asterisk and leaves "timed out". Kicked and hung-up callers say so too, in the roster's
leave and in history.

The five-minute caller joins first (a module fixture) and is checked by the last test, so
its five minutes run side by side with the others."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from bridge.asterisk.install import ensure_asterisk
from bridge.domain.events import DomainEvent, LeaveReason
from bridge.domain.roster_effects import Effect, LegClosed, LegReasonCorrected
from bridge.runtime import Runtime
from bridge.service import BridgeService
from bridge.settings import Settings
from bridge.sipcaller import Caller, CallPlan
from bridge.store.models import Leg
from tests.callers import start_caller, when_asked
from tests.conftest import E2E_ROOMS
from tests.integration.conftest import unique_caller_id
from tests.support import free_port, free_port_range, free_udp_and_tcp_port

ROOM, PIN = "e2e-faults", "6666#"
SESSION_TIMER = 90  # seconds; Asterisk refreshes at half, and a refresh times out in 32
SILENCE = 300.0  # the five minutes

pytestmark = pytest.mark.long


@dataclass
class TimerStack:
    runtime: Runtime
    settings: Settings
    leaves: dict[str, LeaveReason | None]  # channel -> why, as the roster wrote it for history
    workdir: Path

    @property
    def service(self) -> BridgeService:
        assert self.runtime.service is not None
        return self.runtime.service

    async def join(self, **plan: object) -> tuple[Caller, str]:
        """A caller in ROOM: the caller and their channel."""
        caller_id = unique_caller_id("silent")
        caller = await start_caller(
            when_asked(
                CallPlan(
                    target_port=self.settings.sip_port,
                    extension=self.settings.entry_extension,
                    keys=PIN,
                    caller_id=caller_id,
                    **plan,  # type: ignore[arg-type]
                )
            ),
            self.workdir / caller_id,
        )
        channel = ""

        def joined() -> bool:
            nonlocal channel
            live = self.service.switchboard.room(ROOM)
            found = [p.channel for p in (live.participants.values() if live else ())]
            found = [c for c in found if self._caller_id(c) == caller_id]
            channel = found[0] if found else ""
            return bool(channel)

        await self.service.roster.wait_until(joined, timeout=30)
        return caller, channel

    def _caller_id(self, channel: str) -> str:
        live = self.service.switchboard.room(ROOM)
        person = live.participants.get(channel) if live else None
        return person.caller_id if person else ""

    def present(self, channel: str) -> bool:
        live = self.service.switchboard.room(ROOM)
        return live is not None and channel in live.participants

    async def stored_reason(self, channel: str) -> str | None:
        await self.service.history.flushed()
        async with self.service.db.sessions() as session:
            leg = (await session.scalars(select(Leg).where(Leg.channel == channel))).one()
        assert leg.left_at is not None
        return leg.leave_reason


@pytest.fixture(scope="module")
async def timers(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TimerStack]:
    state = tmp_path_factory.mktemp("timer-state")
    settings = Settings(
        state_dir=state,
        sip_port=free_udp_and_tcp_port(),
        ami_port=free_port(),
        agi_port=free_port(),
        http_port=free_port(),
        rtp_port_start=(rtp := free_port_range(40)),
        rtp_port_end=rtp + 39,
        rooms_file=E2E_ROOMS,
        guard_first_delay_seconds=0.0,
        sip_session_timer_seconds=SESSION_TIMER,
        log_level="INFO",
    )
    ensure_asterisk(settings.cache_dir, progress=lambda _: None)
    runtime = Runtime(settings, progress=lambda _: None)
    await runtime.start()
    leaves: dict[str, LeaveReason | None] = {}

    def heard(_event: DomainEvent, effects: list[Effect]) -> None:
        # What the roster wrote for history: the leave, then (when Asterisk, busy, sent
        # the hangup cause after ConfbridgeLeave: another event topic) its correction.
        for effect in effects:
            if isinstance(effect, LegClosed | LegReasonCorrected):
                leaves[effect.channel] = effect.reason

    assert runtime.service is not None
    runtime.service.roster.watch(heard)
    try:
        yield TimerStack(runtime, settings, leaves, tmp_path_factory.mktemp("timer-calls"))
    finally:
        await runtime.stop()


@dataclass
class Silent:
    caller: Caller
    channel: str
    joined: float  # time.monotonic()


@pytest.fixture(scope="module")
async def silent(timers: TimerStack) -> AsyncIterator[Silent]:
    """A muted caller who sends no RTP at all after their keys, for longer than SILENCE."""
    caller, channel = await timers.join(stay=SILENCE + 120)
    joined = time.monotonic()
    await timers.service.moderation.mute(ROOM, channel)
    await timers.service.roster.wait_until(
        lambda: timers.service.switchboard.room(ROOM).participants[channel].muted  # type: ignore[union-attr]
    )
    yield Silent(caller, channel, joined)
    await caller.hangup()
    await caller.wait()


@pytest.mark.timeout(SESSION_TIMER + 120)
async def test_a_caller_whose_phone_vanished_is_removed_as_timed_out_within_the_session_timer(
    timers: TimerStack, silent: Silent
) -> None:
    caller, channel = await timers.join(stay=SILENCE)
    assert caller.pid is not None
    os.kill(caller.pid, signal.SIGKILL)  # no BYE, and no answer to the next refresh
    vanished = time.monotonic()
    await caller.wait()

    # Asterisk refreshes within 45 s and gives up on the refresh after SIP's 32 s.
    await timers.service.roster.wait_until(
        lambda: not timers.present(channel), timeout=SESSION_TIMER + 32
    )
    print(f"removed {time.monotonic() - vanished:.0f} s after the phone vanished")
    with contextlib.suppress(TimeoutError):  # the cause may follow the leave by a moment
        await timers.service.roster.wait_until(
            lambda: timers.leaves.get(channel) == LeaveReason.TIMED_OUT, timeout=10
        )
    assert timers.leaves[channel] == LeaveReason.TIMED_OUT
    assert await timers.stored_reason(channel) == "timed out"


async def test_a_kicked_caller_leaves_kicked(timers: TimerStack, silent: Silent) -> None:
    caller, channel = await timers.join(stay=60)
    await timers.service.moderation.kick(ROOM, channel)
    await timers.service.roster.wait_until(lambda: not timers.present(channel))
    assert timers.leaves[channel] == LeaveReason.KICKED
    assert await timers.stored_reason(channel) == "kicked"
    await caller.wait()


async def test_a_caller_who_hangs_up_leaves_hung_up(timers: TimerStack, silent: Silent) -> None:
    caller, channel = await timers.join(stay=60)
    await caller.hangup()
    await timers.service.roster.wait_until(lambda: not timers.present(channel))
    assert timers.leaves[channel] == LeaveReason.HUNG_UP
    assert await timers.stored_reason(channel) == "hung up"


@pytest.mark.timeout(SILENCE + 120)
async def test_a_muted_caller_who_sends_no_audio_for_five_minutes_is_still_in_the_room(
    timers: TimerStack, silent: Silent
) -> None:
    """THE five-minute test: it waits out what is left of the silent caller's five minutes
    (the tests above ran meanwhile). Six session refreshes were answered on the way."""
    await asyncio.sleep(max(0.0, silent.joined + SILENCE - time.monotonic()))

    assert timers.present(silent.channel)
    assert silent.channel not in timers.leaves
    listed = await timers.service.pbx_directory.snapshot()  # Asterisk's own ConfbridgeList
    [room] = [seen for seen in listed.rooms if seen.room == ROOM]
    assert silent.channel in {p.channel for p in room.participants}
    assert next(p for p in room.participants if p.channel == silent.channel).muted
