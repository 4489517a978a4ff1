"""A test caller over SIPp: dial the bridge, type keys, talk, hang up (or be hung up on).

Used by admins (``iobridge call``), integration tests and benchmarks. One call is one ``sipp``
process (Debian's ``sip-tester`` 3.6) running a scenario rendered from ``sipp/caller.xml``.
SIPp plays pcaps from a raw socket, so calls with keys or audio need root or CAP_NET_RAW.

Why it is built this way:

* Keys (RFC 4733): SIPp's ``dtmf_2833_*.pcap`` files share one SSRC but have unrelated
  sequence numbers and timestamps; played one after another, Asterisk drops later digits as
  old or duplicate ("4242#" arrives as "4#"). So the wanted digits are spliced into one pcap
  with steadily increasing numbering and a gap between digits, played once (SIPp 3.6's
  ``play_dtmf`` ended calls early). Each key ends with one end packet, not the files' three:
  Asterisk counts a repeat as another press when an echo's packet comes in between.
* Audio: replaying the stock file restarts its numbering, which Asterisk counts as tens of
  thousands of lost packets, so it is looped into one long stream instead.
* Session refreshes (re-INVITEs) are answered in every wait, as a phone does.
* Hanging up early: SIPp cannot be told to end a call with a BYE. SIGUSR1 (and 'q') are undone
  by ``-m 1`` (SIPp resets its quit level every loop) and SIGTERM exits without a BYE. So each
  wait in the scenario also listens for an in-dialog ``HANGUP`` request, which
  :meth:`Caller.hangup` sends to SIPp's SIP port; the scenario then sends the BYE.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bridge.sipp_scenario import (
    ANSWER_TIMEOUT,
    HANGUP_METHOD,
    KEYS_METHOD,
    CallPlan,
    press_method,
    render_scenario,
)
from bridge.sipp_streams import audio_pcap, dtmf_pcap, free_udp_port

__all__ = ["CallPlan", "CallResult", "Caller", "SippMissing", "place_call", "render_scenario"]

SIPP = "sipp"
HANGUP_GRACE = 5.0  # seconds for SIPp to finish its BYE before we kill it
# SIPp's normal chatter, and our waits, which time out on purpose.
_CHATTER = re.compile(
    r"jumping to label|^In pcap |^max pkt length|^base port|^Resolving remote host"
    r"|^There were more errors|^The following events occurred"
)

EndedBy = Literal["caller", "remote", "failed"]


class SippMissing(RuntimeError):
    """SIPp, which places the test calls, is not on this machine."""


@dataclass(frozen=True)
class CallResult:
    returncode: int  # SIPp's: 0 = the call went as planned
    answered: bool
    ended_by: EndedBy
    log: str  # SIPp's stderr and error log, without its normal chatter
    duration: float  # seconds from starting SIPp until it exited


class Caller:
    """One call in the background: ``start()``, then ``hangup()`` and/or ``wait()``."""

    def __init__(self, plan: CallPlan, workdir: Path, *, answer_timeout: float = ANSWER_TIMEOUT):
        self.plan, self.workdir, self.answer_timeout = plan, Path(workdir), answer_timeout
        self.call_id = f"iob-{uuid.uuid4().hex[:16]}"  # SIPp's -cid_str: known, for HANGUP
        self.call_dir = self.workdir / "calls" / self.call_id  # scenario and logs
        self._proc: asyncio.subprocess.Process | None = None
        self._done: asyncio.Task[tuple[bytes, bytes]] | None = None
        self._result: CallResult | None = None
        self._pressed = 0  # later keys typed so far

    async def __aenter__(self) -> Caller:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._done is not None:  # still on: hang up; then collect (and tidy) the result
            if not self._done.done():
                await self.hangup()
            await self.wait()

    def _prepare(self) -> float:
        """File work in a thread: pcaps (cached) and scenario. Returns the time budget."""
        plan, pcaps = self.plan, self.workdir / "pcap"
        dtmf = dtmf_pcap(plan.keys, pcaps) if plan.keys else None
        audio = audio_pcap(plan.stay, pcaps) if plan.audio else None
        later = tuple(
            dtmf_pcap(keys, pcaps, later=n)[0] for n, keys in enumerate(plan.later_keys, start=1)
        )
        self.call_dir.mkdir(parents=True)
        xml = render_scenario(
            plan, dtmf=dtmf, audio=audio, later=later, answer_timeout=self.answer_timeout
        )
        (self.call_dir / "caller.xml").write_text(xml)
        keys = plan.key_delay + dtmf[1] + 0.3 if dtmf else 0.0
        return self.answer_timeout + keys + plan.stay + 2 * HANGUP_GRACE

    async def start(self) -> None:
        if shutil.which(SIPP) is None:
            raise SippMissing("sipp is not installed (Debian package: sip-tester)")
        plan, loop = self.plan, asyncio.get_running_loop()
        infos = await loop.getaddrinfo(plan.target_host, plan.target_port, family=socket.AF_INET)
        target = infos[0][4][0]
        self.local_ip: str = plan.local_ip
        if not self.local_ip:
            with socket.socket(type=socket.SOCK_DGRAM) as probe:  # connect() on UDP sends nothing
                probe.connect((target, plan.target_port))
                self.local_ip = probe.getsockname()[0]  # the address that routes there
        self.sip_port = plan.local_port or free_udp_port(self.local_ip)
        media_port = plan.media_port or free_udp_port(self.local_ip, with_plus_two=True)
        self.media_port: int = media_port  # where the bridge sends this caller's audio
        budget = await asyncio.to_thread(self._prepare)
        d = self.call_dir
        args = [
            f"{target}:{plan.target_port}", "-sf", str(d / "caller.xml"), "-s", plan.extension,
            "-m", "1", "-l", "1", "-nostdin", "-i", self.local_ip, "-mi", self.local_ip,
            "-p", str(self.sip_port), "-mp", str(media_port), "-cid_str", self.call_id,
            "-trace_logs", "-log_file", str(d / "log.txt"),
            "-trace_err", "-error_file", str(d / "errors.txt"),
        ]  # fmt: skip
        if plan.echo:
            args.append("-rtp_echo")
        self._started = time.monotonic()
        self._deadline = self._started + budget
        # A session of its own: the admin's Ctrl+C must reach us (to send BYE), not SIPp.
        self._proc = await asyncio.create_subprocess_exec(
            SIPP, *args, cwd=d, start_new_session=True, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        self._done = asyncio.create_task(self._proc.communicate())

    @property
    def on(self) -> bool:
        """Whether the call is still going (its SIPp has not exited)."""
        return self._done is not None and not self._done.done()

    @property
    def pid(self) -> int | None:  # SIPp's: SIGKILLed, the phone vanishes without a word
        return self._proc.pid if self._proc else None

    async def hangup(self) -> None:
        """End the call now: BYE (CANCEL if not yet answered); returns once SIPp is gone."""
        if self._done is None or self._proc is None:
            raise RuntimeError("call not started")
        ip, request = self.local_ip, self._request(HANGUP_METHOD)
        loop = asyncio.get_running_loop()
        with socket.socket(type=socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            # Repeated each second in case SIPp was not listening yet; it ignores repeats.
            for _ in range(round(HANGUP_GRACE)):
                if self._done.done():
                    return
                with contextlib.suppress(OSError):
                    await loop.sock_sendto(sock, request, (ip, self.sip_port))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(self._done), 1.0)
        if not self._done.done():  # no BYE then: Asterisk only sees the RTP stop
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
            await asyncio.shield(self._done)

    async def press(self, keys: str) -> None:
        """Type ``keys`` now: the plan's next ``later_keys``, which must be these."""
        if self._done is None or self._done.done():
            raise RuntimeError("the call is not on")
        index = self._pressed
        if index >= len(self.plan.later_keys) or self.plan.later_keys[index] != keys:
            planned = self.plan.later_keys[index : index + 1] or ("nothing more",)
            raise ValueError(f"the plan types {planned[0]!r} next, not {keys!r}")
        self._pressed += 1
        await self._send_in_dialog(press_method(index))

    async def type_keys(self) -> None:
        """Type the plan's keys now, before its key_delay is up (``keys_on_request``)."""
        if not self.plan.keys_on_request or not self.on:
            raise RuntimeError("the call is not on, or its keys are not typed on request")
        await self._send_in_dialog(KEYS_METHOD)

    def _request(self, method: str) -> bytes:
        """An in-dialog request to SIPp (it routes it to the call by Call-ID)."""
        ip, me = self.local_ip, f"sip:{self.plan.caller_id}@{self.local_ip}"
        return (
            f"{method} {me}:{self.sip_port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {ip}:9;branch=z9hG4bK-{self.call_id}-{method.lower()}\r\n"
            f"From: <sip:iobridge@{ip}>;tag={method.lower()}\r\nTo: <{me}>\r\n"
            f"Call-ID: {self.call_id}\r\nCSeq: 1 {method}\r\nMax-Forwards: 70\r\n"
            "Content-Length: 0\r\n\r\n"
        ).encode()

    async def _send_in_dialog(self, method: str) -> None:
        loop = asyncio.get_running_loop()
        with socket.socket(type=socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            await loop.sock_sendto(sock, self._request(method), (self.local_ip, self.sip_port))

    async def wait(self) -> CallResult:
        """Wait until the call is over (hanging up if it overruns its plan); its result."""
        if self._done is None:
            raise RuntimeError("call not started")
        if self._result is None:
            try:
                left = self._deadline - time.monotonic()
                await asyncio.wait_for(asyncio.shield(self._done), max(0.0, left))
            except TimeoutError:
                await self.hangup()
            except asyncio.CancelledError:
                await asyncio.shield(self.hangup())
                raise
            _, stderr = await self._done
            duration = time.monotonic() - self._started
            self._result = await asyncio.to_thread(self._collect, stderr, duration)
        return self._result

    def _collect(self, stderr: bytes, duration: float) -> CallResult:
        def read(name: str) -> str:
            path = self.call_dir / name
            return path.read_text(errors="replace") if path.exists() else ""

        events = read("log.txt")  # the scenario's <log> lines
        rc = self._proc.returncode if self._proc and self._proc.returncode is not None else -1
        ended = re.search(r"IOB ended_by=(caller|remote)", events)
        ended_by: EndedBy = "failed"
        if rc == 0 and ended:
            ended_by = "caller" if ended.group(1) == "caller" else "remote"
        # SIPp writes error-log entries without line breaks: split them on their dates too.
        split = re.compile(r"\n|(?=\d{4}-\d\d-\d\d\t)")

        def short(text: str) -> str:
            return "\n".join(e for e in split.split(text) if e.strip() and not _CHATTER.search(e))

        # The error log has all errors; stderr repeats the last (or has the only, fatal one).
        log = (short(read("errors.txt")) or short(stderr.decode(errors="replace")))[-4000:]
        if ended_by != "failed":  # keep scenario and logs only when there is something to see
            shutil.rmtree(self.call_dir, ignore_errors=True)
        return CallResult(rc, "IOB answered" in events, ended_by, log, duration)


async def place_call(plan: CallPlan, workdir: Path) -> CallResult:
    """Place one call and wait until it is over."""
    caller = Caller(plan, workdir)
    await caller.start()
    return await caller.wait()
