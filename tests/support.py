"""Test harness pieces: free ports, a private PostgreSQL, and an AMI watcher that waits for
Asterisk's own events. Shared by the fixtures in conftest.py and by the benchmarks."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pydantic import SecretStr

from bridge.asterisk import recorder
from bridge.asterisk.ami import AmiClient
from bridge.domain.pins import PinKey
from bridge.domain.roster import Switchboard
from bridge.logs import LineFormatter
from bridge.web import render

# The PIN key of tests that hash PINs themselves (a service or CLI makes its own in its
# state folder).
TEST_PIN_KEY = PinKey(b"io-bridge tests: a PIN key that is no secret")
# How long a test waits for a caller to be in their room: answer, the PIN dialogue, and for a
# room's first caller ConfBridge's "only person" prompt, about 8 s on a quiet box; CI runs four
# workers on two cores, where one join took over 15 s.
JOIN_SECONDS = 40.0


def _ephemeral_ports() -> range:
    """The ports the kernel hands to outgoing connections; a test port must stay out of it,
    or a client socket (an AMI login, a SIPp call, a browser) may take it between the check
    and the bind."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return range(int(low), int(high) + 1)
    except (OSError, ValueError):
        return range(32768, 61000)


def _test_ports() -> range:
    ephemeral = _ephemeral_ports()
    if ephemeral.start - 10000 >= 4000:
        ports = range(10000, ephemeral.start)
    else:
        ports = range(ephemeral.stop, 65536)
    return _share_of_this_worker(ports)


