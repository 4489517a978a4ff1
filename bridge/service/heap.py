"""Give the C allocator's free memory back to the system, now and then.

The soak (bench/README.md) showed the service's memory growing under churn while nothing
held more: Python's traced memory stayed flat and glibc's in-use bytes too, but its arenas
kept what was freed (page caches of database connections opened and closed, the threads
that serve them, messages parsed and dropped). glibc returns it only from the top of a
heap; ``malloc_trim(0)`` also hands back the free pages inside each arena. Where the C
library is not glibc (musl, macOS) there is nothing to call and nothing is done."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
from collections.abc import Callable
from functools import cache

log = logging.getLogger(__name__)

TRIM_EVERY_SECONDS = 60.0


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
        return trim
    except (OSError, AttributeError):
        return None


def trim_heap() -> bool:
    """Hand the allocator's free pages back to the system; False where it cannot."""
    trim = _malloc_trim()
    return bool(trim is not None and trim(0))


async def keep_trimming(every: float = TRIM_EVERY_SECONDS) -> None:
    """Trim every ``every`` seconds, off the event loop (a trim walks every arena)."""
    if _malloc_trim() is None:
        log.info("heap.trim_unavailable reason=%r", "not glibc")
        return
    while True:
        await asyncio.sleep(every)
        await asyncio.to_thread(trim_heap)
