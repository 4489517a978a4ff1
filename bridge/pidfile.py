"""The state folder's lock files: one running stack per state folder (``PidFile``), and who
holds one (``holder``)."""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import IO

from bridge.errors import StartupError
from bridge.settings import PRIVATE_FILE, make_private_dir


class PidFile:
    """An exclusive lock on the state folder: one running stack per state folder. The
    kernel drops the lock with the process, however it dies."""

    def __init__(self, path: Path, what: str = "io-bridge") -> None:
        self.path = path
        self.what = what
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        if self._handle is not None:
            return  # ours already (``Runtime.take_turn`` took it before ``start``)
        make_private_dir(self.path.parent)
        handle = os.fdopen(os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE), "r+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            other = handle.read().strip() or "?"
            handle.close()
            raise StartupError(
                f"{self.what} is already running from {self.path.parent} (pid {other}); "
                "stop it first"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()
            self._handle.close()
            self._handle = None


def holder(path: Path) -> str | None:
    """The pid written in a ``PidFile`` whose lock a running process holds; None when no
    process holds it (or there is no such file)."""
    try:
        handle = path.open()
    except OSError:
        return None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return handle.read().strip() or "?"
        return None
