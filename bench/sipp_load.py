"""Many SIPp callers from ONE sipp process: N calls at a rate (``-r``/``-m``), each with its own
caller ID from an injection CSV, typing a PIN from one DTMF pcap, optionally talking on a
rolling schedule, and staying until the benchmark hangs them up.

``bridge.sipcaller.Caller`` runs one sipp per call: fine for tests, but a thousand processes
would measure the machine's fork rate, not the bridge. Limits of this way, and why:

* SIPp parses a ``play_pcap_audio`` file when it loads the scenario, so one process types one
  PIN: a storm into several rooms runs one process per room.
* ``-l`` (calls at once) defaults to 3 x rate x call length, which would pace a long stay down:
  it is set to the number of calls. ``-t u1`` puts every call on one UDP socket, so SIPp needs
  few descriptors; the pcap player opens a raw socket per play and Asterisk two ports per call,
  so the soft RLIMIT_NOFILE is raised to the hard one for sipp (``raise_open_files``).
* Hanging up: SIPp cannot be told to end one call. Each wait in the scenario also listens for a
  ``HANGUP`` request on the call's dialog (as bridge/sipp/caller.xml does); SIPp routes it by
  Call-ID, which ``-cid_str`` makes ``<tag>-<call number>``, so the benchmark can end any call,
  or all at once, by sending datagrams to SIPp's port.
* Talking: a talking call plays one pcap a period: ``talk`` seconds of speech, then silence
  frames until the next (a phone sends RTP in silence, and ConfBridge's talk detector needs
  frames to hear a talker stop). Callers arriving at a steady rate take turns, so that
  talk/period of them talk at any moment. Silent callers (join storms) send no RTP after
  their keys and stay (no RTP timeout; SIP session timers refresh a call every half of
  ``sip_session_timer_seconds``, 15 minutes by default: stays shorter than that never see
  a refresh, which the benchmark's scenario would not answer).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import resource
import socket
import string
import struct
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from bridge.sipp_streams import (
    AUDIO_PCAP,
    PcapPacket,
    build_audio_loop,
    dtmf_pcap,
    read_pcap,
    rtp_fields,
    rtp_offset,
    write_pcap,
)

SIPP = "sipp"
TEMPLATE = Path(__file__).parent / "sipp" / "load.xml"
HANGUP = "HANGUP"
ENDED = re.compile(r"IOB (?:ended|unanswered) (\d+)")
SOCKET_BUFFER = 1 << 20  # bytes, for SIPp's sockets (the kernel's rmem_max caps it)
SPEECH_FROM = 1.5  # seconds into SIPp's g711a.pcap: before that it is near silence


@dataclass(frozen=True)
class Talk:
    seconds: float  # talking, then silent for period - seconds
    period: float

    def __post_init__(self) -> None:
        if not 0 < self.seconds < self.period:
            raise ValueError("talk seconds must be above 0 and below the period")


@dataclass(frozen=True)
class LoadPlan:
    caller_ids: tuple[str, ...]  # one call each, in order
    keys: str  # e.g. "2468#"
    rate: float = 20.0  # new calls a second
    extension: str = "1000"
    key_delay: float = 1.5  # after the answer, while the PIN prompt starts
    stay: float = 110.0  # longest stay after the keys; then the caller hangs up by itself
    talk: Talk | None = None
    answer_timeout: float = 32.0  # SIPp's own INVITE retransmits give up about then
    # Silence after the keys' pcap before the first turn's: a new play cuts the last key's
    # end packets short if it starts too soon (no RTP at all meanwhile, unlike a phone).
    after_keys: float = 0.3
    # Silence frames sent right after the keys' last packet, in the keys' own stream, for this
    # many seconds (cut short by the first turn's pcap): a phone's RTP runs on after a key,
    # where the keys' pcap alone leaves ``after_keys`` without any.
    silence_after_keys: float = 0.0

    @property
    def calls(self) -> int:
        return len(self.caller_ids)


def injection_csv(plan: LoadPlan, pin: str) -> str:
    """SIPp's injection file: one line a call, used in order; field0 is the caller ID."""
    for caller_id in plan.caller_ids:
        if not caller_id.isalnum():
            raise ValueError(f"caller IDs go into SIP unquoted: {caller_id!r}")
    return "SEQUENTIAL\n" + "".join(f"{cid};{pin}\n" for cid in plan.caller_ids)


