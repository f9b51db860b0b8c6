"""Partial-model benches: `unspool.stream(chunks, response_model=Catalog)` against pydantic and instructor.

Run: `pytest benches/test_bench_partial.py --benchmark-only` (from the project root, after
`maturin develop --release`). Every bench streams the shared catalog of benches/workload.py in 1–6
character chunks, takes every partial the stream yields (one per visible change) and ends with
`get_final_response()`, which must equal `Catalog.model_validate_json(doc)`. See benches/partial_ratios.py
for the bars (stream ÷ one model_validate_json, instructor ÷ unspool, 1 MB ÷ 100 KB per chunk).

Groups:
  partial-326KB            the 400-product catalog streamed into `Catalog` partials, next to one
                           `Catalog.model_validate_json` of the whole text (the floor)
  partial-flat-cost        the same stream on ~100 KB vs ~1 MB: per-chunk time must not grow with the
                           document (per-chunk ns are printed at the end; the 1 MB row's extra_info
                           holds the ratio)
  partial-vs-instructor    instructor's `Partial[Catalog].model_from_chunks` (it re-parses the whole text
                           per chunk, O(n²)) on the 50-product (~41 KB) catalog, next to unspool on the
                           same chunks; skipped where instructor is not installed
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from typing import Any

import pytest
import unspool
from workload import Catalog, catalog_doc, products_for_bytes, token_chunks

try:
    # Imported quietly: with filterwarnings=error, a deprecation warning raised while instructor (or one
    # of its dependencies) imports would otherwise fail the collection of the whole module.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from instructor.dsl.partial import Partial as InstructorPartial
except ImportError:  # not a dependency of the project: install it in a separate venv to run that bench
    InstructorPartial = None

DOC = catalog_doc(400)
TOKENS = token_chunks(DOC)
EXPECTED = Catalog.model_validate_json(DOC)

SMALL_DOC = catalog_doc(50)  # ~41 KB: instructor re-parses the growing text per chunk, ~10–20 s a pass
SMALL_TOKENS = token_chunks(SMALL_DOC)
SMALL_EXPECTED = Catalog.model_validate_json(SMALL_DOC)

FLAT_SIZES = {"100KB": products_for_bytes(100_000), "1MB": products_for_bytes(1_000_000)}
_flat_ns: dict[str, float] = {}


def unspool_stream_model(chunks: Iterable[str]) -> Catalog:
    """Every partial the stream yields is taken (one per visible change), then the validated result."""
    s = unspool.stream(chunks, response_model=Catalog)
    for _partial in s:
        pass
    final: Catalog = s.get_final_response()
    return final


# --- partial-326KB -------------------------------------------------------------------------------


@pytest.mark.benchmark(group="partial-326KB")
def test_unspool_stream_catalog(benchmark: Any, per_chunk: Callable[[int], None]) -> None:
    """(a) unspool: the 400-product catalog in 1–6 char chunks, a partial on every change, then final."""
    assert benchmark(unspool_stream_model, TOKENS) == EXPECTED
    per_chunk(len(TOKENS))


@pytest.mark.benchmark(group="partial-326KB")
def test_pydantic_model_validate_json_whole(benchmark: Any) -> None:
    """The floor: one `Catalog.model_validate_json` of the whole document."""
    assert benchmark(Catalog.model_validate_json, DOC) == EXPECTED


# --- partial-flat-cost ---------------------------------------------------------------------------


@pytest.mark.benchmark(group="partial-flat-cost")
@pytest.mark.parametrize("size", list(FLAT_SIZES))
def test_unspool_stream_per_chunk_flat(benchmark: Any, size: str, per_chunk: Callable[[int], None]) -> None:
    """(b) The same stream on ~100 KB vs ~1 MB: the per-chunk time must not grow with the document."""
    doc = catalog_doc(FLAT_SIZES[size])
    chunks = token_chunks(doc)
    expected = Catalog.model_validate_json(doc)
    assert benchmark.pedantic(unspool_stream_model, (chunks,), rounds=5, iterations=1) == expected
    per_chunk(len(chunks))
    stats = getattr(benchmark, "stats", None)
    if stats is None:  # --benchmark-disable
        return
    _flat_ns[size] = stats.stats.min / len(chunks) * 1e9
    if size == "1MB" and "100KB" in _flat_ns:
        ratio = _flat_ns["1MB"] / _flat_ns["100KB"]
        benchmark.extra_info["per_chunk_ratio_1MB_over_100KB"] = round(ratio, 3)


# --- partial-vs-instructor -----------------------------------------------------------------------


@pytest.mark.benchmark(group="partial-vs-instructor")
@pytest.mark.skipif(
    InstructorPartial is None,
    reason="instructor is not importable here (no dependency of unspool: install it in a separate venv)",
)
def test_instructor_partial_model_from_chunks_41KB(benchmark: Any, per_chunk: Callable[[int], None]) -> None:
    """(c) instructor: `Partial[Catalog].model_from_chunks` on the 50-product catalog, one round.

    It yields an object per chunk and re-parses the whole text each time (O(n²)), so one pass takes
    seconds; the last object it yields is the validated `Catalog`.
    """
    assert InstructorPartial is not None
    partial_model: Any = InstructorPartial[Catalog]

    def run() -> Any:
        last = None
        for obj in partial_model.model_from_chunks(iter(SMALL_TOKENS)):
            last = obj
        return last

    assert benchmark.pedantic(run, rounds=1, iterations=1, warmup_rounds=0) == SMALL_EXPECTED
    per_chunk(len(SMALL_TOKENS))


@pytest.mark.benchmark(group="partial-vs-instructor")
def test_unspool_stream_catalog_41KB(benchmark: Any, per_chunk: Callable[[int], None]) -> None:
    """unspool on the same 50-product catalog and chunks, for comparison with instructor."""
    assert benchmark(unspool_stream_model, SMALL_TOKENS) == SMALL_EXPECTED
    per_chunk(len(SMALL_TOKENS))
