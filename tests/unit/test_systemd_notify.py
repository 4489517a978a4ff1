"""systemd's notification protocol, spoken without libsystemd: a datagram to the socket in
NOTIFY_SOCKET, a path or (``@``) an abstract name; nothing at all outside systemd."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from bridge.systemd import notify


def test_ready_is_one_datagram_to_the_socket_systemd_names(tmp_path: Path) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as systemd:
        systemd.bind(str(tmp_path / "notify"))
        assert notify("READY=1", "STATUS=up", environ={"NOTIFY_SOCKET": str(tmp_path / "notify")})
        assert systemd.recv(4096) == b"READY=1\nSTATUS=up"


def test_an_abstract_socket_name_is_reached_too() -> None:
    name = f"iobridge-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as systemd:
        systemd.bind("\0" + name)
        assert notify("READY=1", environ={"NOTIFY_SOCKET": "@" + name})
        assert systemd.recv(4096) == b"READY=1"


def test_outside_systemd_nothing_is_sent() -> None:
    assert not notify("READY=1", environ={})


def test_a_socket_that_is_gone_is_a_warning_not_a_failure(tmp_path: Path) -> None:
    assert not notify("READY=1", environ={"NOTIFY_SOCKET": str(tmp_path / "gone")})
