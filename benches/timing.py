"""Timing helper shared by the ratio scripts."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any


def best(fn: Callable[[], Any], repeats: int, setup: Callable[[], Any] | None = None) -> float:
    """The fastest of `repeats` runs of `fn`, in seconds (the least disturbed by the machine).

    `setup`, if given, runs before each one, untimed. What `fn` returns is freed after the clock stops:
    the bars time making a value, and freeing a whole parsed document was ~3-5% of a stream's time.
    """
    times = []
    for _ in range(repeats):
        if setup is not None:
            setup()
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        del out
    return min(times)


def interleaved(
    runs: dict[str, tuple[Callable[[], Any], int]],
    repeats: int,
    setup: Callable[[], Any] | None = None,
) -> dict[str, float]:
    """The fastest time of each named run, taking `samples` runs of each in turn, `repeats` times over.

    Interleaving the contenders lets drift in machine speed touch all of them alike. `setup`, if
    given, runs before each timed run, untimed.
    """
    fastest = dict.fromkeys(runs, float("inf"))
    for _ in range(repeats):
        for name, (fn, samples) in runs.items():
            fastest[name] = min(fastest[name], best(fn, samples, setup))
    return fastest


def ns(t: float, k: int) -> str:
    """`t` seconds for `k` chunks, as total ms and ns per chunk."""
    return f"{t * 1e3:9.2f} ms  {t / k * 1e9:8.1f} ns/chunk"


def options(description: str | None) -> argparse.ArgumentParser:
    """The options every ratio script takes: --repeats, --no-gc, --check."""
    ap = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--no-gc", action="store_true", help="disable the garbage collector while timing")
    ap.add_argument("--check", action="store_true", help="exit 1 if a bar is missed")
    return ap


def report(bars: list[tuple[str, float | None, str, float]]) -> bool:
    """Prints each bar (name, measured ratio or None if skipped, "≤" or "≥", limit); True if all met."""
    ok = True
    for name, value, op, bar in bars:
        if value is None:
            print(f"{name:34s} {'—':>7s}   bar {op} {bar:<5} skipped")
            continue
        met = value <= bar if op == "≤" else value >= bar
        ok &= met
        print(f"{name:34s} {value:7.2f}   bar {op} {bar:<5} {'met' if met else 'MISSED'}")
    return ok