def _share_of_this_worker(ports: range) -> range:
    """Under pytest-xdist each worker runs its own Asterisk and service: each takes its
    ports from its own slice, so two workers never race for one port."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    if not worker.startswith("gw") or count <= 1:
        return ports
    index = int(worker[2:])
    size = len(ports) // count
    return range(ports.start + index * size, ports.start + (index + 1) * size)


_handed_out: set[int] = set()
# Each process starts at its own offset, so two sessions (the suite and a benchmark) on one
# machine rarely try the same ports first.
_cursor = [os.getpid() * 101]


def _bindable(port: int, kinds: tuple[int, ...], ip: str = "127.0.0.1") -> bool:
    for kind in kinds:
        with socket.socket(socket.AF_INET, kind) as sock:
            try:
                sock.bind((ip, port))
            except OSError:
                return False
    return True


def _blocks(size: int) -> Iterator[range]:
    """Every block of ``size`` consecutive ports among this worker's test ports, once,
    from where the last search stopped (so a port is not looked at again soon)."""
    ports = _test_ports()
    span = len(ports) - size
    for _ in range(span):
        start = ports.start + _cursor[0] % span
        _cursor[0] += 1
        yield range(start, start + size)


def _take(size: int, kinds: tuple[int, ...]) -> int:
    """The first of ``size`` consecutive ports, outside the ephemeral range, free for every
    socket kind in ``kinds`` and never handed out before in this process."""
    for block in _blocks(size):
        if _handed_out.isdisjoint(block) and all(_bindable(p, kinds) for p in block):
            _handed_out.update(block)
            _cursor[0] += size
            return block.start
    raise RuntimeError(f"no {size} free consecutive ports in {_test_ports()}")


def lent_udp_ports(size: int, ip: str, held: set[int]) -> int:
    """The first of ``size`` consecutive UDP ports free on ``ip`` (an even first one), from
    this worker's test ports, neither handed out for good (``_take``) nor in ``held``: lent
    to a test caller, whose owner keeps them in ``held`` while the call is on."""
    for block in _blocks(size):
        if block.start % 2 or not (_handed_out.isdisjoint(block) and held.isdisjoint(block)):
            continue
        if all(_bindable(p, (socket.SOCK_DGRAM,), ip) for p in block):
            return block.start
    raise RuntimeError(f"no {size} free consecutive UDP ports on {ip} in {_test_ports()}")


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    return _take(1, (kind,))


def free_udp_and_tcp_port() -> int:
    """A port free for both UDP and TCP (SIP binds UDP; keep TCP clear too)."""
    return _take(1, (socket.SOCK_DGRAM, socket.SOCK_STREAM))


def free_port_range(size: int) -> int:
    """The start of ``size`` consecutive free UDP ports (for RTP)."""
    return _take(size, (socket.SOCK_DGRAM,))


class AmiWatcher:
    """A second AMI connection that keeps every event, so tests assert on Asterisk's own
    words (ConfbridgeJoin, ConfbridgeMute ...) rather than on the service's belief."""

    def __init__(
        self, port: int, username: str, secret: SecretStr, host: str = "127.0.0.1"
    ) -> None:
        self.events: list[dict[str, Any]] = []
        self._changed = asyncio.Event()
        self.client = AmiClient(host, port, username, secret, self._keep, self._state)
        self._task: asyncio.Task[None] | None = None

    def _keep(self, message: Any) -> None:
        self.events.append(dict(message.items()))
        self._changed.set()

    async def _state(self, up: bool) -> None:
        return None

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.client.run())
        await asyncio.wait_for(self.client.connected.wait(), 15)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        await self.client.close()

    def mark(self) -> int:
        """A position in the event log; wait_for(since=mark) looks only at later events."""
        return len(self.events)

    def saw(self, match: Callable[[dict[str, Any]], bool], since: int = 0) -> bool:
        """Whether a matching event arrived after ``since`` (for what must NOT happen)."""
        return any(match(item) for item in self.events[since:])

    async def wait_for(
        self, match: Callable[[dict[str, Any]], bool], since: int = 0, timeout: float = 15.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        seen = since
        while True:
            for event in self.events[seen:]:
                if match(event):
                    return event
            seen = len(self.events)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no matching AMI event within {timeout} s")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                continue


async def eventually(check: Callable[[], Any], timeout: float = 10.0, every: float = 0.2) -> None:
    """Poll ``check`` (sync or async) until it returns true; for states no event announces."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        await asyncio.sleep(every)


class KeypadAnswers(logging.Handler):
    """The callers who heard the answer to a key, from the keypad's own log record
    (``keypad.answered channel=...``, at DEBUG, written once the answer has played): a test
    presses nothing while an answer plays, as a person would not (the caller is in the keys'
    dialplan then, and ConfBridge's menu does not hear them)."""

    LOGGER = "bridge.asterisk.keypad"
    _ANSWERED = re.compile(r"keypad\.answered channel=(\S+) key=\S+ heard=(\S+)")

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.channels: list[str] = []
        self.answers: list[str] = []  # what each heard, beside ``channels``

    def emit(self, record: logging.LogRecord) -> None:
        found = self._ANSWERED.match(record.getMessage())
        if found is not None:
            self.channels.append(found.group(1))
            self.answers.append(found.group(2))

    def said(self, channel: str, since: int) -> str | None:
        """What ``channel`` heard last after ``since`` (a ``PROMPTS`` name, or "nothing")."""
        pairs = zip(self.channels[since:], self.answers[since:], strict=True)
        mine = [answer for heard_by, answer in pairs if heard_by == channel]
        return mine[-1] if mine else None

    def mark(self) -> int:
        """A position among the answers; ``heard(channel, since=mark)`` looks only later."""
        return len(self.channels)

    def heard(self, channel: str, since: int) -> bool:
        return channel in self.channels[since:]


Watcher = TypeVar("Watcher", bound=logging.Handler)


def log_watcher(kind: type[Watcher]) -> Watcher:
    """The one ``kind`` of handler on its logger (``kind.LOGGER``) in this test process, set
    up at first use: the service's DEBUG records, read by a test."""
    logger = logging.getLogger(kind.LOGGER)  # type: ignore[attr-defined]
    for handler in logger.handlers:
        if isinstance(handler, kind):
            return handler
    watcher = kind()
    logger.addHandler(watcher)
    logger.setLevel(logging.DEBUG)
    return watcher


def keypad_answers() -> KeypadAnswers:
    """The one watcher of the keypad's answers in this test process."""
    return log_watcher(KeypadAnswers)


def event(name: str, **fields: str) -> Callable[[dict[str, Any]], bool]:
    """A matcher for an AMI event by name and exact field values."""

    def match(item: dict[str, Any]) -> bool:
        return item.get("Event") == name and all(str(item.get(k)) == v for k, v in fields.items())

    return match


# ---- the workers' start -----------------------------------------------------------------


def shared_temp(factory: pytest.TempPathFactory) -> Path:
    """The folder all of this run's workers' temp folders are in (a run of one process:
    its own), for what the workers share (``startup_slot``)."""
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextlib.asynccontextmanager
async def startup_slot(shared: Path, slots: int | None = None) -> AsyncIterator[None]:
    """One of ``slots`` places (one per core) in which the session's workers start their
    heavy processes (Asterisk and the service, Chromium), taken in turn through lock files in
    ``shared`` (``shared_temp``). Eight workers starting all of
    them at once kept both cores busy for half a minute, and the first tests, run in that
    storm, timed out in CI: now a worker waits its turn (a tenth of a second at a time)."""
    cores = len(os.sched_getaffinity(0))  # the cores this process may use, not the box's
    places = [shared / f"startup-slot-{n}.lock" for n in range(slots or cores)]
    while True:
        for place in places:
            with place.open("w") as lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue
                yield  # the lock goes with the file, when it closes
                return
        await asyncio.sleep(0.1)


@contextmanager
def service_log(path: Path) -> Iterator[None]:
    """The service's records (INFO and up, and those a test watches at DEBUG) also written
    to ``path``, the worker's own file next to its temp folders: what a failed CI run's
    service said stays on the machine after the run (pytest keeps the last three runs). A
    test that wants the service's DEBUG records sets the ``bridge`` logger's level itself."""
    logger = logging.getLogger("bridge")
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(LineFormatter())
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        handler.close()


# ---- a private PostgreSQL from Debian's packages ---------------------------------------


def postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


@contextmanager
def private_postgres(workdir: Path) -> Iterator[str]:
    """initdb + pg_ctl on a free port in ``workdir``; yields an asyncpg URL. PostgreSQL
    refuses to run as root, so when we are root it runs as the 'postgres' user."""
    bindir = postgres_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed (Debian package: postgresql)")
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    prefix: list[str] = []
    if os.geteuid() == 0:
        # pytest's temp folders are 0700 root: 'postgres' could not reach one below them.
        workdir = Path(tempfile.mkdtemp(prefix="iobridge-pg-"))
        shutil.chown(workdir, "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    data = workdir / "pgdata"
    run = lambda *argv: subprocess.run(  # noqa: E731
        [*prefix, *argv], check=True, capture_output=True, text=True, timeout=120
    )
    run(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
    run(
        str(bindir / "pg_ctl"), "-D", str(data), "-l", str(workdir / "pg.log"), "-w", "start",
        "-o", f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off",
    )  # fmt: skip
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True, timeout=60, check=False,
        )  # fmt: skip
        shutil.rmtree(workdir, ignore_errors=True)


def recorder_event(name: str, room: str) -> Callable[[dict[str, Any]], bool]:
    """The bridge's recorder (a Local channel) joining or leaving ``room``."""
    return lambda item: (
        item.get("Event") == name
        and item.get("Conference") == room
        and recorder.is_recorder(str(item.get("Channel", "")))
    )


def roster_rows(switchboard: Switchboard, room: str) -> list[dict[str, Any]]:
    """A room's participants as the API shows them, in the order they joined (none when
    nobody is in it): the tests watch the roster the service keeps."""
    live = switchboard.room(room)
    now = time.time()
    people = sorted(live.participants.values(), key=lambda p: p.joined_at) if live else []
    return [render.participant(person, now) for person in people]


def is_recording(switchboard: Switchboard, room: str) -> bool:
    live = switchboard.room(room)
    return live is not None and live.recording


async def cut_service_lock_holder(url: str) -> int:
    """End the PostgreSQL session that holds io-bridge's service lock, as a network cut
    would; how many sessions were ended."""
    import asyncpg

    from bridge.store.service_lock import LOCK_KEY

    server = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        return int(
            await server.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_locks "
                "WHERE locktype = 'advisory' AND granted "
                "AND (classid::bigint << 32 | objid::bigint) = $1",
                LOCK_KEY,
            )
        )
    finally:
        await server.close()
