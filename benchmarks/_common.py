"""Helpers shared by the benchmark scripts: timing medians and peak memory."""

from __future__ import annotations

import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

# Benchmarks run from a checkout: make `import semwidget` find it without installing.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def median_seconds(
    fn: Callable[[], object], repeats: int = 7, warmup: int = 1, sync: Callable[[], None] = lambda: None
) -> float:
    """Median wall time of ``fn`` over ``repeats`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
        sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
