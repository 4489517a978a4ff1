"""Connection limits for the panel's HTTP server, below aiohttp.

aiohttp keeps an idle connection for an hour by default and counts none of them, so a few
hundred idle sockets from one address use up the process's file descriptors, and with them
the FastAGI dialogue every caller needs. Here: a short keep-alive (which in aiohttp also
bounds how long a request's headers may take), a short lingering close (an unread body is
drained this long at most; ``bridge.web.bodies`` bounds reading one), smaller header
limits, and a cap on open connections per client and in all. A connection over a cap gets
a 503 and is closed before aiohttp sees it. The FastAGI server has its own, separate bound.

- A client is an IPv4 address, or an IPv6 /64 (one subscriber holds a whole /64).
- A trusted proxy (``trusted_proxies``) is not one client: only the total applies to it.
- A share of the total (``http_reserved_share``) is kept for logged-in moderators: once
  the rest is taken, a new connection is admitted only if its first request carries the
  cookie of a session the panel has seen lately, so a flood of strangers cannot turn the
  moderators away.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bridge.web.proxies import Network, is_trusted

if TYPE_CHECKING:
    from bridge.settings import Settings

log = logging.getLogger(__name__)

REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 5\r\n"
    b"Content-Type: text/plain\r\nContent-Length: 29\r\n\r\ntoo many connections, retry.\n"
)


@dataclass(frozen=True)
class HttpLimits:
    """The caps; the first three are the install's settings (``IOBRIDGE_HTTP_*``), and
    have no defaults here so that ``Settings`` is the one place that says what they are."""

    max_connections: int
    max_connections_per_client: int
    # Idle time allowed between requests, and for a request's headers to arrive.
    keepalive_seconds: float
    reserved_share: float = 0.0  # of max_connections, for logged-in moderators
    trusted_proxies: tuple[Network, ...] = ()
    max_line_size: int = 4096
    max_field_size: int = 8190
    max_headers: int = 64
    lingering_seconds: float = 1.0

    @classmethod
    def of(cls, settings: Settings) -> HttpLimits:
        return cls(
            max_connections=settings.http_max_connections,
            max_connections_per_client=settings.http_max_connections_per_client,
            keepalive_seconds=settings.http_keepalive_seconds,
            reserved_share=settings.http_reserved_share,
            trusted_proxies=tuple(settings.trusted_proxy_networks),
        )

    @property
    def open_to_anyone(self) -> int:
        """Connections anyone may hold; the rest are for logged-in moderators."""
        return self.max_connections - int(self.max_connections * self.reserved_share)

    def server_options(self) -> dict[str, Any]:
        """Keyword arguments for ``web.AppRunner`` (passed on to each request handler)."""
        return {
            "keepalive_timeout": self.keepalive_seconds,
            "lingering_time": self.lingering_seconds,
            "max_line_size": self.max_line_size,
            "max_field_size": self.max_field_size,
            "max_headers": self.max_headers,
        }


def client_of(address: str) -> str:
    """Who a connection is counted against: its IPv4 address, or its IPv6 /64."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else ip)


class ConnectionCounter:
    """Open connections, per client and in all; those waiting to show a session apart."""

    def __init__(self, limits: HttpLimits) -> None:
        self.limits = limits
        self.per_client: Counter[str] = Counter()
        self.total = 0  # admitted (to anyone's share or to the moderators')
        self.waiting = 0  # past anyone's share, their first request not read yet

    def is_proxy(self, address: str) -> bool:
        return is_trusted(address, self.limits.trusted_proxies)

    def claim(self, address: str) -> str | None:
        """A place for a new connection: "open" (admitted), "wait" (only if its first
        request shows a session), or None (refused)."""
        client = client_of(address)
        if self.total + self.waiting >= self.limits.max_connections:
            return None
        if (
            not self.is_proxy(address)
            and self.per_client[client] >= self.limits.max_connections_per_client
        ):
            return None
        self.per_client[client] += 1
        if self.total < self.limits.open_to_anyone:
            self.total += 1
            return "open"
        self.waiting += 1
        return "wait"

    def settle(self, address: str, admitted: bool) -> None:
        """A waiting connection showed a session (admitted) or did not (it is closed)."""
        self.waiting -= 1
        if admitted:
            self.total += 1
        else:
            self._forget(address)

    def admit(self, address: str) -> bool:
        """Claim a place in anyone's share only (no waiting)."""
        place = self.claim(address)
        if place == "wait":
            self.settle(address, admitted=False)
        return place == "open"

    def release(self, address: str) -> None:
        self._forget(address)
        self.total -= 1

    def _forget(self, address: str) -> None:
        client = client_of(address)
        self.per_client[client] -= 1
        if self.per_client[client] <= 0:
            del self.per_client[client]


