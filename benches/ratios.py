"""The core's three bars, measured side by side in one run.

    python benches/ratios.py [--repeats N] [--no-gc] [--check]

Each figure is the minimum over N repeats (time.perf_counter) of one pass over the chunks; the value a pass
returns is freed after the clock stops (see timing.best). Prints:
  feed+value ÷ trivial-call loop      unspool's per-chunk cost over one trivial PyO3 call   (bar ≤ 3)
  streaming_json_parser ÷ unspool     the same chunks through streaming_json_parser        (bar ≥ 10)
  1 MB ÷ 100 KB per chunk             unspool's per-chunk cost does not grow with the text  (bar ≤ 1.3)
and, for reference, `feed` alone, the bar's loop shape with empty chunks (no parsing), `json.loads` of
the whole document once (building the same objects with no streaming), and the bar's loop on the same
catalog with every non-ASCII character made `x` (what the non-ASCII text costs).
Every timed pass gets new chunk objects (see workload.renew), as a stream does. With --check,
exits 1 if a bar is missed.
"""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import jiter  # noqa: E402
import streaming_json_parser  # noqa: E402
import unspool  # noqa: E402
from timing import best, interleaved, ns, options, report  # noqa: E402
from workload import ascii_only, catalog_doc, products_for_bytes, renew, token_chunks  # noqa: E402


def unspool_run(chunks: list[str]) -> Callable[[], Any]:
    def run() -> Any:
        p = unspool.Parser()
        for c in chunks:
            p.feed(c)
            p.value
        return p.finish()

    return run


def unspool_feed_only_run(chunks: list[str]) -> Callable[[], Any]:
    def run() -> Any:
        p = unspool.Parser()
        for c in chunks:
            p.feed(c)
        return p.finish()

    return run


def floor_run(chunks: list[str]) -> Callable[[], None]:
    def run() -> None:
        from_json = jiter.from_json
        for _c in chunks:
            from_json(b"1")

    return run


def empty_feed_run(chunks: list[str]) -> Callable[[], None]:
    """The bar's loop shape without parsing: an empty `feed` and a `value` read per chunk."""

    def run() -> None:
        p = unspool.Parser()
        for _c in chunks:
            p.feed("")
            p.value

    return run


def loads_run(doc: str) -> Callable[[], Any]:
    """`json.loads` of the whole document once: building its objects, with no streaming at all."""

    def run() -> Any:
        return json.loads(doc)

    return run


def sjp_run(chunks: list[str]) -> Callable[[], Any]:
    def run() -> Any:
        p = streaming_json_parser.StreamingJsonParser()
        for c in chunks:
            p.feed(c).value
        return p.finish().value

    return run


def main() -> int:
    ap = options(__doc__)
    args = ap.parse_args()
    r = args.repeats

    doc = catalog_doc(400)
    chunks = token_chunks(doc)
    expected = json.loads(doc)
    n = len(chunks)
    print(
        f"catalog: 400 products, {len(doc.encode()):,} bytes, {n:,} chunks of 1–6 chars; min of {r} repeats"
    )

    # Correctness first: every contender must end on the same value.
    assert unspool_run(chunks)() == expected
    assert sjp_run(chunks)() == expected

    small_doc = catalog_doc(products_for_bytes(100_000))
    big_doc = catalog_doc(products_for_bytes(1_000_000))
    small, big = token_chunks(small_doc), token_chunks(big_doc)
    plain = token_chunks(ascii_only(doc))

    def fresh() -> None:
        for c in (chunks, small, big, plain):
            renew(c)

    if args.no_gc:
        gc.disable()
    t = interleaved(
        {
            "floor": (floor_run(chunks), 1),
            "unspool": (unspool_run(chunks), 1),
            "feed": (unspool_feed_only_run(chunks), 1),
            "empty_feed": (empty_feed_run(chunks), 1),
            "loads": (loads_run(doc), 1),
            "ascii": (unspool_run(plain), 1),
            "small": (unspool_run(small), 1),
            "big": (unspool_run(big), 1),
        },
        r,
        setup=fresh,
    )
    t_floor, t_uns, t_feed, t_small, t_big = t["floor"], t["unspool"], t["feed"], t["small"], t["big"]
    t_sjp = float("inf")
    for _ in range(max(2, r // 2)):
        t_sjp = min(t_sjp, best(sjp_run(chunks), 1, setup=fresh))
    gc.enable()

    print(f"  unspool feed+value          {ns(t_uns, n)}")
    print(
        f"  unspool feed only           {ns(t_feed, n)}   (for reference: `feed` alone; it keeps `value` "
        "current)"
    )
    print(f"  trivial PyO3 call loop      {ns(t_floor, n)}   (jiter.from_json(b'1') per chunk)")
    print(
        f"  empty feed + value          {ns(t['empty_feed'], n)}   (`p.feed(''); p.value` per chunk: "
        f"{t['empty_feed'] / t_floor:.2f}× the trivial loop before any parsing)"
    )
    print(
        f"  json.loads, whole document  {ns(t['loads'], n)}   (once, per chunk of the stream: "
        f"{t['loads'] / t_floor:.2f}× the trivial loop to build the objects, with no streaming)"
    )
    print(
        f"  feed+value, ASCII-only text {ns(t['ascii'], n)}   (every non-ASCII character made `x`: "
        f"{t['ascii'] / t_floor:.2f}× the trivial loop)"
    )
    print(
        f"  streaming_json_parser       {ns(t_sjp, n)}   (v{streaming_json_parser.__version__}, default mode)"
    )
    print(f"  unspool ~100 KB             {ns(t_small, len(small))}   ({len(small_doc.encode()):,} bytes)")
    print(f"  unspool ~1 MB               {ns(t_big, len(big))}   ({len(big_doc.encode()):,} bytes)")

    bars = [
        ("feed+value ÷ trivial-call loop", t_uns / t_floor, "≤", 3.0),
        ("streaming_json_parser ÷ unspool", t_sjp / t_uns, "≥", 10.0),
        ("per chunk 1 MB ÷ 100 KB", (t_big / len(big)) / (t_small / len(small)), "≤", 1.3),
    ]
    ok = report(bars)
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
