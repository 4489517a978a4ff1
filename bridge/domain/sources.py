"""Who a wrong PIN counts against: a caller's *source*.

For the internet endpoint (``[anonymous]`` in asterisk-config/pjsip.conf, callers without
an account) the source is the address the SIP request came from, which a caller cannot
choose freely the way they choose a caller ID (an IPv6 address counts by its /64, the block
one subscriber gets). For a configured trunk, which carries many callers from one address,
it is the caller ID the trunk asserts; a trunk call without one is *unattributable*: it has
no budget of its own to spend or to lose, so a withheld number is not one bucket that a
stranger could lock for everyone.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import StrEnum

from bridge.domain.entry import WITHHELD_CALLER_IDS

# The endpoint whose callers are counted by address (asterisk-config/pjsip.conf).
INTERNET_ENDPOINT = "anonymous"
SOURCE_LIMIT = 80  # characters: what the database keeps of a source's name


class SourceKind(StrEnum):
    ADDRESS = "address"  # the internet endpoint: where the SIP request came from
    CALLER_ID = "caller-id"  # a configured trunk: the caller ID it asserts
    UNATTRIBUTABLE = "unattributable"  # a trunk call without a caller ID


@dataclass(frozen=True, order=True)
class Source:
    kind: SourceKind
    key: str

    @property
    def attributable(self) -> bool:
        return self.kind is not SourceKind.UNATTRIBUTABLE

    def __str__(self) -> str:
        return f"{self.kind}:{self.key}"


def internet_source(address: str) -> Source:
    """A caller on the internet endpoint, by the address its SIP request came from."""
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return Source(SourceKind.UNATTRIBUTABLE, "internet")
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None:
        return Source(SourceKind.ADDRESS, str(ipaddress.IPv6Network((ip, 64), strict=False)))
    v4 = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else ip
    return Source(SourceKind.ADDRESS, str(v4))


def trunk_source(trunk: str, caller_id: str) -> Source:
    """A caller through a configured trunk, by the caller ID the trunk asserts."""
    cleaned = caller_id.strip()
    digits = "".join(c for c in cleaned if c.isdigit())
    if cleaned.lower() in WITHHELD_CALLER_IDS or not digits:
        return Source(SourceKind.UNATTRIBUTABLE, trunk)
    number = ("+" if cleaned.startswith("+") else "") + digits
    return Source(SourceKind.CALLER_ID, f"{trunk}/{number}"[:SOURCE_LIMIT])


def host_of(remote_address: str) -> str:
    """The host part of Asterisk's ``CHANNEL(pjsip,remote_addr)``: ``203.0.113.7:5060``,
    ``[2001:db8::1]:5060``, or an address without a port."""
    text = remote_address.strip()
    if text.startswith("["):
        return text[1:].split("]", 1)[0]
    if text.count(":") == 1:
        return text.split(":", 1)[0]
    return text


def caller_source(remote_address: str, endpoint: str, caller_id: str) -> Source:
    """The source of a call, from what its channel says: the PJSIP endpoint it came in on,
    the address its INVITE came from, and its caller ID."""
    endpoint = endpoint.strip()
    if endpoint and endpoint != INTERNET_ENDPOINT:
        return trunk_source(endpoint, caller_id)
    return internet_source(host_of(remote_address))


def parse_source(text: str) -> Source:
    """A source as an admin types it (``iobridge lockouts clear``): as listed
    (``address:203.0.113.7``, ``caller-id:provider/+15550100``), or an address alone."""
    kind, sep, key = text.strip().partition(":")
    if sep and kind in (SourceKind.ADDRESS, SourceKind.CALLER_ID):
        if kind == SourceKind.CALLER_ID:
            trunk, slash, number = key.partition("/")
            found = trunk_source(trunk, number) if slash else None
            if found is None or not found.attributable:
                raise ValueError(f"{text!r}: expected caller-id:TRUNK/NUMBER")
            return found
        key = key.split("/", 1)[0]  # an IPv6 source is listed as its /64
        text = key
    found = internet_source(text)
    if not found.attributable:
        raise ValueError(
            f"{text!r} is not a source: give an address (203.0.113.7) or a source as "
            "'iobridge lockouts list' shows it"
        )
    return found
