"""The state folder's files: private to the service's user, whatever the umask."""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_DIR = 0o700  # the state folder holds PINs (the database), secrets and recordings
PRIVATE_FILE = 0o600


def make_private_dir(folder: Path) -> None:
    """Make ``folder`` (parents as needed) and set it 0700, whatever the umask."""
    folder.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    folder.chmod(PRIVATE_DIR)


def make_tree_private(folder: Path) -> None:
    """``folder`` and every folder in it 0700, every file 0600: what an earlier version or
    a loose umask left behind. Symbolic links are left alone (and not followed)."""
    make_private_dir(folder)
    for root, dirs, files in os.walk(folder):
        for name, mode in [*((d, PRIVATE_DIR) for d in dirs), *((f, PRIVATE_FILE) for f in files)]:
            path = os.path.join(root, name)
            info = os.lstat(path)
            if (stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode)) and (
                stat.S_IMODE(info.st_mode) != mode
            ):
                os.chmod(path, mode)
