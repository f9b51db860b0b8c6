"""Timing helper shared by the ratio scripts."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def best(fn: Callable[[], Any], repeats: int) -> float:
    """The fastest of `repeats` runs of `fn`, in seconds (the least disturbed by the machine)."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)
