"""How fast the roster follows a busy room. Prints figures; asserts nothing.

    .venv/bin/python -m bench.roster_bench

The scenario: one room, 300 callers who come in on the shared number and join (a few as
moderators, some muted on entry), then an hour of talk-detection storms, mutes and
unmutes, then everyone leaves and hangs up. It is measured three ways:

(a) the reducer alone: ``Switchboard.apply`` over the scenario's domain events;
(b) the whole AMI-in path in one process: the raw AMI wire text, split as panoramisk's
    ``AMIProtocol.data_received`` does, each message parsed by ``Message.from_line``,
    turned into a domain event by ``ami_events.to_domain``, applied to a ``Switchboard``,
    its effects handed on (a list stands in for the history writer) and a ``Change``
    published on a ``Hub`` to two subscribers that drain their queues on the event loop;
(c) baselines measured in the same run, so the figures compare across machines: the
    same split and ``Message.from_line`` parsing with nothing after it, and a plain
    ``dict(headers)`` copy of every message.

Each figure is the best and the median of several repetitions (time.perf_counter).
"""

from __future__ import annotations

import asyncio
import gc
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from panoramisk.message import Message
from panoramisk.utils import EOL

from bench.roster_scenario import (
    PARTICIPANTS,
    ROOM,
    START,
    Headers,
    chunks,
    scenario,
    to_wire,
)
from bridge.asterisk.ami_events import to_domain
from bridge.domain.events import (
    DomainEvent,
    Resynced,
    Role,
    SeenParticipant,
    SeenRoom,
)
from bridge.domain.roster import Effect, Switchboard
from bridge.hub import Hub, Subscription
from bridge.service import Change

# ---- the three measurements -------------------------------------------------------------------


@dataclass
class Figure:
    name: str
    items: int
    seconds: list[float]

    @property
    def best(self) -> float:
        return self.items / min(self.seconds)

    @property
    def median(self) -> float:
        return self.items / statistics.median(self.seconds)


def timed(reps: int, prepare: Callable[[], Callable[[], object]]) -> list[float]:
    """Run ``prepare()`` untimed, then time the callable it returns; ``reps`` times."""
    seconds = []
    for _ in range(reps):
        run = prepare()
        gc.collect()
        started = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - started)
    return seconds


def reducer_run(events: list[DomainEvent]) -> Callable[[], object]:
    board = Switchboard()
    apply = board.apply

    def run() -> int:
        written = 0
        for event in events:
            written += len(apply(event))
        return written

    return run


def resync_run(participants: int) -> Callable[[], object]:
    """A reconnect finds the 300 still there: the snapshot applied to a roster that knows them."""
    people = tuple(
        SeenParticipant(
            f"PJSIP/anonymous-{n:08x}",
            f"+4930555{n:05d}",
            Role.PARTICIPANT,
            n % 3 != 0,
            n % 17 == 0,
        )
        for n in range(participants)
    )
    snapshot = Resynced((SeenRoom(ROOM, False, people),), START, ())
    board = Switchboard()
    board.apply(snapshot)
    later = Resynced(snapshot.rooms, START + 60, tuple(p.channel for p in people))

    def run() -> int:
        return len(board.apply(later))

    return run


class AmiPath:
    """Raw AMI bytes in, Hub subscribers out: what BridgeService.on_ami_event does."""

    def __init__(self) -> None:
        self.board = Switchboard()
        self.hub: Hub[Change] = Hub()
        self.history: list[Effect] = []  # stands in for HistoryWriter.submit
        self.published = 0
        self.received = [0, 0]
        self.kept = 0  # subscribers still subscribed at the end (none dropped: 2)

    def on_message(self, message: Message) -> None:
        event = to_domain(message)
        if event is None:
            return
        effects = self.board.apply(event)
        if effects:
            self.history.extend(effects)
        self.hub.publish(Change(getattr(event, "room", None), event))
        self.published += 1

    async def run(self, data: bytes) -> None:
        async with self.hub.subscribe("panel") as a, self.hub.subscribe("watcher") as b:
            readers = [
                asyncio.create_task(self._drain(a, 0)),
                asyncio.create_task(self._drain(b, 1)),
            ]
            leftover = ""
            for chunk in chunks(data):
                # panoramisk's AMIProtocol.data_received, minus its logging
                text = leftover + chunk.decode("ascii", "ignore")
                lines = text.split(EOL + EOL)
                leftover = lines.pop(-1)
                for line in lines:
                    message = Message.from_line(line.strip())
                    if message is not None:
                        self.on_message(message)
                await asyncio.sleep(0)  # the loop runs the subscribers between reads
            await a.queue.join()  # every change delivered to both
            await b.queue.join()
            self.kept = self.hub.subscriber_count
            for reader in readers:
                reader.cancel()
            await asyncio.gather(*readers, return_exceptions=True)

    async def _drain(self, sub: Subscription[Change], slot: int) -> None:
        while True:
            await sub.get()
            self.received[slot] += 1
            sub.queue.task_done()


