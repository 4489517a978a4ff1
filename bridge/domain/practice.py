"""A practice room: simulated callers on a script, for moderators to rehearse with.

Pure rules. A *scenario* says how many callers come, over how long, and what parts of them
do: talk (speech from the moment they are in, heard whenever they are unmuted), press keys
at set times (``*9`` a hand, ``*8`` a direct response, ``*7`` a point of process), drop and
call back. ``plan`` turns a scenario into one script per simulated caller (when they join,
what they press and when, when they leave and come back), deterministic for a scenario, a
number of callers and a speed. The service (``bridge.service.practice``) places the calls;
the scenario files are read by ``bridge.scenarios``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

KEYS = frozenset("0123456789*#")
MAX_PARTS = 20
MAX_SCENARIO_CALLERS = 300  # what a file may ask; the machine's own cap is a setting
MAX_MINUTES = 240
MIN_SPEED, MAX_SPEED = 0.1, 10.0
# Seconds after a caller's call starts before a scripted key can count: the PIN prompt, the
# PIN, and the join announcements come first (a key pressed before the caller is in the
# room would be lost).
JOIN_SETTLE = 12.0
ON_JOIN_PAUSE = 5  # one-second pauses between the PIN's "#" and a talker's keys on joining


class ScenarioError(ValueError):
    """A scenario that cannot run, with the path of the field at fault ("parts[2].presses")."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


@dataclass(frozen=True)
class Press:
    at: float  # seconds from the scenario's start (at speed 1.0)
    keys: str


@dataclass(frozen=True)
class Part:
    """Some of the callers, all doing the same thing."""

    name: str
    callers: int
    talks: bool = False
    on_join: str = ""  # keys pressed as they come in (the only keys a talker presses)
    presses: tuple[Press, ...] = ()
    leaves_at: float | None = None  # seconds from the start: they hang up ...
    calls_back_after: float | None = None  # ... and call back this much later

    def problems(self, path: str, length: float) -> list[ScenarioError]:
        found = []
        if not self.name.strip():
            found.append(ScenarioError(f"{path}.name", "must not be empty"))
        if self.callers < 1:
            found.append(ScenarioError(f"{path}.callers", "must be 1 or more"))
        if self.on_join and not set(self.on_join) <= KEYS:
            found.append(ScenarioError(f"{path}.on_join", "keys are 0-9, * and # only"))
        if self.talks and self.presses:
            message = "a caller who talks presses keys only as they join (use on_join)"
            found.append(ScenarioError(f"{path}.presses", message))
        for n, press in enumerate(self.presses):
            where = f"{path}.presses[{n}]"
            if not press.keys or not set(press.keys) <= KEYS:
                found.append(ScenarioError(f"{where}.keys", "keys are 0-9, * and # only"))
            if not 0 <= press.at < length:
                found.append(ScenarioError(f"{where}.at", f"must be within 0 and {length:g} s"))
        if self.leaves_at is not None and not 0 < self.leaves_at < length:
            found.append(ScenarioError(f"{path}.leaves_at", f"must be within 0 and {length:g} s"))
        if self.calls_back_after is not None:
            if self.leaves_at is None:
                message = "needs leaves_at (a caller calls back after leaving)"
                found.append(ScenarioError(f"{path}.calls_back_after", message))
            elif self.calls_back_after <= 0:
                found.append(ScenarioError(f"{path}.calls_back_after", "must be more than 0"))
        return found


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    callers: int  # how many it is written for; the rest after the parts only listen
    minutes: float
    join_over: float = 60.0  # seconds over which the callers arrive
    parts: tuple[Part, ...] = ()

    @property
    def length(self) -> float:
        return self.minutes * 60

    def problems(self) -> list[ScenarioError]:
        found = []
        if not 1 <= self.callers <= MAX_SCENARIO_CALLERS:
            message = f"must be within 1 and {MAX_SCENARIO_CALLERS}"
            found.append(ScenarioError("callers", message))
        if not 0 < self.minutes <= MAX_MINUTES:
            found.append(ScenarioError("minutes", f"must be more than 0 and {MAX_MINUTES} at most"))
        if not 0 <= self.join_over < self.length:
            found.append(ScenarioError("join_over", "must be 0 or more, and less than the length"))
        if len(self.parts) > MAX_PARTS:
            found.append(ScenarioError("parts", f"at most {MAX_PARTS} parts"))
        names: set[str] = set()
        for n, part in enumerate(self.parts):
            found += part.problems(f"parts[{n}]", self.length)
            if part.name in names:
                message = f"another part is already named {part.name!r}"
                found.append(ScenarioError(f"parts[{n}].name", message))
            names.add(part.name)
        given = sum(part.callers for part in self.parts)
        if given > self.callers:
            message = f"the parts have {given} callers, more than the scenario's {self.callers}"
            found.append(ScenarioError("parts", message))
        return found

    def checked(self) -> Scenario:
        """This scenario, or the first of its problems raised."""
        problems = self.problems()
        if problems:
            raise problems[0]
        return self