class _Guarded(asyncio.Protocol):
    """One connection: counted and handed to aiohttp's handler, or refused. One that came
    past anyone's share waits for its first bytes: a session's cookie admits it."""

    def __init__(
        self,
        make_handler: Callable[[], asyncio.Protocol],
        counter: ConnectionCounter,
        has_session: Callable[[bytes], bool],
    ) -> None:
        self._make_handler = make_handler
        self._counter = counter
        self._has_session = has_session
        self._handler: asyncio.Protocol | None = None
        self._transport: asyncio.Transport | None = None
        self._waiting: asyncio.TimerHandle | None = None
        self._client = ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        peer = transport.get_extra_info("peername")
        self._client = str(peer[0]) if peer else "?"
        place = self._counter.claim(self._client)
        if place is None:
            self._refuse()
        elif place == "open":
            self._hand_over()
        else:
            loop = asyncio.get_running_loop()
            self._waiting = loop.call_later(
                self._counter.limits.keepalive_seconds, self._settle, False, b""
            )

    def _refuse(self) -> None:
        log.debug("http.refused client=%s open=%d", self._client, self._counter.total)
        assert self._transport is not None
        self._transport.write(REFUSAL)
        self._transport.close()

    def _hand_over(self) -> None:
        self._handler = self._make_handler()
        self._handler.connection_made(self._transport)  # type: ignore[arg-type]

    def _settle(self, admitted: bool, data: bytes) -> None:
        if self._waiting is None:
            return
        self._waiting.cancel()
        self._waiting = None
        admitted = admitted and self._counter.total < self._counter.limits.max_connections
        self._counter.settle(self._client, admitted)
        if not admitted:
            self._refuse()
            return
        self._hand_over()
        assert self._handler is not None
        self._handler.data_received(data)

    def data_received(self, data: bytes) -> None:
        if self._waiting is not None:
            self._settle(self._has_session(data), data)
        elif self._handler is not None:
            self._handler.data_received(data)

    def eof_received(self) -> bool | None:
        return self._handler.eof_received() if self._handler is not None else None

    def pause_writing(self) -> None:
        if self._handler is not None:
            self._handler.pause_writing()

    def resume_writing(self) -> None:
        if self._handler is not None:
            self._handler.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._waiting is not None:
            self._waiting.cancel()
            self._waiting = None
            self._counter.settle(self._client, admitted=False)
        if self._handler is not None:
            self._counter.release(self._client)
            self._handler.connection_lost(exc)
            self._handler = None


def _no_session(head: bytes) -> bool:
    return False


async def serve(
    make_handler: Callable[[], Any],
    host: str,
    port: int,
    limits: HttpLimits,
    has_session: Callable[[bytes], bool] = _no_session,
) -> tuple[asyncio.Server, ConnectionCounter]:
    """Listen on ``host:port``; ``make_handler`` is aiohttp's ``runner.server``;
    ``has_session(first_bytes)`` says whether a request carries a live session's cookie."""
    counter = ConnectionCounter(limits)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _Guarded(make_handler, counter, has_session), host, port, reuse_address=True
    )
    return server, counter
