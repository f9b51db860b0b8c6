"""Bench helpers: a `per_chunk` fixture and a summary of per-chunk times at the end of the run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

PER_CHUNK = pytest.StashKey[list[tuple[str, str, float, int]]]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[PER_CHUNK] = []


@pytest.fixture
def per_chunk(request: pytest.FixtureRequest, benchmark: Any) -> Callable[[int], None]:
    """Call after the benchmark with its chunk count: records the best round's time per chunk."""

    def record(n_chunks: int) -> None:
        stats = getattr(benchmark, "stats", None)
        if stats is None:  # --benchmark-disable: nothing was timed
            return
        ns = stats.stats.min / n_chunks * 1e9
        benchmark.extra_info["chunks"] = n_chunks
        benchmark.extra_info["per_chunk_ns"] = round(ns, 1)
        request.config.stash[PER_CHUNK].append((benchmark.group or "", benchmark.name, ns, n_chunks))

    return record


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    rows = config.stash.get(PER_CHUNK, [])
    if not rows:
        return
    tr = terminalreporter
    tr.write_sep("-", "per-chunk time (best round ÷ chunks)")
    for group, name, ns, n in sorted(rows):
        tr.write_line(f"{group:22s} {name:58s} {ns:9.1f} ns/chunk  ({n} chunks)")
    flat = {name: ns for group, name, ns, _ in rows if group == "flat-cost"}
    small = next((ns for name, ns in flat.items() if "100KB" in name), None)
    big = next((ns for name, ns in flat.items() if "1MB" in name), None)
    if small and big:
        tr.write_line(f"flat cost: per chunk at 1 MB ÷ at 100 KB = {big / small:.2f} (bar ≤ 1.3)")
