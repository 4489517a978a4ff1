"""Fixtures for end-to-end tests: SIPp callers dialling the session's real Asterisk."""

from __future__ import annotations

import contextlib
import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from bridge.asterisk.install import ensure_asterisk
from bridge.cluster import NodesOnOneMachine, loopback_nodes, write_nodes_file
from bridge.domain.nodes import NodeSpec
from bridge.runtime import Runtime
from bridge.settings import Settings
from bridge.sipcaller import Caller, CallPlan
from tests.callers import start_caller, when_asked
from tests.conftest import E2E_ROOMS
from tests.support import free_port, free_port_range, free_udp_and_tcp_port

Dial = Callable[..., Awaitable[Caller]]
_numbers = itertools.count(1)
_addresses = itertools.count(1)


def unique_caller_id(prefix: str = "caller") -> str:
    """A caller ID no other test uses, so its AMI events are this test's own."""
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def fresh_loopback() -> str:
    """A loopback address no other caller of this session used (127.0.1.1, 127.0.1.2 ...):
    the guard counts wrong PINs per source address, so each test calls from its own."""
    n = next(_addresses)
    return f"127.0.{1 + n // 250}.{1 + n % 250}"


@pytest.fixture
async def dial(runtime: Runtime, runtime_settings: Settings, tmp_path: Path) -> AsyncIterator[Dial]:
    """Start a SIPp caller against the session's stack; every caller is hung up at the end.
    The test's callers come from one loopback address of their own, unless told another
    (``local_ip``). A caller types its keys when the PIN (or language) prompt plays
    (``tests.callers``), or ``key_delay`` seconds after the answer when a test sets that, the
    dialogue runs in another process (``iobridge serve`` in test_faults) or the call carries
    headers (a carrier's asserted number: the dialogue knows the caller by it)."""
    callers: list[Caller] = []
    address = fresh_loopback()

    async def start(
        keys: str = "",
        *,
        stay: float = 30.0,
        audio: bool = False,
        echo: bool = False,
        caller_id: str | None = None,
        key_delay: float | None = None,
        later_keys: tuple[str, ...] = (),
        local_ip: str | None = None,
        extension: str | None = None,
        headers: tuple[str, ...] = (),
        moment: str = "asking",
    ) -> Caller:
        plan = CallPlan(
            target_host="127.0.0.1",
            target_port=runtime_settings.sip_port,
            extension=extension or runtime_settings.entry_extension,
            keys=keys,
            key_delay=1.5 if key_delay is None else key_delay,
            audio=audio,
            echo=echo,
            stay=stay,
            caller_id=caller_id or unique_caller_id(),
            later_keys=later_keys,
            local_ip=local_ip or address,
            headers=headers,
        )
        if key_delay is None and runtime.service is not None and not headers:
            plan = when_asked(plan)
        caller = await start_caller(plan, tmp_path / f"call-{next(_numbers)}", moment)
        callers.append(caller)
        return caller

    yield start
    for caller in callers:
        await caller.hangup()


@contextlib.asynccontextmanager
async def nodes_on_loopback(
    state: Path, count: int = 3, nodes_file_extra: str = ""
) -> AsyncIterator[tuple[Settings, tuple[NodeSpec, ...], NodesOnOneMachine]]:
    """``iobridge up --nodes COUNT``'s layout for a test module: Kamailio and COUNT private
    Asterisk nodes on loopback (.2, .3, ...), a nodes file (plus ``nodes_file_extra``), and
    the settings a runtime of the service needs to drive them; stopped on the way out."""
    settings = Settings(
        state_dir=state,
        sip_port=free_udp_and_tcp_port(),
        ami_port=free_port(),
        agi_port=free_port(),
        http_port=free_port(),
        rtp_port_start=(rtp := free_port_range(600)),
        rtp_port_end=rtp + 599,
        rooms_file=E2E_ROOMS,
        guard_source_threshold=50,
        guard_first_delay_seconds=0.0,
        log_level="INFO",
    )
    settings.secure_state_dir()
    settings.ensure_ami_secret()
    settings.ensure_agi_secret()
    settings.ensure_admin_token()
    install = ensure_asterisk(settings.cache_dir, progress=lambda _: None)
    nodes = loopback_nodes(settings, count)
    settings.nodes_file = write_nodes_file(settings, nodes)
    if nodes_file_extra:
        with settings.nodes_file.open("a") as nodes_file:
            nodes_file.write(nodes_file_extra)
    machine = NodesOnOneMachine(settings, install, nodes)
    await machine.start()
    try:
        yield settings, nodes, machine
    finally:
        await machine.stop()
