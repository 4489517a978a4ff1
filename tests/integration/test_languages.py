"""Languages end to end: a Spanish room's callers hear Spanish prompts, Asterisk's and
io-bridge's; the shared number's choice (key 3) gives the French PIN prompt.

What a caller hears is read from the files Asterisk itself opens while it plays them
(``/proc/<pid>/fd``, links resolved): Asterisk resolves a prompt's name by the channel's
language, so this is the one place that says which file it really picked.

A stack of its own: the shared number's choice of language comes before every PIN, which
the session's callers elsewhere do not expect."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from bridge.asterisk.install import ensure_asterisk
from bridge.runtime import Runtime
from bridge.settings import Settings
from bridge.sipcaller import Caller, CallPlan
from tests.integration.conftest import fresh_loopback, unique_caller_id
from tests.support import free_port, free_port_range, free_udp_and_tcp_port

ROOMS = """\
rooms:
  - name: asamblea
    title: Asamblea en español
    pin: "60606060"
    language: es
  - name: lobby
    title: English lobby
    pin: "61616161"
"""


@pytest.fixture(scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Runtime]:
    folder = tmp_path_factory.mktemp("languages")
    rooms = folder / "rooms.yaml"
    rooms.write_text(ROOMS)
    settings = Settings(
        state_dir=folder / "state",
        sip_port=free_udp_and_tcp_port(),
        ami_port=free_port(),
        agi_port=free_port(),
        http_port=free_port(),
        rtp_port_start=(rtp := free_port_range(20)),
        rtp_port_end=rtp + 19,
        rooms_file=rooms,
        guard_first_delay_seconds=0.0,
        entry_languages=("en", "es", "fr"),
        log_level="INFO",
    )
    ensure_asterisk(settings.cache_dir, progress=lambda _: None)
    runtime = Runtime(settings, progress=lambda _: None)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


@contextlib.asynccontextmanager
async def files_opened(runtime: Runtime) -> AsyncIterator[set[str]]:
    """Every file Asterisk holds open while the block runs, its links resolved."""
    assert runtime.asterisk is not None
    pid = runtime.asterisk.pid
    assert pid is not None
    seen: set[str] = set()

    async def watch() -> None:
        while True:
            seen.update(_open_files(pid))
            await asyncio.sleep(0.02)

    task = asyncio.create_task(watch())
    try:
        yield seen
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _open_files(pid: int) -> Iterator[str]:
    fds = Path(f"/proc/{pid}/fd")
    for fd in os.listdir(fds):
        with contextlib.suppress(OSError):
            yield os.path.realpath(fds / fd)


async def call(runtime: Runtime, keys: str, tmp_path: Path, stay: float) -> Caller:
    plan = CallPlan(
        target_host="127.0.0.1",
        target_port=runtime.settings.sip_port,
        extension=runtime.settings.entry_extension,
        keys=keys,
        key_delay=2.0,  # after the dialplan's Wait(0.5), which drops keys, and the AGI's start
        stay=stay,
        caller_id=unique_caller_id("lang"),
        local_ip=fresh_loopback(),
    )
    caller = Caller(plan, tmp_path / "call")
    await caller.start()
    return caller


async def until(condition: Callable[[set[str]], bool], seen: set[str], timeout: float) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not condition(seen):  # noqa: ASYNC110 (the watcher fills it; no event to wait on)
                await asyncio.sleep(0.1)
    except TimeoutError:
        played = sorted(p for p in seen if "sounds" in p)
        raise AssertionError(f"not heard within {timeout} s; Asterisk opened {played}") from None


def core_prompt(runtime: Runtime, language: str, name: str) -> str:
    """Where Asterisk's prompt ``name`` in ``language`` really is (the data folder's links
    resolved: the private tree's, or the system's package's folder)."""
    return os.path.realpath(runtime.settings.asterisk_dir / f"data/sounds/{language}/{name}")


def names(seen: set[str], folder: str) -> set[str]:
    return {Path(path).relative_to(folder).as_posix() for path in seen if path.startswith(folder)}


async def test_a_spanish_room_plays_asterisks_and_io_bridges_prompts_in_spanish(
    stack: Runtime, tmp_path: Path
) -> None:
    core = str(Path(core_prompt(stack, "es", "conf-getpin.gsm")).parent) + "/"
    own = str(stack.settings.sounds_dir.resolve() / "es") + "/"
    # Key 1: English for the PIN prompt; then the Spanish room's PIN; then, in the room
    # (after ConfBridge's "you are the only person", in Spanish), *9: a raised hand.
    async with files_opened(stack) as seen:
        caller = await call(stack, "1,,,,60606060#,,,,,,*9", tmp_path, stay=15.0)
        await until(lambda s: "hand-raised.wav" in names(s, own), seen, timeout=30.0)
        await until(lambda s: "digits/1.gsm" in names(s, core), seen, timeout=5.0)
        # A moderator's cue to the whole room: the announcer speaks the room's language too.
        assert stack.service is not None
        await stack.service.cues.play("asamblea", "starting")
        await until(lambda s: "cue-starting.wav" in names(s, own), seen, timeout=10.0)
        await caller.hangup()
    assert "conf-onlyperson.gsm" in names(seen, core)  # ConfBridge's own prompt, in Spanish
    assert (
        core_prompt(stack, "en", "conf-getpin.gsm") in seen
    )  # the PIN prompt came before the room: in the language chosen
    assert not {p for p in seen if p.endswith("hand-raised.wav") and "/es/" not in p}


async def test_key_3_at_the_shared_numbers_choice_gives_the_french_pin_prompt(
    stack: Runtime, tmp_path: Path
) -> None:
    french = core_prompt(stack, "fr", "conf-getpin.gsm")
    choice = str(stack.settings.sounds_dir.resolve() / "en/language-choice.wav")
    async with files_opened(stack) as seen:
        caller = await call(stack, "3,,,,61616161#", tmp_path, stay=3.0)
        await until(lambda s: french in s, seen, timeout=20.0)
        await caller.hangup()
    assert choice in seen  # "For English, press" was offered first
    assert "fr_CA_f_June" in french or "/fr/" in french
