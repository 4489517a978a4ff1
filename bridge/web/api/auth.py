"""Who calls the JSON API: a bearer token in ``Authorization``, one of two kinds.

- A script's token (``iobridge tokens create --user NAME``): it acts as that moderator,
  with that moderator's rooms as the database says at this request, and the audit trail
  names the moderator. Unknown, revoked or expired, or the moderator gone: 401. A token's
  scope narrows that: made ``--rooms a,b`` it sees and acts on those rooms alone (the
  ``Principal`` carries only them); made ``--read-only`` it may GET, and any other method
  is refused here (403) before the route runs, as every action's right is (``Principal.may``).
- The admin token in the state folder: the local CLI, with every room, audited as
  "admin". Only from this machine, and never through a proxy: a connection from elsewhere,
  or a request that carries any forwarding header (``X-Forwarded-For``, ``Forwarded``,
  ``Via``...), is refused (403). A reverse proxy on the machine itself connects from
  loopback, so without that second rule every request it forwards would count as local;
  scripts behind one use a moderator's token instead.
"""

from __future__ import annotations

import hmac
import ipaddress

from aiohttp import web

from bridge.domain.accounts import Principal
from bridge.errors import BadToken, NotAllowed, NotLoggedIn
from bridge.web.keys import ADMIN_TOKEN, SERVICE
from bridge.web.proxies import forwarded

READING = frozenset({"GET", "HEAD", "OPTIONS"})  # what a read-only token may send


async def principal_of(request: web.Request) -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    presented = presented.strip()
    if scheme.lower() != "bearer" or not presented:
        raise NotLoggedIn("send a token: Authorization: Bearer TOKEN (iobridge tokens create)")
    admin = request.app[ADMIN_TOKEN].encode()
    if hmac.compare_digest(presented.encode("utf-8", "surrogateescape"), admin):
        peer, local = _addresses(request)
        if forwarded(request) or not from_this_machine(peer, local):
            raise NotAllowed(
                "the admin token works only on this machine, not through a proxy; "
                "use a moderator's token"
            )
        return Principal.admin()
    principal = await request.app[SERVICE].tokens.principal(presented)
    if principal is None:
        raise BadToken()
    if principal.read_only and request.method not in READING:
        raise NotAllowed(f"this token of {principal.username}'s is read-only: it may only read")
    return principal


def _addresses(request: web.Request) -> tuple[str | None, str | None]:
    transport = request.transport
    if transport is None:
        return None, None
    return _host(transport.get_extra_info("peername")), _host(transport.get_extra_info("sockname"))


def _host(address: object) -> str | None:
    """The host of a socket address: (host, port) for IPv4, (host, port, flow, scope) for v6."""
    return str(address[0]) if isinstance(address, tuple | list) and address else None


def from_this_machine(peer: str | None, local: str | None) -> bool:
    """A connection from a loopback address, or from the very address it reached (a
    process here talking to the machine's own LAN address)."""
    if peer is None:
        return False
    try:
        if ipaddress.ip_address(peer.split("%", 1)[0]).is_loopback:
            return True
    except ValueError:
        return False
    return peer == local
