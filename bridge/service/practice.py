"""Practice rooms, live: simulated callers placed on a scenario's script.

Each simulated caller is the project's own SIP caller (``bridge.sipcaller``: one SIPp
process, real RTP speech and RFC 4733 keys) calling the shared number from a loopback
address of its own, typing the room's PIN and then doing what its part of the scenario
says (``bridge.domain.practice.plan``). Everything else (the PIN dialogue, the roster, the
stack, the panel, the report) is the real path: a practice room is a room.

Only rooms marked ``practice: true`` in the rooms file run one, so their PIN comes from
the rooms file (the database keeps only its hash); a machine runs at most
``practice_max_callers`` simulated callers at a time, all rooms together. Stopping a
practice hangs up every simulated caller and waits for every SIPp process to end.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.domain.practice import (
    FIRST_BLOCK,
    ON_JOIN_PAUSE,
    Plan,
    Scenario,
    ScenarioError,
    SimulatedCaller,
    caller_id,
    loopback_address,
    plan,
)
from bridge.domain.rooms import RoomSpec
from bridge.domain.sources import Source, internet_source
from bridge.errors import ActionRefused, BadField, NoSuchRoom
from bridge.scenarios import BadScenario, read_scenario, shipped, shipped_scenario
from bridge.service.tasks import Tasks
from bridge.sipcaller import SIPP, Caller, CallPlan

log = logging.getLogger(__name__)

# A simulated caller types its PIN when the PIN prompt plays to it (``pin_asked``), as a
# person does; one not asked this long after its call was placed types all the same. SIPp's
# own timer (from the answer) is only a backstop, for a service that never sends the keys.
ASKED_WITHIN = 15.0
SIPP_BACKSTOP = 60.0
STOP_GRACE = 10.0  # seconds for the last SIPp processes to end after their BYE

FindRoom = Callable[[str], Awaitable[RoomSpec | None]]
FilePins = Callable[[], Mapping[str, str]]  # practice rooms' participant PINs, from the file
PinOpens = Callable[[str, str], Awaitable[bool]]  # (room, PIN): does it open that room now?


@dataclass
class PracticeRun:
    """One practice running in one room."""

    room: str
    plan: Plan
    started_by: str
    started_at: float  # time.time()
    workdir: Path
    on_the_line: dict[int, Caller] = field(default_factory=dict)
    placed: int = 0
    failed: int = 0
    stopped_at: float | None = None
    task: asyncio.Task[None] | None = None
    block: int = FIRST_BLOCK  # its callers' addresses (``loopback_address``)

    @property
    def running(self) -> bool:
        return self.stopped_at is None

    def as_json(self) -> dict[str, Any]:
        return {
            "room": self.room,
            "scenario": self.plan.scenario,
            "running": self.running,
            "callers": len(self.plan.callers),
            "speed": self.plan.speed,
            "started_by": self.started_by,
            "started_at": self.started_at,
            "ends_at": self.started_at + self.plan.length,
            "stopped_at": self.stopped_at,
            "on_the_line": len(self.on_the_line),
            "placed": self.placed,
            "failed": self.failed,
            "parts": {name or "listeners": n for name, n in self.plan.counts().items()},
        }


class RoomPractice:
    """The practices running on this machine, one per room at most."""

    def __init__(
        self,
        find_room: FindRoom,
        file_pins: FilePins,
        pin_opens: PinOpens,
        *,
        target: tuple[str, int],
        extension: str,
        workdir: Path,
        max_callers: int,
        changed: Callable[[str], None] = lambda room: None,
    ) -> None:
        self._find_room = find_room
        self._file_pins = file_pins
        self._pin_opens = pin_opens
        self._target = target
        self._extension = extension
        self._workdir = workdir
        self.max_callers = max_callers
        self._changed = changed
        self.runs: dict[str, PracticeRun] = {}
        self._unasked: dict[Source, Caller] = {}  # callers on the line, before the PIN prompt
        self._typing = Tasks(log, "practice.typing_failed")

    def status(self, room: str) -> PracticeRun | None:
        return self.runs.get(room)

    def simulated(self) -> int:
        """Simulated callers of running practices, planned (the cap counts these)."""
        return sum(len(r.plan.callers) for r in self.runs.values() if r.running)

    def scenarios(self) -> list[str]:
        """The shipped scenarios' names, for the panel's choice."""
        return list(shipped())

    async def is_practice(self, room: str) -> bool:
        spec = await self._find_room(room)
        return spec is not None and spec.practice

    async def start(
        self,
        room: str,
        actor: str,
        *,
        scenario: str = "general-assembly",
        scenario_text: str | None = None,
        callers: int | None = None,
        speed: float = 1.0,
    ) -> PracticeRun:
        spec = await self._find_room(room)
        if spec is None:
            raise NoSuchRoom(room, "no such room")
        if not spec.practice:
            raise ActionRefused(
                f"room '{room}' is not a practice room (practice: true in the rooms file)"
            )
        current = self.runs.get(room)
        if current is not None and current.running:
            raise ActionRefused(f"a practice is already running in room '{room}' (stop it first)")
        the_plan = _plan(_scenario(scenario, scenario_text), callers, speed)
        wanted = len(the_plan.callers)
        if self.simulated() + wanted > self.max_callers:
            left = self.max_callers - self.simulated()
            raise ActionRefused(
                f"{wanted} simulated callers asked, {left} left of this machine's "
                f"{self.max_callers} (practice_max_callers)"
            )
        pin = self._file_pins().get(room)
        if not pin:
            raise ActionRefused(
                f"no PIN for room '{room}' in the rooms file: a practice room's callers dial "
                "its PIN from there"
            )
        if not await self._pin_opens(room, pin):
            raise ActionRefused(
                f"the rooms file's PIN for room '{room}' does not open it: apply the file first "
                "(iobridge rooms sync FILE)"
            )
        if shutil.which(SIPP) is None:
            raise ActionRefused("simulated callers need SIPp (Debian package: sip-tester)")
        if not _may_send_raw_packets():
            raise ActionRefused(
                "simulated callers send their audio and keys with SIPp from a raw socket: run "
                "the service as root, or give SIPp the capability once with: "
                f"setcap cap_net_raw+ep {shutil.which(SIPP)}"
            )
        folder = self._workdir / f"{room}-{int(time.time())}"
        taken = {r.block for r in self.runs.values() if r.running}
        block = next(b for b in range(FIRST_BLOCK, 256) if b not in taken)
        run = PracticeRun(room, the_plan, actor, time.time(), folder, block=block)
        self.runs[room] = run
        run.task = asyncio.create_task(self._run(run, pin), name=f"practice:{room}")
        log.info(
            "practice.started room=%s scenario=%s callers=%d speed=%g by=%s",
            room, the_plan.scenario, wanted, speed, actor,
        )  # fmt: skip
        self._changed(room)
        return run

    def pin_asked(self, source: Source) -> None:
        """The PIN prompt is about to play to a call from ``source``: the simulated caller
        on it types its PIN now. Keys that reach Asterisk before the dialogue listens are
        thrown away, so a caller typing on a timer after the answer lost its first key on a
        busy machine, and did not get in."""
        caller = self._unasked.pop(source, None)
        if caller is not None:
            log.debug("practice.asked caller=%s", caller.plan.caller_id)
            self._typing.start(_type_keys(caller), name="practice:typing")

    async def _type_unless_asked(self, source: Source, caller: Caller) -> None:
        """A caller the PIN prompt has not reached within ASKED_WITHIN types all the same
        (whichever of the two takes the caller from ``_unasked`` types: never both)."""
        await asyncio.sleep(ASKED_WITHIN)
        if self._claim(source, caller):
            log.debug("practice.not_asked caller=%s", caller.plan.caller_id)
            await _type_keys(caller)

    def _claim(self, source: Source, caller: Caller) -> bool:
        """Take ``caller`` off the callers still to be asked; False if it was off already
        (asked, or typed for)."""
        if self._unasked.get(source) is not caller:
            return False
        del self._unasked[source]
        return True

    async def stop(self, room: str) -> PracticeRun:
        run = self.runs.get(room)
        if run is None or not run.running:
            raise ActionRefused(f"no practice is running in room '{room}'")
        await self._end(run)
        return run

    async def close(self) -> None:
        """At shutdown: every practice stopped, every simulated caller hung up."""
        await asyncio.gather(*(self._end(r) for r in self.runs.values() if r.running))
        self._typing.cancel()

    async def _end(self, run: PracticeRun) -> None:
        if run.task is not None and not run.task.done():
            run.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await run.task
        if run.stopped_at is None:
            run.stopped_at = time.time()
            log.info(
                "practice.stopped room=%s placed=%d failed=%d", run.room, run.placed, run.failed
            )
            self._changed(run.room)

    async def _run(self, run: PracticeRun, pin: str) -> None:
        t0 = time.monotonic()
        tasks = [
            asyncio.create_task(
                self._caller(run, pin, sim, t0), name=f"practice:{run.room}:{sim.index}"
            )
            for sim in run.plan.callers
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            # Each caller's own clean-up hangs up its call: wait for all of them.
            await asyncio.gather(*tasks, return_exceptions=True)
            shutil.rmtree(run.workdir, ignore_errors=True)
            if run.stopped_at is None:
                run.stopped_at = time.time()
                log.info(
                    "practice.finished room=%s placed=%d failed=%d",
                    run.room,
                    run.placed,
                    run.failed,
                )
                self._changed(run.room)

    async def _caller(self, run: PracticeRun, pin: str, sim: SimulatedCaller, t0: float) -> None:
        for n, call in enumerate(sim.calls):
            await _sleep_until(t0 + call.start)
            keys = f"{pin}#" + ("," * ON_JOIN_PAUSE + call.on_join if call.on_join else "")
            host, port = self._target
            phone = CallPlan(
                target_host=host,
                target_port=port,
                extension=self._extension,
                keys=keys,
                keys_on_request=True,
                key_delay=SIPP_BACKSTOP,
                audio=sim.talks,
                stay=max(1.0, call.end - call.start),
                caller_id=caller_id(sim.index),
                later_keys=tuple(p.keys for p in call.presses),
                local_ip=loopback_address(sim.index, run.block),
            )
            caller = Caller(phone, run.workdir / f"caller-{sim.index}-{n + 1}")
            try:
                await caller.start()  # SIPp started: its INVITE is still to come
            except OSError as exc:
                run.failed += 1
                log.warning(
                    "practice.call_failed room=%s caller=%d error=%s", run.room, sim.index, exc
                )
                continue
            run.placed += 1
            run.on_the_line[sim.index] = caller
            source = internet_source(phone.local_ip or "")
            self._unasked[source] = caller
            unasked = self._typing.start(self._type_unless_asked(source, caller))
            try:
                for press in call.presses:
                    await _sleep_until(t0 + press.at)
                    with contextlib.suppress(RuntimeError):  # the call ended early: no key
                        await caller.press(press.keys)
                await _sleep_until(t0 + call.end)
            finally:
                run.on_the_line.pop(sim.index, None)
                unasked.cancel()
                self._claim(source, caller)  # hung up before it was asked
                await asyncio.shield(_hang_up(caller))


async def _type_keys(caller: Caller) -> None:
    try:
        await caller.type_keys()
    except (RuntimeError, OSError) as exc:  # hung up meanwhile
        log.debug("practice.not_typed caller=%s error=%s", caller.plan.caller_id, exc)


async def _hang_up(caller: Caller) -> None:
    try:
        await asyncio.wait_for(caller.hangup(), STOP_GRACE)
    except (TimeoutError, OSError) as exc:
        log.warning("practice.hangup_failed error=%s", exc or type(exc).__name__)


async def _sleep_until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


def _scenario(name: str, text: str | None) -> Scenario:
    try:
        return read_scenario(text, "scenario") if text else shipped_scenario(name)
    except BadScenario as exc:
        raise BadField(str(exc)) from None


def _plan(scenario: Scenario, callers: int | None, speed: float) -> Plan:
    try:
        return plan(scenario, callers, speed)
    except ScenarioError as exc:
        raise BadField(str(exc)) from None


def _may_send_raw_packets() -> bool:
    """Root, or SIPp with a file capability (``setcap cap_net_raw+ep``)."""
    if os.geteuid() == 0:
        return True
    sipp = shutil.which(SIPP)
    try:
        return sipp is not None and bool(os.getxattr(sipp, "security.capability"))
    except OSError:
        return False