def render_scenario(
    plan: LoadPlan, dtmf: tuple[Path, float], turns: list[Path] | None = None
) -> str:
    """The scenario; ``turns``: one pcap per turn of talking, played a period apart."""
    steps: list[str] = []

    def wait(seconds: float) -> None:  # a HANGUP, the bridge's BYE, or the time is up
        label = f"waited{len(steps)}"
        steps.append(
            f'  <recv request="{HANGUP}" optional="true" timeout="{max(1, round(seconds * 1000))}"'
            f' ontimeout="{label}" next="hangup"/>\n'
            f'  <recv request="BYE" next="remote_bye"/>\n  <label id="{label}"/>'
        )

    def play(pcap: Path) -> None:
        steps.append(
            f"  <nop><action><exec play_pcap_audio={quoteattr(str(pcap))}/></action></nop>"
        )

    wait(plan.key_delay)
    play(dtmf[0])
    wait(dtmf[1] + plan.after_keys)
    left = plan.stay
    if turns and plan.talk is not None:
        # One pcap a turn: SIPp plays a long silence inside a pcap as no pause at all.
        for turn in turns:
            play(turn)
            wait(plan.talk.period)
            left -= plan.talk.period
    wait(max(left, 1.0))
    template = string.Template(TEMPLATE.read_text())
    return template.substitute(
        hangup=HANGUP, answer_timeout_ms=round(plan.answer_timeout * 1000), body="\n".join(steps)
    )


ALAW_SILENCE = 0xD5  # A-law code for zero amplitude


