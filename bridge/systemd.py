"""Telling systemd that the service is ready (``Type=notify``), by its notification
protocol: one datagram of ``KEY=VALUE`` lines to the Unix socket named in
``NOTIFY_SOCKET`` (an ``@`` first means Linux's abstract namespace). Outside systemd the
variable is not set and nothing is sent."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


def notify(*fields: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Send ``fields`` ("READY=1", "STATUS=...") to systemd; True when sent."""
    address = environ.get("NOTIFY_SOCKET", "")
    if address.startswith("@"):
        address = "\0" + address[1:]
    elif not address.startswith("/"):
        return False  # not under systemd (or a socket kind this does not speak)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall("\n".join(fields).encode())
    except OSError as exc:
        log.warning("systemd.notify_failed reason=%s", exc)
        return False
    return True
