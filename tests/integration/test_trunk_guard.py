"""Trunks at the front door, end to end: Asterisk takes a call for a trunk's only by the
address it comes from (``endpoint_identifier_order = ip,anonymous``), never because its
From header names the trunk; a trunk's caller counts against the number it asserts.

The session's Asterisk gets a trunk for this file: an endpoint identified by one loopback
address, added to its rendered pjsip.conf and reloaded, and taken away again at the end."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from bridge.domain.guard import internet_source, trunk_source
from bridge.runtime import Runtime
from bridge.service import BridgeService
from bridge.settings import Settings
from bridge.sipcaller import Caller
from tests.integration.conftest import Dial, fresh_loopback

TRUNK = "sip-trunk"
TRUNK_ADDRESS = "127.0.9.9"  # the carrier's address; fresh_loopback() never gets this far
WRONG = ["73182049", "73182048", "73182047", "73182046", "73182045"]
TRUNK_SECTIONS = f"""
[{TRUNK}]
type = endpoint
context = iobridge-entry
disallow = all
allow = alaw,ulaw
dtmf_mode = rfc4733
direct_media = no
trust_id_inbound = yes

[{TRUNK}-identify]
type = identify
endpoint = {TRUNK}
match = {TRUNK_ADDRESS}
"""


async def _reload_pjsip(runtime: Runtime) -> None:
    assert runtime.asterisk is not None
    code, output = await runtime.asterisk.cli("module reload res_pjsip.so")
    assert code == 0, output
    await asyncio.sleep(1.0)  # PJSIP applies the reload on its own threads


@pytest.fixture
async def trunk(runtime: Runtime, runtime_settings: Settings) -> AsyncIterator[str]:
    conf = runtime_settings.asterisk_dir / "etc" / "pjsip.conf"
    shipped = conf.read_text()
    conf.write_text(shipped + TRUNK_SECTIONS)
    await _reload_pjsip(runtime)
    assert runtime.asterisk is not None
    _, endpoints = await runtime.asterisk.cli(f"pjsip show endpoint {TRUNK}")
    assert TRUNK in endpoints, endpoints
    try:
        yield TRUNK
    finally:
        conf.write_text(shipped)
        await _reload_pjsip(runtime)


async def ended(caller: Caller, within: float = 60) -> None:
    await asyncio.wait_for(caller.wait(), within)


async def test_a_stranger_who_names_a_trunk_in_from_counts_against_their_own_address(
    dial: Dial, service: BridgeService, trunk: str
) -> None:
    stranger = fresh_loopback()
    callers = [await dial(f"{pin}#", caller_id=trunk, stay=3, local_ip=stranger) for pin in WRONG]
    await asyncio.gather(*(ended(caller) for caller in callers))
    now = time.time()
    assert service.desk.guard.failures(internet_source(stranger), now) == len(WRONG)
    assert service.desk.guard.shared_failures(trunk, now) == 0  # no trunk treatment
    held = {h.source: h.refused for h in service.desk.held_back()}
    assert held.get(internet_source(stranger)) is True


async def test_a_call_from_the_trunks_address_counts_against_the_number_it_asserts(
    dial: Dial, service: BridgeService, trunk: str
) -> None:
    caller = await dial(f"{WRONG[0]}#", caller_id="5550123", stay=3, local_ip=TRUNK_ADDRESS)
    await ended(caller)
    now = time.time()
    assert service.desk.guard.failures(trunk_source(trunk, "5550123"), now) == 1
    assert service.desk.guard.shared_failures(trunk, now) == 1
    assert service.desk.guard.failures(internet_source(TRUNK_ADDRESS), now) == 0