def ami_path_seconds(data: bytes, reps: int) -> tuple[list[float], AmiPath]:
    async def main() -> tuple[list[float], AmiPath]:
        seconds = []
        path = AmiPath()
        for _ in range(reps):
            path = AmiPath()
            gc.collect()
            started = time.perf_counter()
            await path.run(data)
            seconds.append(time.perf_counter() - started)
        return seconds, path

    return asyncio.run(main())


def parse_run(data: bytes) -> Callable[[], object]:
    def run() -> int:
        parsed = 0
        leftover = ""
        for chunk in chunks(data):
            text = leftover + chunk.decode("ascii", "ignore")
            lines = text.split(EOL + EOL)
            leftover = lines.pop(-1)
            for line in lines:
                if Message.from_line(line.strip()) is not None:
                    parsed += 1
        return parsed

    return run


def dict_copy_run(messages: list[Headers]) -> Callable[[], object]:
    def run() -> int:
        total = 0
        for headers in messages:
            total += len(dict(headers))
        return total

    return run


# ---- report -----------------------------------------------------------------------------------


def _rate(per_second: float) -> str:
    return f"{per_second / 1000:9.1f} k/s"


def _row(figure: Figure, unit: str) -> str:
    us = 1e6 / figure.best
    return (
        f"  {figure.name:<50} best {_rate(figure.best)}   median {_rate(figure.median)}"
        f"   ({us:6.2f} us/{unit})"
    )


def main() -> None:
    started = time.perf_counter()
    messages = scenario()
    data = to_wire(messages)
    events = [e for e in (to_domain(m) for m in messages) if e is not None]
    kinds: dict[str, int] = {}
    for event in events:
        kinds[type(event).__name__] = kinds.get(type(event).__name__, 0) + 1

    print(f"roster benchmark: Python {platform.python_version()} on {platform.machine()}")
    print(
        f"scenario: {PARTICIPANTS} participants in one room; {len(messages)} AMI messages "
        f"({len(data) / 1e6:.1f} MB of wire text), {len(events)} of them domain events"
    )
    print("  " + ", ".join(f"{name} {count}" for name, count in sorted(kinds.items())))

    reducer = Figure("(a) Switchboard.apply", len(events), timed(15, lambda: reducer_run(events)))
    resync = Figure(
        f"(a) resync of a {PARTICIPANTS}-person room", 1, timed(15, lambda: resync_run(300))
    )
    path_seconds, last = ami_path_seconds(data, 5)
    path = Figure("(b) AMI path: bytes->Message->event->roster->hub", len(messages), path_seconds)
    parse = Figure(
        "(c) baseline: split + Message.from_line only",
        len(messages),
        timed(5, lambda: parse_run(data)),
    )
    copy = Figure(
        "(c) baseline: dict(headers) copy",
        len(messages),
        timed(15, lambda: dict_copy_run(messages)),
    )

    print()
    print("throughput (items per second; more is better):")
    print(_row(reducer, "event"))
    print(_row(path, "message"))
    print(_row(parse, "message"))
    print(_row(copy, "message"))
    resync_ms = min(resync.seconds) * 1000
    print(
        f"  {resync.name:<50} best {resync_ms:7.2f} ms   "
        f"median {statistics.median(resync.seconds) * 1000:7.2f} ms"
    )
    print(
        f"  (b) check: {last.published} domain events published, "
        f"{last.received[0]} and {last.received[1]} received, "
        f"{len(last.history)} effects for history, {last.kept} of 2 subscribers kept"
    )

    print()
    print("relative to the baselines (best figures; comparable across machines):")
    print(f"  reducer events/s  / dict copies/s      = {reducer.best / copy.best:6.3f}")
    print(f"  AMI path msgs/s   / dict copies/s      = {path.best / copy.best:6.3f}")
    print(f"  AMI path msgs/s   / parse-only msgs/s  = {path.best / parse.best:6.3f}")
    parse_share = (1 / parse.best) / (1 / path.best)
    print(f"  share of the AMI path spent in panoramisk's parsing = {parse_share:6.1%}")
    sustained = path.best * len(events) / len(messages)
    print(f"  domain events/s the whole path sustains at this mix  = {sustained / 1000:6.1f} k/s")
    print(f"\ntook {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
