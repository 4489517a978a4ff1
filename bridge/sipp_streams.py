"""The RTP streams a SIPp test caller plays: DTMF keys (RFC 4733) spliced into one steadily
numbered stream, and speech looped into one long stream (see ``bridge.sipcaller`` for why).

Just enough of the classic pcap format for SIPp's own Ethernet/IPv4/UDP/RTP files.
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import struct
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SIPP_SHARE = Path("/usr/share/sip-tester")
AUDIO_PCAP = SIPP_SHARE / "g711a.pcap"  # PCMA speech, 7 s
KEY_FILES = {**{d: d for d in "0123456789"}, "*": "star", "#": "pound"}
DIGIT_GAP = 0.25  # seconds of silence between digits, so Asterisk sees separate presses
PAUSE = ","  # in keys: wait one second, as on a phone's dialler (e.g. to let a prompt play)
# Later key streams in one call: each starts this far past the one before (a press is a
# few dozen packets; 16-bit sequence numbers wrap, which Asterisk follows).
LATER_SEQ_STEP = 2000
LATER_STAMP_STEP = 8000 * 600  # ten minutes of RTP time
AUDIO_LOOP_MAX = 60.0  # SIPp loads a pcap whole, per call: longer stays replay this much


@dataclass(frozen=True)
class PcapPacket:
    usec: int  # capture time, microseconds
    data: bytes  # the whole frame


def read_pcap(path: Path) -> tuple[int, list[PcapPacket]]:
    """The link type and packets of a classic (microsecond) pcap file."""
    raw = path.read_bytes()
    endian = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">"}.get(raw[:4])
    if endian is None:
        raise ValueError(f"{path}: not a classic microsecond pcap file")
    (linktype,) = struct.unpack_from(endian + "I", raw, 20)
    packets, off = [], 24
    while off + 16 <= len(raw):
        sec, usec, length, _ = struct.unpack_from(endian + "IIII", raw, off)
        packets.append(PcapPacket(sec * 1_000_000 + usec, raw[off + 16 : off + 16 + length]))
        off += 16 + length
    return linktype, packets


def write_pcap(path: Path, linktype: int, packets: list[PcapPacket]) -> None:
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype))
    for p in packets:
        out += struct.pack("<IIII", *divmod(p.usec, 1_000_000), len(p.data), len(p.data))
        out += p.data
    # Write, then rename: parallel callers may build the same cached file at once.
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_bytes(out)
    os.replace(tmp, path)


def _span(packets: list[PcapPacket]) -> float:
    return (packets[-1].usec - packets[0].usec) / 1e6 if packets else 0.0


def rtp_offset(frame: bytes | bytearray, linktype: int) -> int:
    if linktype != 1 or frame[12:14] != b"\x08\x00":
        raise ValueError("only Ethernet + IPv4 pcaps are supported")
    return 14 + (frame[14] & 0x0F) * 4 + 8  # Ethernet, IPv4 with options, UDP


def rtp_fields(frame: bytes, linktype: int) -> tuple[int, int, int]:
    """Sequence number, timestamp and SSRC of an RTP frame."""
    seq, stamp, ssrc = struct.unpack_from("!HII", frame, rtp_offset(frame, linktype) + 2)
    return seq, stamp, ssrc


def _restamp(frame: bytes, linktype: int, seq: int, stamp: int, ssrc: int) -> bytes:
    data = bytearray(frame)
    rtp = rtp_offset(data, linktype)
    struct.pack_into("!HII", data, rtp + 2, seq & 0xFFFF, stamp & 0xFFFFFFFF, ssrc)
    struct.pack_into("!H", data, rtp - 2, 0)  # UDP checksum "none"; SIPp computes its own
    return bytes(data)


def build_dtmf_pcap(
    keys: str,
    out: Path,
    *,
    gap: float = DIGIT_GAP,
    src: Path = SIPP_SHARE,
    later: int = 0,
) -> float:
    """Splice SIPp's per-digit RFC 4733 pcaps into one steady stream; return its seconds.

    ``later``: the n-th stream played later in the same call (keys pressed in the room after
    the PIN). SIPp replays a pcap as it is, and Asterisk drops RTP whose sequence numbers it
    has seen, so each later stream carries on well past the numbers of the ones before."""
    packets: list[PcapPacket] = []
    linktype = seq = stamp = ssrc = clock = 0
    for key in keys:
        if key == PAUSE:
            clock += 1_000_000
            stamp += 8000
            continue
        linktype, digit = read_pcap(src / f"dtmf_2833_{KEY_FILES[key]}.pcap")
        first = digit[0]
        if not packets:  # carry on from the first file's numbering
            seq, stamp, ssrc = rtp_fields(first.data, linktype)
            seq += later * LATER_SEQ_STEP
            stamp += later * LATER_STAMP_STEP
            clock = first.usec
        samples = 0
        for pkt in _without_repeated_end(digit, linktype):
            # A new sequence number per packet, one timestamp per event (RFC 4733: the
            # event's start), one SSRC for the whole stream.
            data = _restamp(pkt.data, linktype, seq, stamp, ssrc)
            samples = max(
                samples, struct.unpack_from("!H", data, rtp_offset(data, linktype) + 14)[0]
            )
            packets.append(PcapPacket(clock + pkt.usec - first.usec, data))
            seq += 1
        # The next digit starts after this event's full duration plus the gap, in packet time
        # and RTP time alike (8 kHz: 125 us a sample), so it reads as a new, later key press.
        span = max(digit[-1].usec - first.usec, samples * 125)
        clock += span + round(gap * 1e6)
        stamp += span // 125 + round(gap * 8000)
    write_pcap(out, linktype, packets)
    return _span(packets)


def _without_repeated_end(digit: list[PcapPacket], linktype: int) -> list[PcapPacket]:
    """A key's packets up to its first end packet. SIPp's files send the end three times
    (RFC 4733 advises it against loss, which loopback has none of). Asterisk counts a
    repeat as one more press once another stream's packet has come in between: an echoing
    caller's echo, or the stream of a caller who talks, and on a loaded machine SIPp's
    three ends go out tens of milliseconds apart: "2468#" arrived as "24668"."""
    for index, pkt in enumerate(digit):
        if pkt.data[rtp_offset(pkt.data, linktype) + 13] & 0x80:  # E bit: the event ended
            return digit[: index + 1]
    return digit


def build_audio_loop(source: Path, out: Path, seconds: float) -> float:
    """Repeat an RTP pcap for at least ``seconds`` as one stream; return its seconds."""
    linktype, src = read_pcap(source)
    seq, _, ssrc = rtp_fields(src[0].data, linktype)
    stamps = [rtp_fields(p.data, linktype)[1] for p in src]
    # One period is the file plus one packet interval, in capture time and RTP time.
    period_us = src[-1].usec - src[0].usec + src[-1].usec - src[-2].usec
    period_ts = stamps[-1] - stamps[0] + stamps[-1] - stamps[-2]
    packets = []
    for n in range(max(1, math.ceil(seconds * 1e6 / period_us))):
        for pkt, stamp in zip(src, stamps, strict=True):
            data = _restamp(pkt.data, linktype, seq, stamp + n * period_ts, ssrc)
            packets.append(PcapPacket(pkt.usec + n * period_us, data))
            seq += 1
    write_pcap(out, linktype, packets)
    return _span(packets)


def _cached(path: Path, build: Callable[[], float]) -> tuple[Path, float]:
    if path.exists():
        return path, _span(read_pcap(path)[1])
    path.parent.mkdir(parents=True, exist_ok=True)
    return path, build()


def dtmf_pcap(keys: str, cache_dir: Path, later: int = 0) -> tuple[Path, float]:
    name = keys.replace("*", "s").replace("#", "p").replace(PAUSE, "w")
    path = cache_dir / (f"keys-{name}.pcap" if not later else f"keys-{name}-later{later}.pcap")
    return _cached(path, lambda: build_dtmf_pcap(keys, path, later=later))


def audio_pcap(stay: float, cache_dir: Path) -> tuple[Path, float]:
    seconds = math.ceil(min(max(stay, 1.0), AUDIO_LOOP_MAX) / 10) * 10  # few files to cache
    path = cache_dir / f"audio-{seconds}s.pcap"
    return _cached(path, lambda: build_audio_loop(AUDIO_PCAP, path, seconds))


def free_udp_port(ip: str, *, with_plus_two: bool = False) -> int:
    """A UDP port free right now; SIPp's media needs port and port+2 (+1 is RTCP)."""
    for _ in range(100):
        with socket.socket(type=socket.SOCK_DGRAM) as a, socket.socket(type=socket.SOCK_DGRAM) as b:
            a.bind((ip, 0))
            port: int = a.getsockname()[1]
            if not with_plus_two:
                return port
            with contextlib.suppress(OSError):
                if port % 2 == 0 and port < 65534:
                    b.bind((ip, port + 2))
                    return port
    raise OSError("no free pair of UDP ports")
