"""What a SIPp caller actually hears: the RTP Asterisk sends to its media port, captured on
the loopback interface (a raw packet socket: root, as the tests run here and in CI).

The bridge's mix of an otherwise silent room is PCMA silence; a prompt played to a caller
(a key's answer, a whisper) shows as loud payload in their stream and in nobody else's."""

from __future__ import annotations

import asyncio
import ctypes
import socket
import struct
import threading
import time
import wave
from collections import defaultdict
from pathlib import Path

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4  # loopback shows each packet twice: as sent and as received
SO_ATTACH_FILTER = 26
SO_RCVBUFFORCE = 33
SOL_PACKET, PACKET_STATISTICS = 263, 6
SILENT_PCMA = frozenset({0xD5, 0x55, 0xD4, 0x54, 0xD7, 0x57})  # A-law near zero
SILENT_LINEAR = 48  # the same in 16-bit linear samples: A-law's three smallest steps


def loud_samples(prompt: Path) -> int:
    """How many samples of a 16-bit mono WAV prompt are loud as ``RtpMeter`` counts bytes:
    what a caller who heard all of it receives, one PCMA byte a sample."""
    with wave.open(str(prompt)) as wav:
        frames = wav.readframes(wav.getnframes())
    samples = struct.unpack(f"<{len(frames) // 2}h", frames)
    return sum(1 for sample in samples if abs(sample) >= SILENT_LINEAR)


def _only_udp_to(ports: set[int]) -> bytes:
    """A classic BPF program for the socket: IPv4 UDP datagrams to one of ``ports`` (none:
    nothing). Every other packet on the loopback (every worker's SIP and RTP) stays in the
    kernel: read and thrown away here, in Python, they could fill the socket's buffer on a
    busy box, and the packets lost with it would show as a prompt not heard."""
    wanted = sorted(ports)
    drop = 8 + len(wanted)  # the index of "ret 0"; "ret 65535" follows it
    # (op, jump if true, jump if false, k); a jump counts the instructions it skips.
    code = [
        (0x28, 0, 0, 12),  # ldh [12]: the EtherType
        (0x15, 0, drop - 2, 0x0800),  # IPv4, else drop
        (0x30, 0, 0, 23),  # ldb [23]: the IP protocol
        (0x15, 0, drop - 4, socket.IPPROTO_UDP),  # UDP, else drop
        (0x28, 0, 0, 20),  # ldh [20]: a fragment's offset
        (0x45, drop - 6, 0, 0x1FFF),  # jset: a later fragment has no UDP header: drop
        (0xB1, 0, 0, 14),  # ldxb 4*([14]&0xf): the IP header's length
        (0x48, 0, 0, 16),  # ldh [x+16]: the UDP destination port
    ]
    code += [(0x15, drop - n, 0, port) for n, port in enumerate(wanted, 8)]  # one: accept
    code += [(0x06, 0, 0, 0), (0x06, 0, 0, 0xFFFF)]  # ret 0 (drop); ret 65535 (accept)
    return b"".join(struct.pack("HBBI", *instruction) for instruction in code)


class RtpMeter:
    """Counts loud RTP payload bytes per destination port and per 100 ms, in a thread.
    The kernel hands it only the UDP packets to its ports (``add`` one more)."""

    def __init__(self, ports: set[int], interface: str = "lo") -> None:
        self.ports = set(ports)
        self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(ETH_P_ALL))
        self._filter_program: ctypes.Array[ctypes.c_char] | None = None
        self._filter()
        self._sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 * 1024 * 1024)
        self._sock.bind((interface, 0))
        self._sock.settimeout(0.2)
        self._loud: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RtpMeter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)
        self._sock.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                frame, address = self._sock.recvfrom(65535)
            except TimeoutError:
                continue
            if address[2] == PACKET_OUTGOING or frame[12:14] != b"\x08\x00":
                continue
            ihl = (frame[14] & 0x0F) * 4
            if frame[23] != socket.IPPROTO_UDP:
                continue
            udp = 14 + ihl
            (dport,) = struct.unpack("!H", frame[udp + 2 : udp + 4])
            payload = frame[udp + 8 + 12 :]  # after the UDP and RTP headers
            if dport in self.ports and payload:
                loud = sum(1 for b in payload if b not in SILENT_PCMA)
                self._loud[dport][int(time.time() * 10)] += loud

    def add(self, port: int) -> None:
        """Count ``port`` too, from now on."""
        self.ports.add(port)
        self._filter()

    def dropped(self) -> int:
        """Packets to the ports that the kernel dropped for want of room since the last
        call: what the counts may lack."""
        _, drops = struct.unpack("II", self._sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
        return int(drops)

    def _filter(self) -> None:
        program = _only_udp_to(self.ports)
        buffer = ctypes.create_string_buffer(program, len(program))
        fprog = struct.pack("HL", len(program) // 8, ctypes.addressof(buffer))
        self._sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
        self._filter_program = buffer  # the kernel copies it, but keep it for the call

    def loud_seconds(self, port: int, since: float, until: float | None = None) -> float:
        """Seconds of clearly loud audio sent to ``port`` in [since, until)."""
        until = until or time.time()
        tenths = self._loud[port]
        return sum(0.1 for t, n in list(tenths.items()) if since * 10 <= t < until * 10 and n > 400)

    def loud_bytes(self, port: int, since: float) -> int:
        """Loud payload bytes sent to ``port`` from ``since`` on, however quiet each tenth."""
        return sum(n for t, n in list(self._loud[port].items()) if t >= int(since * 10))

    def first_loud(self, port: int, since: float) -> float | None:
        """When ``port`` first heard loud audio from ``since`` on (to the tenth of a second)."""
        tenths = [t for t, n in list(self._loud[port].items()) if t >= since * 10 and n > 400]
        return min(tenths) / 10 if tenths else None

    async def until_loud(self, port: int, since: float, seconds: float, timeout: float) -> float:
        """Wait until ``port`` has heard ``seconds`` of loud audio since ``since``; return when."""
        deadline = time.monotonic() + timeout
        while (heard := self.loud_seconds(port, since)) < seconds:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"port {port} heard {heard:.1f} s loud, not {seconds} s, within {timeout} s"
                )
            await asyncio.sleep(0.1)
        return time.time()
