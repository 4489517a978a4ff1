"""Connection limits for the panel's HTTP server, below aiohttp.

aiohttp keeps an idle connection for an hour by default and counts none of them, so a few
hundred idle sockets from one address use up the process's file descriptors, and with them
the FastAGI dialogue every caller needs. Here: a short keep-alive (which in aiohttp also
bounds how long a request's headers may take), smaller header limits, and a cap on open
connections per client address and in all. A connection over a cap gets a 503 and is
closed before aiohttp sees it. The FastAGI server has its own, separate bound (agi.py).

Behind a reverse proxy every client has the proxy's address: raise the per-client cap there.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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
    max_line_size: int = 4096
    max_field_size: int = 8190
    max_headers: int = 64

    @classmethod
    def of(cls, settings: Settings) -> HttpLimits:
        return cls(
            max_connections=settings.http_max_connections,
            max_connections_per_client=settings.http_max_connections_per_client,
            keepalive_seconds=settings.http_keepalive_seconds,
        )

    def server_options(self) -> dict[str, Any]:
        """Keyword arguments for ``web.AppRunner`` (passed on to each request handler)."""
        return {
            "keepalive_timeout": self.keepalive_seconds,
            "max_line_size": self.max_line_size,
            "max_field_size": self.max_field_size,
            "max_headers": self.max_headers,
        }


class ConnectionCounter:
    """Open connections, per client address and in all."""

    def __init__(self, limits: HttpLimits) -> None:
        self.limits = limits
        self.per_client: Counter[str] = Counter()
        self.total = 0

    def admit(self, client: str) -> bool:
        if self.total >= self.limits.max_connections:
            return False
        if self.per_client[client] >= self.limits.max_connections_per_client:
            return False
        self.per_client[client] += 1
        self.total += 1
        return True

    def release(self, client: str) -> None:
        self.per_client[client] -= 1
        if self.per_client[client] <= 0:
            del self.per_client[client]
        self.total -= 1


class _Guarded(asyncio.Protocol):
    """One connection: counted and handed to aiohttp's handler, or refused."""

    def __init__(self, make_handler: Callable[[], asyncio.Protocol], counter: ConnectionCounter):
        self._make_handler = make_handler
        self._counter = counter
        self._handler: asyncio.Protocol | None = None
        self._client = ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        self._client = str(peer[0]) if peer else "?"
        if not self._counter.admit(self._client):
            log.debug("http.refused client=%s open=%d", self._client, self._counter.total)
            assert isinstance(transport, asyncio.Transport)
            transport.write(REFUSAL)
            transport.close()
            return
        self._handler = self._make_handler()
        self._handler.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._handler is not None:
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
        if self._handler is not None:
            self._counter.release(self._client)
            self._handler.connection_lost(exc)
            self._handler = None


async def serve(
    make_handler: Callable[[], Any], host: str, port: int, limits: HttpLimits
) -> tuple[asyncio.Server, ConnectionCounter]:
    """Listen on ``host:port``; ``make_handler`` is aiohttp's ``runner.server``."""
    counter = ConnectionCounter(limits)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _Guarded(make_handler, counter), host, port, reuse_address=True
    )
    return server, counter
