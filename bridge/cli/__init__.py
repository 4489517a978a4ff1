"""``iobridge``: the admin's command line. Every failure is one line and a non-zero exit.

One module per group of commands; importing them registers their commands on ``main``.
"""

from bridge.cli import calls, database, live, lockouts, rooms, runtime, speaker_stack, tokens
from bridge.cli.base import main

__all__ = [
    "calls",
    "database",
    "live",
    "lockouts",
    "main",
    "rooms",
    "runtime",
    "speaker_stack",
    "tokens",
]
