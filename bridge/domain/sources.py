"""Who a wrong PIN counts against: a caller's *source*.

For the internet endpoint (``[anonymous]`` in asterisk-config/pjsip.conf, callers without
an account) the source is the address the SIP request came from, which a caller cannot
choose freely the way they choose a caller ID (an IPv6 address counts by its /64, the block
one subscriber gets).

A **trunk** is any other PJSIP endpoint that reaches the entry context. Asterisk knows it
only by the address its requests come from (``identify`` sections; the endpoint
identifier order is ``ip,anonymous``, never ``username``, so a From header cannot name
one). A trunk carries many callers from a few addresses, so its callers are told apart by
the number the trunk asserts (P-Asserted-Identity, then From: the dialplan passes it):

* a **numbered** trunk caller is ``caller-id:TRUNK/NUMBER``, with a budget of its own,
  like an address;
* a **withheld** number is ``withheld:TRUNK``: no budget of its own (one withheld caller
  must not lock out every other), only the trunk's shared budget.

Every trunk call also counts in its trunk's **shared budget**, per trunk and, when the
number dialled names a room, per trunk-and-room (``shared_key``): past it, that trunk's
prompts are spaced out (held, delayed), never refused. That is what bounds a guesser who
rotates the numbers a trunk passes on.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass
from enum import StrEnum

from bridge.domain.entry import WITHHELD_CALLER_IDS

# The endpoint whose callers are counted by address (asterisk-config/pjsip.conf).
INTERNET_ENDPOINT = "anonymous"
SOURCE_LIMIT = 80  # characters: what the database keeps of a source's name


class SourceKind(StrEnum):
    ADDRESS = "address"  # the internet endpoint: where the SIP request came from
    CALLER_ID = "caller-id"  # a trunk caller: the number the trunk asserts
    WITHHELD = "withheld"  # a trunk caller whose number is withheld
    UNATTRIBUTABLE = "unattributable"  # an address that cannot be read


@dataclass(frozen=True, order=True)
class Source:
    kind: SourceKind
    key: str

    @property
    def attributable(self) -> bool:
        """Has a budget of its own, which its failures can use up (and then it is refused)."""
        return self.kind in (SourceKind.ADDRESS, SourceKind.CALLER_ID)

    @property
    def trunk(self) -> str | None:
        """The trunk the call came through, if it did."""
        if self.kind is SourceKind.CALLER_ID:
            return self.key.rpartition("/")[0]
        return self.key if self.kind is SourceKind.WITHHELD else None

    def __str__(self) -> str:
        return f"{self.kind}:{self.key}"


def shared_key(source: Source, called_for: str | None = None) -> str | None:
    """The shared budget a source's failures also count in: its trunk's, split per room
    when the number the caller dialled names one. None off a trunk."""
    trunk = source.trunk
    if trunk is None:
        return None
    return f"{trunk}/{called_for}" if called_for else trunk


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


def asserted_number(asserted: str) -> str:
    """The number in what a trunk asserts (``+1 (555) 010-0100``, ``<sip:+1555@host>``,
    ``tel:+1555``): "" when withheld or when there are no digits."""
    text = asserted.strip().strip("<>")
    for scheme in ("sips:", "sip:", "tel:"):
        if text.lower().startswith(scheme):
            text = text[len(scheme) :].split("@", 1)[0].split(";", 1)[0]
            break
    if text.lower() in WITHHELD_CALLER_IDS:
        return ""
    digits = "".join(c for c in text if c.isdigit())
    return ("+" if text.startswith("+") else "") + digits if digits else ""


def trunk_source(trunk: str, caller_id: str) -> Source:
    """A caller through a trunk, by the number the trunk asserts."""
    number = asserted_number(caller_id)
    if not number:
        return Source(SourceKind.WITHHELD, trunk[:SOURCE_LIMIT])
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
    the address its INVITE came from, and (on a trunk) the number the trunk asserts."""
    endpoint = endpoint.strip()
    if endpoint and endpoint != INTERNET_ENDPOINT:
        return trunk_source(endpoint, caller_id)
    return internet_source(host_of(remote_address))


def parse_source(text: str) -> Source:
    """A source as an admin types it (``iobridge lockouts clear``) or the database keeps
    it: as listed (``address:203.0.113.7``, ``caller-id:provider/+15550100``,
    ``withheld:provider``), or an address alone."""
    kind, sep, key = text.strip().partition(":")
    if sep and kind == SourceKind.WITHHELD and key:
        return Source(SourceKind.WITHHELD, key)
    if sep and kind in (SourceKind.ADDRESS, SourceKind.CALLER_ID):
        if kind == SourceKind.CALLER_ID:
            trunk, slash, number = key.rpartition("/")
            found = trunk_source(trunk, number) if slash and trunk else None
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


def within(source: Source, networks: tuple[str, ...]) -> bool:
    """Whether an internet caller's source lies in one of ``networks`` (a room's
    ``allow_sources``; an IPv6 source, a /64, must lie wholly inside). Asked of every room
    up to three times per call on the shared number, so nothing is parsed twice."""
    if not networks or source.kind is not SourceKind.ADDRESS:
        return False
    mine = _network(source.key)
    for text in networks:
        network = _network(text)
        if mine.version == network.version and mine.subnet_of(network):  # type: ignore[arg-type]
            return True
    return False


@functools.lru_cache(maxsize=4096)
def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    # A join storm's callers share few sources, and rooms' networks change only at a sync:
    # ip_network() took more than half of a PIN's decision before (bench.entry_bench).
    return ipaddress.ip_network(text, strict=False)
