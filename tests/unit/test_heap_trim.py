"""The service hands the allocator's free memory back: after many freed blocks pinned
in place by a few kept ones (what churn leaves in glibc's arenas), a trim brings the
process's resident memory back down."""

from __future__ import annotations

import os
import sys

import pytest

from bridge.service.heap import trim_heap

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")


def resident_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_a_trim_gives_freed_memory_back_to_the_system() -> None:
    blocks = [bytes(4000) for _ in range(20_000)]  # 80 MB, each from malloc (not pymalloc)
    kept = blocks[::50]  # pin the heap: freeing the rest leaves holes, not a shorter heap
    del blocks
    before = resident_mib()
    assert trim_heap()
    assert before - resident_mib() > 40, "the freed 78 MB stayed in the process"
    assert len(kept) == 400
