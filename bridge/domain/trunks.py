"""Trunks as the rest of the bridge sees them: a carrier's SIP connection, the phone numbers
(DIDs) it delivers and where each one leads, and what dial-out through it may do.

Plain frozen values, no I/O. The rooms file reader (``bridge.roomsfile.trunks``) builds them
and enforces their invariants (unique names and numbers, known rooms, E.164 numbers). A trunk
never holds its secret: only where to read it (``secret_file`` or ``secret_env``), read when
Asterisk's configuration is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

TRUNK_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")  # also the PJSIP endpoint's name
E164 = re.compile(r"\+[1-9][0-9]{5,14}")
DEFAULT_CODECS = ("ulaw", "alaw", "g722")
CODECS = frozenset({"ulaw", "alaw", "g722", "g729", "opus", "gsm", "slin"})


class TrunkKind(StrEnum):
    IP = "ip"  # the carrier's calls are known by the address they come from (``match``)
    REGISTER = "register"  # io-bridge registers to the carrier with a username and secret


class Transport(StrEnum):
    UDP = "udp"
    TCP = "tcp"
    TLS = "tls"


class DtmfMode(StrEnum):
    AUTO = "auto"  # RFC 4733 when the carrier offers it, else inband (the tones in the audio)
    RFC4733 = "rfc4733"
    INBAND = "inband"
    INFO = "info"


@dataclass(frozen=True)
class TrunkNumber:
    """A DID: to the PIN prompt (``room`` None), or straight into one room, where
    ``pin_required`` False lets the caller in without any PIN (a public call)."""

    number: str
    room: str | None = None
    pin_required: bool = True


@dataclass(frozen=True)
class Outbound:
    """Dial-out through a trunk. No prefix listed: every number is refused."""

    allowed_prefixes: tuple[str, ...] = ()
    max_concurrent: int = 10
    calls_per_second: float = 1.0
    caller_id: str | None = None

    def allows(self, number: str) -> bool:
        return any(number.startswith(prefix) for prefix in self.allowed_prefixes)


@dataclass(frozen=True)
class TrunkSpec:
    name: str
    kind: TrunkKind
    host: str
    port: int = 5060
    transport: Transport = Transport.UDP
    match: tuple[str, ...] = ()
    username: str | None = None
    secret_file: str | None = None  # where the secret is, never the secret
    secret_env: str | None = None
    numbers: tuple[TrunkNumber, ...] = ()
    outbound: Outbound = field(default_factory=Outbound)
    codecs: tuple[str, ...] = DEFAULT_CODECS
    dtmf_mode: DtmfMode = DtmfMode.AUTO
    external_media_address: str | None = None
    external_signaling_address: str | None = None

    def number(self, dialled: str) -> TrunkNumber | None:
        """The DID a call through this trunk dialled, if it is one of its numbers."""
        wanted = dialled_number(dialled)
        return next((n for n in self.numbers if n.number == wanted), None)


def dialled_number(dialled: str) -> str | None:
    """A request's number as a DID: carriers send ``+15557770001`` or ``15557770001``."""
    digits = dialled.strip()
    return e164_or_none(digits) or e164_or_none("+" + digits.lstrip("+"))


class NotANumber(ValueError):
    """A phone number that is not E.164 (and cannot be made so); the message says why."""


def e164(text: str) -> str:
    """``text`` as an E.164 number: ``+15557770000`` from ``+1 (555) 777-0000`` or
    ``+1-555-777-0000``; a number without ``+`` (or ``00``) has no country: refused."""
    raw = text.strip()
    cleaned = re.sub(r"[\s().\-/]", "", raw)
    if cleaned.startswith("00"):
        cleaned = "+" + cleaned[2:]
    if not cleaned.startswith("+"):
        raise NotANumber(f"{raw!r}: a number needs its country code, like +15557770000")
    if not E164.fullmatch(cleaned):
        raise NotANumber(f"{raw!r}: not a phone number (expected + and 6 to 15 digits)")
    return cleaned


def e164_or_none(text: str) -> str | None:
    try:
        return e164(text)
    except NotANumber:
        return None
