"""``iobridge``: the admin's command line. Every failure is one line and a non-zero exit.

One module per group of commands; a command's module is imported when that command runs
(``bridge.cli.base.COMMAND_MODULES``), and registers its commands on ``main``.
"""

from bridge.cli.base import main

__all__ = ["main"]
