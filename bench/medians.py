"""A fair join comparison: each size is run R times (3 in the full run), the two paths in
alternating order (at 1,000 the path run second pays for the first one's mass leave:
Asterisk is still tearing 1,000 channels down), and each path's p50 and p99 are the
median of its R runs. The added latency is the io-bridge median minus the bare one."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from bench.storm import PATHS

# The target of issue 23: added over bare Asterisk, at 400 and at 1,000.
ADDED_P50_MS = 0.5
ADDED_P99_MS = 2.0


def path_order(size_index: int, repeat: int) -> tuple[str, ...]:
    """The paths in the order this run takes them: each repeat swaps the order of the one
    before, and each size starts where the one before did not."""
    return PATHS if (size_index + repeat) % 2 == 0 else tuple(reversed(PATHS))


def _median(values: Sequence[float | None]) -> float | None:
    found = [v for v in values if v is not None]
    return statistics.median(found) if found else None


def join_medians(storms: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per size: each path's median p50/p99 over its runs, and what io-bridge adds."""
    out = []
    for n in sorted({s["n"] for s in storms}):
        row: dict[str, Any] = {"n": n}
        for path in PATHS:
            runs = [s for s in storms if s["n"] == n and s["path"] == path]
            row[path] = {
                "runs": len(runs),
                "p50": _median([s["latency_ms"]["p50"] for s in runs]),
                "p99": _median([s["latency_ms"]["p99"] for s in runs]),
                "failed": sum(s["failed"] for s in runs),
            }
        for q, target in (("p50", ADDED_P50_MS), ("p99", ADDED_P99_MS)):
            ours, bare = row["iobridge"][q], row["bare"][q]
            added = None if ours is None or bare is None else ours - bare
            row[f"added_{q}"] = added
            row[f"met_{q}"] = None if added is None else added <= target
        out.append(row)
    return out
