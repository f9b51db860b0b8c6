"""The partial-model layer's three bars, measured side by side in one run.

    python benches/partial_ratios.py [--repeats N] [--no-gc] [--skip-instructor] [--check]

Every stream is `unspool.stream(chunks, response_model=Catalog)` over the shared catalog of
benches/workload.py in 1–6 character chunks, taking every partial it yields (one per visible change) and
then `get_final_response()`. Each unspool figure is the minimum over N repeats (time.perf_counter) of one
pass, pydantic's (a few ms) the minimum over 10·N; instructor's, which takes seconds, is one pass. What a
pass returns is freed after the clock stops (see timing.best). Prints:
  stream ÷ one model_validate_json    400 products streamed into partials, over one
                                      `Catalog.model_validate_json` of the whole text       (bar ≤ 30)
  instructor ÷ unspool                instructor's `Partial[Catalog].model_from_chunks` on the 50-product
                                      (~41 KB) catalog, over unspool on the same chunks      (bar ≥ 300)
  1 MB ÷ 100 KB per chunk             the stream's per-chunk cost does not grow with the text (bar ≤ 1.5)
Every timed pass gets new chunk objects (see workload.renew), as a stream does. instructor is no
dependency of unspool: run this script in a venv that has it, or pass --skip-instructor. With --check,
exits 1 if a bar is missed.
"""

from __future__ import annotations

import gc
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import unspool  # noqa: E402
from timing import interleaved, ns, options, report  # noqa: E402
from workload import Catalog, catalog_doc, products_for_bytes, renew, token_chunks  # noqa: E402


def stream_run(chunks: list[str]) -> Callable[[], Catalog]:
    def run() -> Catalog:
        s = unspool.stream(chunks, response_model=Catalog)
        for _partial in s:
            pass
        final: Catalog = s.get_final_response()
        return final

    return run


def count_partials(chunks: list[str]) -> int:
    return sum(1 for _ in unspool.stream(chunks, response_model=Catalog))


def validate_run(doc: str) -> Callable[[], Catalog]:
    return lambda: Catalog.model_validate_json(doc)


def instructor_partial() -> Any:
    """instructor's `Partial`, or None if it is not importable (its import warnings are silenced)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from instructor.dsl.partial import Partial
    except ImportError:
        return None
    return Partial


def instructor_run(partial: Any, chunks: list[str]) -> Callable[[], Any]:
    model = partial[Catalog]

    def run() -> Any:
        last = None
        for obj in model.model_from_chunks(iter(chunks)):
            last = obj
        return last

    return run


def main() -> int:
    ap = options(__doc__)
    ap.add_argument("--skip-instructor", action="store_true", help="do not run instructor (~10–20 s)")
    args = ap.parse_args()
    r = args.repeats

    doc = catalog_doc(400)
    chunks = token_chunks(doc)
    n = len(chunks)
    expected = Catalog.model_validate_json(doc)
    small_doc = catalog_doc(50)
    small_chunks = token_chunks(small_doc)
    small_expected = Catalog.model_validate_json(small_doc)
    flat_small_doc = catalog_doc(products_for_bytes(100_000))
    flat_big_doc = catalog_doc(products_for_bytes(1_000_000))
    flat_small, flat_big = token_chunks(flat_small_doc), token_chunks(flat_big_doc)

    partial = None if args.skip_instructor else instructor_partial()
    if partial is None and not args.skip_instructor:
        print("instructor is not importable here: its bar is skipped (see --skip-instructor)")

    # Correctness first: every contender must end on the validated catalog.
    assert stream_run(chunks)() == expected
    assert stream_run(small_chunks)() == small_expected
    assert stream_run(flat_small)() == Catalog.model_validate_json(flat_small_doc)
    assert stream_run(flat_big)() == Catalog.model_validate_json(flat_big_doc)
    yields, small_yields = count_partials(chunks), count_partials(small_chunks)

    print(
        f"catalog: 400 products, {len(doc.encode()):,} bytes, {n:,} chunks of 1–6 chars, "
        f"{yields:,} partials yielded; min of {r} repeats"
    )

    def fresh() -> None:
        for c in (chunks, small_chunks, flat_small, flat_big):
            renew(c)

    if args.no_gc:
        gc.disable()
    t = interleaved(
        {
            # A few ms a call: 10 samples a repeat, so that its minimum is as settled as the others'.
            "validate": (validate_run(doc), 10),
            "stream": (stream_run(chunks), 1),
            "small": (stream_run(small_chunks), 1),
            "flat_small": (stream_run(flat_small), 1),
            "flat_big": (stream_run(flat_big), 1),
        },
        r,
        setup=fresh,
    )
    t_validate, t_stream, t_small = t["validate"], t["stream"], t["small"]
    t_flat_small, t_flat_big = t["flat_small"], t["flat_big"]
    t_instr = None
    if partial is not None:
        # One pass: it re-parses the whole text per chunk, O(n²), and takes seconds.
        run = instructor_run(partial, small_chunks)
        t0 = time.perf_counter()
        last = run()
        t_instr = time.perf_counter() - t0
        assert last == small_expected, "instructor's last object is not the validated catalog"
    gc.enable()

    print(f"  unspool stream 326 KB           {ns(t_stream, n)}")
    print(f"  Catalog.model_validate_json     {t_validate * 1e3:9.2f} ms   (the whole text, once)")
    print(
        f"  unspool stream ~41 KB           {ns(t_small, len(small_chunks))}   "
        f"(50 products, {len(small_doc.encode()):,} bytes, {small_yields:,} partials)"
    )
    if t_instr is not None:
        import instructor

        print(
            f"  instructor ~41 KB               {ns(t_instr, len(small_chunks))}   "
            f"(v{instructor.__version__}, Partial[Catalog].model_from_chunks, one pass)"
        )
    print(
        f"  unspool stream ~100 KB          {ns(t_flat_small, len(flat_small))}   "
        f"({len(flat_small_doc.encode()):,} bytes)"
    )
    print(
        f"  unspool stream ~1 MB            {ns(t_flat_big, len(flat_big))}   "
        f"({len(flat_big_doc.encode()):,} bytes)"
    )

    flat = (t_flat_big / len(flat_big)) / (t_flat_small / len(flat_small))
    bars: list[tuple[str, float | None, str, float]] = [
        ("stream ÷ one model_validate_json", t_stream / t_validate, "≤", 30.0),
        ("instructor ÷ unspool (~41 KB)", None if t_instr is None else t_instr / t_small, "≥", 300.0),
        ("per chunk 1 MB ÷ 100 KB", flat, "≤", 1.5),
    ]
    ok = report(bars)
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
