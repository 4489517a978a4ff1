"""Fixtures for end-to-end tests: SIPp callers dialling the session's real Asterisk."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from bridge.settings import Settings
from bridge.sipcaller import Caller, CallPlan

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
async def dial(runtime_settings: Settings, tmp_path: Path) -> AsyncIterator[Dial]:
    """Start a SIPp caller against the session's stack; every caller is hung up at the end.
    The test's callers come from one loopback address of their own, unless told another
    (``local_ip``)."""
    callers: list[Caller] = []
    address = fresh_loopback()

    async def start(
        keys: str = "",
        *,
        stay: float = 30.0,
        audio: bool = False,
        echo: bool = False,
        caller_id: str | None = None,
        key_delay: float = 1.5,
        later_keys: tuple[str, ...] = (),
        local_ip: str | None = None,
        extension: str | None = None,
        headers: tuple[str, ...] = (),
    ) -> Caller:
        plan = CallPlan(
            target_host="127.0.0.1",
            target_port=runtime_settings.sip_port,
            extension=extension or runtime_settings.entry_extension,
            keys=keys,
            key_delay=key_delay,
            audio=audio,
            echo=echo,
            stay=stay,
            caller_id=caller_id or unique_caller_id(),
            later_keys=later_keys,
            local_ip=local_ip or address,
            headers=headers,
        )
        caller = Caller(plan, tmp_path / f"call-{next(_numbers)}")
        await caller.start()
        callers.append(caller)
        return caller

    yield start
    for caller in callers:
        await caller.hangup()
