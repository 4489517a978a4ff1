"""Structured, quiet logs: one line per event, ``event key=value ...``, INFO and up."""

from __future__ import annotations

import logging
import sys
import time

# aiosqlite logs every query's parameters at DEBUG: a password typed as a username among them.
NOISY = (
    "panoramisk", "bridge.asterisk.panoramisk", "aiohttp.access", "alembic", "asyncio", "aiosqlite",
)  # fmt: skip


class LineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(record.created))
        line = f"{stamp} {record.levelname.lower():<7} {record.name}: {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LineFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in NOISY:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
