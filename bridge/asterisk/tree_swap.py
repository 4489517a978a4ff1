"""An update of the private Asterisk, swapped in when nothing runs the old one.

``iobridge asterisk ensure --refresh`` builds the archive's newest Asterisk beside the tree,
in ``next/`` (its own ``tree`` and ``complete.json``). A running Asterisk keeps loading
modules from its tree, so the swap waits for a start that finds no process running it.
Each step is a rename, the stamp (``complete.json``) goes first and comes back last: a
swap cut short leaves either no stamp (the next start builds again) or ``next/`` still in
place (the next start finishes the swap), never a stamp over a half-moved tree.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

NEXT = "next"
BINARY = "usr/sbin/asterisk"


def staged(base: Path) -> bool:
    """An update waits in ``base``/next."""
    return (base / NEXT / "complete.json").is_file() and (base / NEXT / "tree").is_dir()


def processes_running(tree: Path) -> list[int]:
    """The processes whose command line runs this tree's Asterisk (the private tree runs
    through its own loader, so the binary is an argument, not the executable)."""
    binary = str(tree / BINARY).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # gone, or not ours to read
        if binary in argv:
            found.append(int(entry.name))
    return found


def swap_in_staged(base: Path, progress: Callable[[str], None]) -> bool:
    """Swap the staged update in, unless an Asterisk still runs the current tree (then it
    waits for a later start). True when it swapped. The caller holds the cache's lock."""
    if not staged(base):
        return False
    tree, upcoming = base / "tree", base / NEXT
    running = processes_running(tree) if tree.exists() else []
    if running:
        progress(
            f"an updated Asterisk waits in {upcoming}; the current one still runs "
            f"(pid {', '.join(map(str, running))}): it is swapped in at a start after that"
        )
        return False
    old = base / "old"
    shutil.rmtree(old, ignore_errors=True)
    (base / "complete.json").unlink(missing_ok=True)
    if tree.exists():
        old.mkdir()
        tree.rename(old / "tree")
    (upcoming / "tree").rename(tree)
    os.replace(upcoming / "complete.json", base / "complete.json")
    shutil.rmtree(upcoming, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)
    progress(f"swapped in the updated private Asterisk at {tree}")
    return True