@dataclass(frozen=True)
class Call:
    """One call a simulated caller places: from ``start`` to ``end`` (seconds from the
    scenario's start, at the speed asked), keys typed on joining, keys pressed later."""

    start: float
    end: float
    on_join: str
    presses: tuple[Press, ...]


@dataclass(frozen=True)
class SimulatedCaller:
    index: int  # 1, 2, ...: their caller ID and loopback address follow from it
    part: str  # "" for a listener
    talks: bool
    calls: tuple[Call, ...]  # one, or two for a caller who drops and calls back


@dataclass(frozen=True)
class Plan:
    scenario: str
    speed: float
    length: float  # seconds at the speed asked
    callers: tuple[SimulatedCaller, ...] = field(default=())

    def counts(self) -> dict[str, int]:
        """How many callers play each part ("" are the listeners)."""
        found: dict[str, int] = {}
        for caller in self.callers:
            found[caller.part] = found.get(caller.part, 0) + 1
        return found


def check_speed(speed: float) -> float:
    if not MIN_SPEED <= speed <= MAX_SPEED:
        raise ScenarioError("speed", f"must be within {MIN_SPEED:g} and {MAX_SPEED:g}")
    return speed


def part_sizes(scenario: Scenario, callers: int) -> list[int]:
    """Each part's number of callers for ``callers`` in all: scaled from the scenario's own
    count, every part kept (at least one caller each) while there are callers to give."""
    if callers < 1:
        raise ScenarioError("callers", "must be 1 or more")
    scale = callers / scenario.callers
    sizes = [max(1, round(part.callers * scale)) for part in scenario.parts]
    while sum(sizes) > callers:  # rounding up, or fewer callers than parts: trim the biggest
        biggest = max(range(len(sizes)), key=lambda n: (sizes[n], -n))
        sizes[biggest] -= 1
    return sizes


def plan(scenario: Scenario, callers: int | None = None, speed: float = 1.0) -> Plan:
    """One script per simulated caller. Arrivals are spread evenly over ``join_over``, the
    parts interleaved (each part's callers spread over the whole arrival), the same every
    time."""
    scenario.checked()
    check_speed(speed)
    total = scenario.callers if callers is None else callers
    sizes = part_sizes(scenario, total)
    groups: list[tuple[Part | None, int]] = list(zip(scenario.parts, sizes, strict=True))
    groups.append((None, total - sum(sizes)))  # the listeners
    # The k-th of a group of n arrives at (k + 1/2) / n of the way: every group spread evenly.
    spread_out = sorted(
        ((k + 0.5) / size, rank, role)
        for rank, (role, size) in enumerate(groups)
        for k in range(size)
    )
    roles = [role for _, _, role in spread_out]
    length = scenario.length / speed
    spread = scenario.join_over / speed
    made = []
    for n, role in enumerate(roles):
        join_at = spread * n / total
        made.append(_caller(n + 1, role, join_at, length, speed))
    return Plan(scenario.name, speed, length, tuple(made))


def _caller(
    index: int, part: Part | None, join_at: float, length: float, speed: float
) -> SimulatedCaller:
    if part is None:
        return SimulatedCaller(index, "", False, (Call(join_at, length, "", ()),))
    presses = [Press(p.at / speed, p.keys) for p in part.presses]
    leaves = part.leaves_at / speed if part.leaves_at is not None else None
    if leaves is not None and leaves <= join_at + JOIN_SETTLE:
        leaves = None  # they would leave before they are in: they come, and stay
    first_end = leaves if leaves is not None else length
    calls = [Call(join_at, first_end, part.on_join, _within(presses, join_at, 0.0, first_end))]
    if leaves is not None and part.calls_back_after is not None:
        back = leaves + part.calls_back_after / speed
        if back < length - JOIN_SETTLE:
            calls.append(Call(back, length, part.on_join, _within(presses, back, back, length)))
    return SimulatedCaller(index, part.name, part.talks, tuple(calls))


def _within(presses: list[Press], start: float, since: float, end: float) -> tuple[Press, ...]:
    """The presses a call starting at ``start`` makes: those meant from ``since`` until it
    ends, none before the caller is in (an earlier one waits until then), in time order."""
    earliest = start + JOIN_SETTLE
    kept = [Press(max(p.at, earliest), p.keys) for p in presses if since <= p.at < end]
    return tuple(sorted((p for p in kept if p.at < end), key=lambda p: p.at))


def caller_id(index: int) -> str:
    return f"practice{index:03d}"


FIRST_BLOCK = 77  # the first practice's callers call from 127.77.x.y, a second's 127.78.x.y


def loopback_address(index: int, block: int = FIRST_BLOCK) -> str:
    """Each simulated caller calls from an address of its own (127.``block``.x.y), so the
    guard's per-source counts and the entry's per-source cap see separate phones (and two
    practices running at once, each in its own block, see each other's apart)."""
    if not 1 <= index <= 250 * 250:
        raise ValueError(f"no loopback address for caller {index}")
    return f"127.{block}.{1 + (index - 1) // 250}.{1 + (index - 1) % 250}"


@dataclass(frozen=True)
class PracticeChanged:
    """A practice started, stopped or ended in ``room`` (the panels show its state)."""

    room: str
