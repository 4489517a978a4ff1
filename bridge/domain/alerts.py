"""Alerts (a phone tree): one recorded message rung out to a list of numbers, each number a
call out of ``bridge.domain.dialout`` (the same trunks, limits and pace), with what became
of it in the words of the alert's results. No I/O: the message arrives as bytes.

A number's result: ``queued`` and ``ringing`` while it waits, ``answered`` while its
message plays; then ``reached`` (answered, gone before the message's end), ``heard`` (the
message played to its end: still on the line while the room is offered), ``joined`` (it
pressed 1 and is in the alert's room), or, unanswered, ``busy``, ``no-answer``,
``declined`` (refused the call) or ``failed``; ``cancelled`` when the service stopped first.

An alert's progress sums its numbers up: how many were reached (their phone answered), in
how many calls, and how many wait to be tried again ("2 of 3 numbers reached in 4 calls,
1 retry pending").
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import StrEnum

from bridge.domain.accounts import Principal, Right, Via
from bridge.domain.dialout.calls import CallOut, CallState

RATE, CHANNELS, WIDTH = 8000, 1, 2  # what Asterisk's "wav" format is: no transcoding
PCM = 1  # WAVE_FORMAT_PCM: plain samples
MAX_MESSAGE_SECONDS = 120.0
MAX_MESSAGE_BYTES = int(MAX_MESSAGE_SECONDS * RATE * WIDTH) + 4096  # a header's room
WANTED = "a WAV file, 8000 Hz, mono, 16-bit (sox IN -r 8000 -c 1 -b 16 OUT.wav)"


class BadMessage(ValueError):
    """The message is not a WAV Asterisk plays as it is; one line a person reads."""


def check_message(data: bytes) -> float:
    """The message's duration in seconds; ``BadMessage`` says what is wrong otherwise. Read
    from the RIFF chunks here (no file, no stream): ``fmt `` says the format, ``data`` the
    audio."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise BadMessage(f"the message is too long: at most {MAX_MESSAGE_SECONDS:.0f} s")
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise BadMessage(f"the message is not {WANTED}")
    chunks = _chunks(data)
    fmt = chunks.get(b"fmt ")
    if fmt is None or len(fmt) < 16 or b"data" not in chunks:
        raise BadMessage(f"the message is a WAV file without its format or audio: {WANTED}")
    encoding, channels, rate = struct.unpack_from("<HHI", fmt)
    (bits,) = struct.unpack_from("<H", fmt, 14)
    found = []
    if encoding != PCM:
        found.append("compressed")
    if rate != RATE:
        found.append(f"{rate} Hz")
    if channels != CHANNELS:
        found.append("stereo" if channels == 2 else f"{channels} channels")
    if bits != WIDTH * 8:
        found.append(f"{bits}-bit")
    if found:
        raise BadMessage(f"the message is {', '.join(found)}: expected {WANTED}")
    frames = len(chunks[b"data"]) // WIDTH
    if frames == 0:
        raise BadMessage("the message has no audio")
    return frames / RATE


def _chunks(data: bytes) -> dict[bytes, bytes]:
    """The RIFF file's chunks by their id (the first of each); a truncated last chunk is
    kept as far as it goes."""
    chunks: dict[bytes, bytes] = {}
    at = 12
    while at + 8 <= len(data):
        name, size = data[at : at + 4], struct.unpack_from("<I", data, at + 4)[0]
        chunks.setdefault(name, data[at + 8 : at + 8 + size])
        at += 8 + size + (size & 1)  # chunks are padded to an even size
    return chunks


class AlertResult(StrEnum):
    QUEUED = "queued"
    RINGING = "ringing"
    ANSWERED = "answered"
    REACHED = "reached"
    HEARD = "heard"
    JOINED = "joined"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    DECLINED = "declined"
    FAILED = "failed"
    CANCELLED = "cancelled"


def result_of(call: CallOut) -> AlertResult:
    """What became of one number of an alert, from its call out."""
    if call.state is CallState.JOINED:
        return AlertResult.JOINED
    if call.heard:
        return AlertResult.HEARD
    if call.state is CallState.ANSWERED:
        return AlertResult.ANSWERED
    if call.channel and call.state is not CallState.CANCELLED:
        return AlertResult.REACHED
    return AlertResult(str(call.state))


ANSWERED_RESULTS = frozenset(
    {AlertResult.ANSWERED, AlertResult.REACHED, AlertResult.HEARD, AlertResult.JOINED}
)


@dataclass(frozen=True)
class AlertProgress:
    numbers: int
    reached: int  # their phone answered (answered, reached, heard or joined)
    attempts: int  # calls made, every number's attempts together
    retries_pending: int  # numbers not reached yet that will be called again

    @classmethod
    def of(cls, calls: list[CallOut]) -> AlertProgress:
        return cls(
            numbers=len(calls),
            reached=sum(result_of(c) in ANSWERED_RESULTS for c in calls),
            attempts=sum(c.attempts for c in calls),
            retries_pending=sum(c.waiting_to_retry() for c in calls),
        )

    def line(self) -> str:
        """One line a person reads: "2 of 3 numbers reached in 4 calls, 1 retry pending"."""
        said = f"{self.reached} of {_counted(self.numbers, 'number', 'numbers')} reached"
        if self.attempts:
            said += f" in {_counted(self.attempts, 'call', 'calls')}"
        else:
            said += ", none called yet"
        if self.retries_pending:
            said += f", {_counted(self.retries_pending, 'retry', 'retries')} pending"
        return said


def _counted(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


@dataclass(frozen=True)
class Alert:
    """One alert: who sent which message to how many numbers, and into which room (None: a
    message only, no offer to join)."""

    id: str
    asked_by: str
    asked_at: float
    room: str | None
    trunk: str | None
    seconds: float  # the message's length

    def as_json(self, calls: list[CallOut]) -> dict[str, object]:
        progress = AlertProgress.of(calls)
        return {
            "id": self.id,
            "asked_by": self.asked_by,
            "asked_at": self.asked_at,
            "room": self.room,
            "trunk": self.trunk,
            "seconds": round(self.seconds, 2),
            "reached": progress.reached,
            "attempts": progress.attempts,
            "retries_pending": progress.retries_pending,
            "summary": progress.line(),
            "numbers": [
                {
                    "number": c.number,
                    "name": c.name,
                    "result": str(result_of(c)),
                    "attempts": c.attempts,
                    "retry_pending": c.waiting_to_retry(),
                    "updated_at": c.updated_at,
                }
                for c in calls
            ],
        }


def may_alert(principal: Principal, room: str | None) -> bool:
    """Who may send (and see) an alert: the admin (the local CLI's admin token) any; a host
    of its room one that names the room. An alert with no room is the admin's alone: it
    rings numbers for no room any moderator answers for."""
    if principal.via is Via.ADMIN_TOKEN and not principal.read_only:
        return True
    return room is not None and principal.may(Right.HOST, room)
