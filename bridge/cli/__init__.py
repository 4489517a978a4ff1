"""``iobridge``: the admin's command line. Every failure is one line and a non-zero exit.

One module per group of commands; importing them registers their commands on ``main``.
"""

from bridge.cli import calls, live, lockouts, polls, rooms, runtime, speaker_stack, tokens
from bridge.cli.base import main

__all__ = [
    "calls",
    "live",
    "lockouts",
    "main",
    "polls",
    "rooms",
    "runtime",
    "speaker_stack",
    "tokens",
]
