"""Test callers who type when they are asked, as a person does on hearing the prompt.

A caller typing its PIN a fixed 1.5 s after the answer raced the service: Asterisk throws
away keys that arrive while a FastAGI dialogue is between two commands, and on a loaded box
(CI: four workers on two cores) the dialogue's first listening command came later than that
now and then; a PIN with its first key lost is a wrong PIN, and the caller never joined. So
these callers type when the dialogue logs that it asks for keys (``agi.asking``, at DEBUG,
just before the prompt goes to Asterisk), by the in-dialog request of ``Caller.type_keys``.
A caller who is never asked types anyway once ``ASKED_WITHIN`` is up.

Their SIP and media ports come from the worker's test ports, not from the kernel's ephemeral
range: there another process's socket could take a port between the check and SIPp's bind
(with eight workers, one SIPp could not bind its SIP port and its caller never called)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
from pathlib import Path

from bridge.sipcaller import Caller, CallPlan
from tests.support import lent_udp_ports, log_watcher

ASKED_WITHIN = 30.0  # seconds after the answer
MEDIA_PORTS = 4  # SIPp's audio and video RTP ports (+2), and room for their RTCP (+1, +3)
_typing: set[asyncio.Task[None]] = set()
_on: list[tuple[Caller, tuple[int, ...]]] = []  # this process's callers, the ports they hold


class EntryPrompts(logging.Handler):
    """The callers asked for keys, in order, from the dialogue's ``agi.asking`` records (a
    prompt that hears keys) and ``agi.listening`` ones (the silence before any prompt)."""

    LOGGER = "bridge.asterisk.agi_channel"
    _ASKING = re.compile(r"agi\.(asking|listening) channel=\S+ caller_id=(\S*)")

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        # (asking or listening, caller ID); None: taken by a caller who typed
        self.asked: list[tuple[str, str] | None] = []

    def emit(self, record: logging.LogRecord) -> None:
        found = self._ASKING.match(record.getMessage())
        if found is not None:
            self.asked.append((found.group(1), found.group(2)))

    def mark(self) -> int:
        return len(self.asked)

    def take(self, caller_id: str, since: int, moment: str = "asking") -> bool:
        """Whether ``caller_id`` was asked (``moment``) after ``since``; each asking answers
        one caller (two callers may share a caller ID, "anonymous" say)."""
        for n in range(since, len(self.asked)):
            if self.asked[n] == (moment, caller_id):
                self.asked[n] = None
                return True
        return False


def entry_prompts() -> EntryPrompts:
    """The one watcher of the dialogues' prompts in this test process."""
    return log_watcher(EntryPrompts)


def when_asked(plan: CallPlan) -> CallPlan:
    """``plan`` with its keys typed when the caller is asked for them (``start_caller``)."""
    if not plan.keys:
        return plan
    return dataclasses.replace(plan, keys_on_request=True, key_delay=ASKED_WITHIN)


async def start_caller(plan: CallPlan, workdir: Path, moment: str = "asking") -> Caller:
    """A caller on its way; one whose plan types on request types when asked: at the prompt,
    or (``moment="listening"``) in the silence before it. Only for a service in this process
    (its log records are what the caller listens for)."""
    prompts = entry_prompts()
    since = prompts.mark()
    plan, ports = _with_ports(plan)
    caller = Caller(plan, workdir)
    _on.append((caller, ports))  # held from now: callers started side by side take others
    try:
        await caller.start()
    except BaseException:
        _on.remove((caller, ports))
        raise
    if plan.keys_on_request:
        typing = _type_when_asked(caller, prompts, since, moment)
        task = asyncio.get_running_loop().create_task(typing)
        _typing.add(task)
        task.add_done_callback(_typing.discard)
    return caller


async def _type_when_asked(caller: Caller, prompts: EntryPrompts, since: int, moment: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + caller.answer_timeout + ASKED_WITHIN
    while caller.on and loop.time() < deadline:
        if prompts.take(caller.plan.caller_id, since, moment):
            with contextlib.suppress(RuntimeError):  # hung up meanwhile
                await caller.type_keys()
            return
        await asyncio.sleep(0.02)


def _with_ports(plan: CallPlan) -> tuple[CallPlan, tuple[int, ...]]:
    """``plan`` with the ports it did not name lent from this worker's test ports."""
    # Given back once the call is over (started, and its SIPp gone).
    _on[:] = [(caller, ports) for caller, ports in _on if caller.on or caller.pid is None]
    held = {port for _, ports in _on for port in ports}
    ip = plan.local_ip or "127.0.0.1"
    sip, media = plan.local_port, plan.media_port
    if not sip:
        sip = lent_udp_ports(1, ip, held)
        held.add(sip)
    if not media:
        media = lent_udp_ports(MEDIA_PORTS, ip, held)
    lent = (sip, *range(media, media + MEDIA_PORTS))
    return dataclasses.replace(plan, local_port=sip, media_port=media), lent
