"""Fixtures. Unit tests need none of the heavy ones: the real Asterisk, the service and
PostgreSQL start only when a test asks for them, once per test session."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from bridge.asterisk.install import ensure_asterisk
from bridge.runtime import Runtime
from bridge.service import BridgeService
from bridge.settings import Settings
from tests.support import (
    AmiWatcher,
    free_port,
    free_port_range,
    free_udp_and_tcp_port,
    private_postgres,
    service_log,
    shared_temp,
    startup_slot,
)

DATA = Path(__file__).parent / "data"
E2E_ROOMS = DATA / "rooms-e2e.yaml"


# Settings an admin exported for their own stack must not reach the tests, and no test may
# write to the admin's own state folder: the default one is a fresh folder per session.
KEPT_SETTINGS = {
    "IOBRIDGE_REQUIRE_POSTGRES",
    "IOBRIDGE_CACHE_DIR",
    "IOBRIDGE_DEBIAN_MIRROR",
    "IOBRIDGE_DEBIAN_SUITE",
    "IOBRIDGE_ASTERISK_BINARY",
    "IOBRIDGE_ASTERISK_PREFER_SYSTEM",
}


@pytest.fixture(scope="session", autouse=True)
def isolated_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    saved = dict(os.environ)
    for key in list(os.environ):
        if key.startswith("IOBRIDGE_") and key not in KEPT_SETTINGS:
            del os.environ[key]
    os.environ.pop("STATE_DIRECTORY", None)
    os.environ["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("xdg-state"))
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def pytest_configure(config: pytest.Config) -> None:
    # pytest-xdist would hand files out by their number of tests, most first: the order below
    # would be lost, and the one-test browser files (half a minute each) went out last.
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


# The order files are handed out in, slowest first (pytest-xdist gives each free worker the
# next): the quick files come last, to fill in while the last slow ones end.
PROCESS_FOLDERS = ("tests/integration", "tests/browser", "tests/install")  # Asterisk, Chromium, pip
DATABASE_FOLDERS = ("tests/store", "tests/cli", "tests/adapters")  # PostgreSQL, the service


def _slowness(item: pytest.Item) -> int:
    if item.get_closest_marker("long") is not None:  # minutes of waiting on a clock
        return 0
    where = str(item.path)
    if any(folder in where for folder in PROCESS_FOLDERS):
        return 1
    if any(folder in where for folder in DATABASE_FOLDERS) or _tries_examples(item):
        return 2
    return 3


def _tries_examples(item: pytest.Item) -> bool:
    """A module of hypothesis tests: hundreds of examples each (a state machine, a minute)."""
    module = getattr(item, "module", None)
    names = vars(module).values() if module is not None else ()
    return any(
        str(getattr(value, "__module__", None) or getattr(value, "__name__", "")).startswith(
            "hypothesis"
        )
        for value in names
    )


def _interleaved(items: list[pytest.Item]) -> dict[Path, int]:
    """Each file's turn within its folder: the slow files of the call, browser and install
    folders go out in turns, one of each, so four workers do not all start Chromium at once."""
    seen: dict[Path, int] = {}
    per_folder: dict[Path, int] = {}
    for item in items:
        if item.path not in seen:
            folder = item.path.parent
            seen[item.path] = per_folder.get(folder, 0)
            per_folder[folder] = seen[item.path] + 1
    return seen


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.path) or "tests/browser" in str(item.path):
            item.add_marker(pytest.mark.pbx)
    # So the workers end together (stable: a file's tests stay together and in order).
    turn = _interleaved(items)
    items.sort(key=lambda item: (_slowness(item), turn[item.path] if _slowness(item) == 1 else 0))


@pytest.fixture(scope="session")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("state")


@pytest.fixture(scope="session")
def runtime_settings(state_dir: Path) -> Settings:
    """Settings for the session's stack: a temp state folder and free loopback ports."""
    return Settings(
        state_dir=state_dir,
        sip_port=free_udp_and_tcp_port(),
        ami_port=free_port(),
        agi_port=free_port(),
        http_port=free_port(),
        rtp_port_start=(rtp := free_port_range(400)),
        rtp_port_end=rtp + 399,
        rooms_file=E2E_ROOMS,
        # Five wrong PINs a source, and no growing delay: SIPp types its keys on a fixed
        # schedule (the delays are tested on the FastAGI wire, tests/adapters).
        guard_source_threshold=5,
        guard_first_delay_seconds=0.0,
        ami_ping_seconds=2.0,
        log_level="INFO",
    )


@pytest.fixture(scope="session")
async def runtime(
    runtime_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Runtime]:
    """ONE real Asterisk and the bridge service for the whole session, started in turn
    with the other workers' (``startup_slot``); the service's log in ``service.log``."""
    # Fail loudly rather than skip: a suite that silently skips its PBX tests proves nothing.
    ensure_asterisk(runtime_settings.cache_dir, progress=lambda _: None)
    running = Runtime(runtime_settings, progress=lambda _: None)
    base = tmp_path_factory.getbasetemp()
    with service_log(base / "service.log"):
        async with startup_slot(shared_temp(tmp_path_factory)):
            await running.start()
        try:
            yield running
        finally:
            await running.stop()


@pytest.fixture
async def service(runtime: Runtime) -> BridgeService:
    """The running bridge service (a new object after a test restarts it)."""
    assert runtime.service is not None
    return runtime.service


@pytest.fixture(scope="session")
async def ami(runtime: Runtime, runtime_settings: Settings) -> AsyncIterator[AmiWatcher]:
    watcher = AmiWatcher(
        runtime_settings.ami_port,
        runtime_settings.ami_username,
        runtime_settings.ensure_ami_secret(),
    )
    await watcher.start()
    try:
        yield watcher
    finally:
        await watcher.stop()


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    try:
        with private_postgres(tmp_path_factory.mktemp("pg")) as url:
            yield url
    except RuntimeError as exc:
        if os.environ.get("IOBRIDGE_REQUIRE_POSTGRES") == "1":
            raise
        pytest.skip(f"no PostgreSQL here ({exc}); make test installs and requires it")


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each database test runs on SQLite and on a real PostgreSQL (a fresh database each)."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}"
    server: str = request.getfixturevalue("postgres_url")
    name = f"t_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(server.replace("postgresql+asyncpg", "postgresql"))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return server.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
async def postgres_database(postgres_url: str) -> str:
    """A fresh database on the session's PostgreSQL (for what only PostgreSQL has)."""
    name = f"pg_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return postgres_url.rsplit("/", 1)[0] + f"/{name}"
