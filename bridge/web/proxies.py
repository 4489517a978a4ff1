"""Behind a reverse proxy: who the client is, and whether it came over HTTPS.

Only a peer in ``trusted_proxies`` is believed: from it, ``X-Forwarded-For`` names the
client (the right-most address that is not itself a trusted proxy) and
``X-Forwarded-Proto`` the scheme, read by aiohttp-remotes' ``XForwardedFiltered``. From
any other peer these headers change nothing (anyone can send them). ``X-Forwarded-Host``
is never read: which origin the panel has is the admin's ``public_origin``.

So ``request.remote`` is the real client (the login throttle counts it) and
``request.secure`` is true when the browser spoke HTTPS to the proxy (the session cookie is
then ``Secure``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import hdrs, web
from aiohttp_remotes import XForwardedFiltered

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# What a proxy may add to say a request is not its own; the admin token is refused with any.
FORWARDING_HEADERS = (
    hdrs.FORWARDED,
    hdrs.X_FORWARDED_FOR,
    hdrs.X_FORWARDED_HOST,
    hdrs.X_FORWARDED_PROTO,
    "X-Real-IP",
    hdrs.VIA,
)


def peer_of(request: web.Request) -> str | None:
    """The address of the socket's other end (not what any header says)."""
    transport = request.transport
    peer = transport.get_extra_info("peername") if transport is not None else None
    return str(peer[0]) if isinstance(peer, tuple | list) and peer else None


def is_trusted(address: str | None, proxies: Sequence[Network]) -> bool:
    if address is None or not proxies:
        return False
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in proxies)


def forwarded(request: web.Request) -> bool:
    """Did this request pass through a proxy (any forwarding header, from anyone)?"""
    return any(name in request.headers for name in FORWARDING_HEADERS)


def trust_proxies(proxies: Sequence[Network]) -> Callable[..., Awaitable[web.StreamResponse]]:
    """The middleware: a trusted proxy's forwarding headers believed, nobody else's."""
    believe = XForwardedFiltered(set(proxies)) if proxies else None

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if believe is None or not is_trusted(peer_of(request), proxies):
            return await handler(request)
        if hdrs.X_FORWARDED_HOST in request.headers:
            headers = request.headers.copy()
            del headers[hdrs.X_FORWARDED_HOST]
            request = request.clone(headers=headers)
        return await believe.middleware(request, handler)

    return middleware