def build_talk_pcaps(talk: Talk, seconds: float, out_dir: Path) -> list[Path]:
    """A pcap per turn within ``seconds``: talk.seconds of speech, then silence until the next
    turn, numbered as ONE RTP stream (sequence numbers and timestamps run on).

    The silence is sent, as a phone without silence suppression does: ConfBridge's talk
    detector only hears frames, and without them a talker never stops talking."""
    loop = out_dir / "speech.loop.pcap"
    build_audio_loop(AUDIO_PCAP, loop, SPEECH_FROM + talk.seconds)
    linktype, speech = read_pcap(loop)
    loop.unlink()
    begin = speech[0].usec + SPEECH_FROM * 1e6
    turn = [p for p in speech if 0 <= p.usec - begin < talk.seconds * 1e6]
    step = turn[1].usec - turn[0].usec  # the sample's packet interval
    rtp = rtp_offset(turn[0].data, linktype)
    quiet = bytearray(turn[0].data)
    quiet[rtp + 12 :] = bytes([ALAW_SILENCE]) * (len(quiet) - rtp - 12)
    frames = [p.data for p in turn]
    frames += [bytes(quiet)] * max(0, round(talk.period * 1e6 / step) - len(frames))
    seq, stamp, ssrc = rtp_fields(turn[0].data, linktype)
    paths = []
    for n in range(max(1, int(seconds // talk.period))):
        packets = []
        for i, frame in enumerate(frames):
            data = bytearray(frame)
            struct.pack_into("!HII", data, rtp + 2, seq & 0xFFFF, stamp & 0xFFFFFFFF, ssrc)
            struct.pack_into("!H", data, rtp - 2, 0)  # no UDP checksum; SIPp sets its own
            packets.append(PcapPacket(turn[0].usec + i * step, bytes(data)))
            seq += 1
            stamp += step * 8 // 1000  # 8 kHz
        paths.append(out_dir / f"talk-{n:03d}.pcap")
        write_pcap(paths[-1], linktype, packets)
    return paths


ALAW_PAYLOAD_TYPE = 8
FRAME_US, FRAME_SAMPLES = 20_000, 160  # a 20 ms frame at 8 kHz


def keys_then_silence(keys: Path, seconds: float, out: Path) -> Path:
    """``keys``' RFC 4733 stream, then A-law silence frames every 20 ms for ``seconds`` in the
    same stream (SSRC, sequence numbers and RTP time run on), the first 20 ms after the last
    key's last packet.

    The frames are built on the keys' own packets (addresses and ports): built on
    g711a.pcap's packets instead, no PIN got through (0 of 10 callers joined), as SIPp places
    a pcap's packets by their ports."""
    linktype, events = read_pcap(keys)
    last = events[-1].data
    rtp = rtp_offset(last, linktype)
    seq, stamp, ssrc = rtp_fields(last, linktype)
    # The last event's RTP time is its start; its end packets carry its duration in samples.
    stamp += struct.unpack_from("!H", last, rtp + 14)[0]
    frame = bytearray(last[: rtp + 12]) + bytes([ALAW_SILENCE]) * FRAME_SAMPLES
    struct.pack_into("!H", frame, 16, len(frame) - 14)  # IPv4 total length
    struct.pack_into("!H", frame, rtp - 4, len(frame) - rtp + 8)  # UDP length
    frame[rtp + 1] = ALAW_PAYLOAD_TYPE  # no marker bit
    packets = list(events)
    for i in range(1, round(seconds * 1e6 / FRAME_US) + 1):
        data = _rtp_header(frame, rtp, seq + i, stamp + FRAME_SAMPLES * (i - 1), ssrc)
        packets.append(PcapPacket(events[-1].usec + i * FRAME_US, data))
    write_pcap(out, linktype, packets)
    return out


def _rtp_header(frame: bytearray, rtp: int, seq: int, stamp: int, ssrc: int) -> bytes:
    data = bytearray(frame)
    struct.pack_into("!HII", data, rtp + 2, seq & 0xFFFF, stamp & 0xFFFFFFFF, ssrc)
    struct.pack_into("!H", data, rtp - 2, 0)  # no UDP checksum; SIPp sets its own
    return bytes(data)


def raise_open_files() -> tuple[int, int]:
    """Soft RLIMIT_NOFILE up to the hard limit (inherited by sipp); the limits now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def _free_port(*, even_pair: bool = False) -> int:
    for _ in range(200):
        with socket.socket(type=socket.SOCK_DGRAM) as a, socket.socket(type=socket.SOCK_DGRAM) as b:
            a.bind(("127.0.0.1", 0))
            port: int = a.getsockname()[1]
            if not even_pair:
                return port
            with contextlib.suppress(OSError):
                if port % 2 == 0 and port < 65534:
                    b.bind(("127.0.0.1", port + 2))
                    return port
    raise OSError("no free UDP port")


@dataclass(frozen=True)
class LoadResult:
    answered: int
    unanswered: int
    ended_by_caller: int  # the caller sent BYE
    byes_answered: int  # ... and Asterisk answered it (200 OK)
    ended_by_bridge: int
    returncode: int
    errors: str  # the tail of SIPp's error log


class SippLoad:
    """One sipp process placing ``plan.calls`` calls at ``plan.rate`` against target:port."""

    def __init__(self, plan: LoadPlan, workdir: Path, target: tuple[str, int]) -> None:
        self.plan, self.target = plan, target
        self.tag = f"iob{uuid.uuid4().hex[:8]}"
        self.dir = workdir / self.tag
        self.proc: asyncio.subprocess.Process | None = None
        self.started = 0.0

    def _prepare(self) -> list[str]:
        plan, d = self.plan, self.dir
        d.mkdir(parents=True)
        pin = plan.keys.rstrip("#")
        dtmf = dtmf_pcap(plan.keys, d.parent / "pcap")
        if plan.silence_after_keys > 0:
            # Played as the keys, the talk's timing unchanged: the keys' span still counts.
            keys = keys_then_silence(dtmf[0], plan.silence_after_keys, d / "keys.pcap")
            dtmf = (keys, dtmf[1])
        turns = build_talk_pcaps(plan.talk, plan.stay, d) if plan.talk else None
        (d / "load.xml").write_text(render_scenario(plan, dtmf, turns))
        (d / "callers.csv").write_text(injection_csv(plan, pin))
        self.sip_port = _free_port()
        host, port = self.target
        return [
            f"{host}:{port}", "-sf", str(d / "load.xml"), "-inf", str(d / "callers.csv"),
            "-s", plan.extension, "-r", f"{plan.rate:g}", "-rp", "1000", "-m", str(plan.calls),
            "-l", str(plan.calls), "-t", "u1", "-i", "127.0.0.1", "-mi", "127.0.0.1",
            "-p", str(self.sip_port), "-mp", str(_free_port(even_pair=True)), "-aa", "-nostdin",
            "-cid_str", f"{self.tag}-%u", "-trace_logs", "-log_file", str(d / "log.txt"),
            "-trace_err", "-error_file", str(d / "errors.txt"),
            # SIPp's socket buffers default to 64 KiB: a mass leave's 400 HANGUPs overflowed
            # it and most were lost (their calls stayed up: false ghosts).
            "-buff_size", str(SOCKET_BUFFER),
            "-timeout", f"{round(self.budget())}s", "-timeout_error",
        ]  # fmt: skip

    def budget(self) -> float:
        p = self.plan
        return p.calls / p.rate + p.answer_timeout + p.key_delay + 10 + p.stay + 30

    async def start(self) -> None:
        args = await asyncio.to_thread(self._prepare)
        raise_open_files()
        self.started = time.time()
        self.proc = await asyncio.create_subprocess_exec(
            SIPP, *args, cwd=self.dir, start_new_session=True,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip

    def call_id(self, number: int) -> str:
        return f"{self.tag}-{number}"

    async def hangup(self, numbers: range | list[int], rate: float | None = None) -> float:
        """Send a HANGUP to each call (all at once, or ``rate`` a second); when it started."""
        sent_at = time.time()
        with socket.socket(type=socket.SOCK_DGRAM) as sock:
            for i, n in enumerate(numbers):
                call_id = self.call_id(n)
                request = (
                    f"{HANGUP} sip:load@127.0.0.1:{self.sip_port} SIP/2.0\r\n"
                    f"Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-{call_id}-h\r\n"
                    f"From: <sip:bench@127.0.0.1>;tag=hangup\r\nTo: <sip:load@127.0.0.1>\r\n"
                    f"Call-ID: {call_id}\r\nCSeq: 1 {HANGUP}\r\nMax-Forwards: 70\r\n"
                    "Content-Length: 0\r\n\r\n"
                ).encode()
                with contextlib.suppress(OSError):
                    sock.sendto(request, ("127.0.0.1", self.sip_port))
                if rate:
                    await asyncio.sleep(max(0.0, sent_at + (i + 1) / rate - time.time()))
                elif i % 50 == 49:
                    await asyncio.sleep(0)  # SIPp reads one socket: do not overrun its buffer
        return sent_at

    async def hangup_all(self, rate: float | None = None, within: float = 10.0) -> float:
        """Hang every call up (all at once, or ``rate`` a second); when it started. A HANGUP
        is a UDP datagram: those of calls still up a second later are sent again, as SIP
        resends a request, for up to ``within`` seconds."""
        numbers = range(1, self.plan.calls + 1)
        sent_at = await self.hangup(numbers, rate)
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            await asyncio.sleep(1.0)
            ended = await asyncio.to_thread(self.ended_calls)
            left = [n for n in numbers if n not in ended]
            if not left or self.proc is None or self.proc.returncode is not None:
                break
            await self.hangup(left)
        return sent_at

    def ended_calls(self) -> set[int]:
        """The calls SIPp logged as over: hung up by either side, or never answered."""
        log = self.dir / "log.txt"
        text = log.read_text(errors="replace") if log.exists() else ""
        return {int(n) for n in ENDED.findall(text)}

    async def wait(self, timeout: float | None = None) -> LoadResult:
        assert self.proc is not None
        try:
            await asyncio.wait_for(self.proc.wait(), timeout or self.budget())
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        return await asyncio.to_thread(self._collect)

    def invites_sent(self) -> dict[int, float]:
        """When each call's first INVITE left SIPp (call number -> time.time())."""
        log = self.dir / "log.txt"
        sent = {}
        for line in log.read_text(errors="replace").splitlines() if log.exists() else []:
            fields = line.split()
            if len(fields) >= 5 and fields[-5:-3] == ["IOB", "invite"]:
                sent[int(fields[-3])] = int(float(fields[-2])) + int(float(fields[-1])) / 1e6
        return sent

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            await self.hangup_all(rate=200)
            await self.wait(timeout=20)

    def _collect(self) -> LoadResult:
        def read(name: str) -> str:
            path = self.dir / name
            return path.read_text(errors="replace") if path.exists() else ""

        log = read("log.txt")
        return LoadResult(
            answered=log.count("IOB answered "),
            unanswered=log.count("IOB unanswered "),
            ended_by_caller=log.count("by=caller"),
            byes_answered=log.count("IOB bye_answered "),
            ended_by_bridge=log.count("by=remote"),
            returncode=self.proc.returncode if self.proc and self.proc.returncode else 0,
            errors=read("errors.txt")[-2000:],
        )
