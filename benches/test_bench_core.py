"""Core benches: unspool's per-chunk cost against a per-call floor and other streaming parsers.

Run: `pytest benches --benchmark-only` (from the project root, after `maturin develop --release`).
Every bench streams the shared catalog document of benches/workload.py; see benches/ratios.py for the
bars (feed+value ÷ trivial call, streaming_json_parser ÷ unspool, 1 MB ÷ 100 KB per chunk).

Groups:
  stream-325KB-tokens  the 400-product catalog in 1–6 character chunks, `value` read after each feed
  stream-325KB-64B     the same catalog in 64-byte `bytes` chunks (UTF-8 cut anywhere)
  whole-325KB          the catalog in one call (unspool, with json and jiter for reference)
  reparse-34KB         re-parsing per chunk, O(n²): jiter partial_mode="trailing-strings" and
                       streaming_json_parser partial_mode="structural_trailing_strings", on a 40-product
                       (~34 KB) catalog only, next to unspool and streaming_json_parser's default mode
  flat-cost            unspool per chunk on ~100 KB vs ~1 MB; per-chunk ns are printed at the end
"""

from __future__ import annotations

import json
from typing import Any

import jiter
import pytest
import streaming_json_parser
import unspool
from workload import catalog_doc, fixed_chunks, products_for_bytes, token_chunks

DOC = catalog_doc(400)
DOC_BYTES = DOC.encode()
EXPECTED = json.loads(DOC)
TOKENS = token_chunks(DOC)
CHUNKS_64B = fixed_chunks(DOC_BYTES, 64)

SMALL_DOC = catalog_doc(40)  # ~34 KB: the O(n²) re-parse takes ~0.6 s a round on it already
SMALL_TOKENS = token_chunks(SMALL_DOC)

FLAT_SIZES = {"100KB": products_for_bytes(100_000), "1MB": products_for_bytes(1_000_000)}


def unspool_stream(chunks: list[Any]) -> Any:
    p = unspool.Parser()
    for c in chunks:
        p.feed(c)
        p.value
    return p.finish()


# --- stream-325KB-tokens -------------------------------------------------------------------------


@pytest.mark.benchmark(group="stream-325KB-tokens")
def test_unspool_feed_value_tokens(benchmark: Any, per_chunk: Any) -> None:
    """(a) unspool: feed every 1–6 char chunk, read `value` after each."""
    assert benchmark(unspool_stream, TOKENS) == EXPECTED
    per_chunk(len(TOKENS))


@pytest.mark.benchmark(group="stream-325KB-tokens")
def test_floor_trivial_pyo3_call_per_chunk(benchmark: Any, per_chunk: Any) -> None:
    """(d) The floor: one trivial PyO3 call (`jiter.from_json(b"1")`) per chunk, same loop."""

    def run() -> None:
        from_json = jiter.from_json
        for _c in TOKENS:
            from_json(b"1")

    benchmark(run)
    per_chunk(len(TOKENS))


@pytest.mark.benchmark(group="stream-325KB-tokens")
def test_streaming_json_parser_tokens(benchmark: Any, per_chunk: Any) -> None:
    """(f) streaming_json_parser 0.3 (default partial_mode="strict"), reading `.value` per feed."""

    def run() -> Any:
        p = streaming_json_parser.StreamingJsonParser()
        for c in TOKENS:
            p.feed(c).value
        return p.finish().value

    assert benchmark.pedantic(run, rounds=5, iterations=1, warmup_rounds=0) == EXPECTED
    per_chunk(len(TOKENS))


# --- stream-325KB-64B ----------------------------------------------------------------------------


@pytest.mark.benchmark(group="stream-325KB-64B")
def test_unspool_feed_value_64B(benchmark: Any, per_chunk: Any) -> None:
    """(b) unspool: 64-byte `bytes` chunks, `value` read after each."""
    assert benchmark(unspool_stream, CHUNKS_64B) == EXPECTED
    per_chunk(len(CHUNKS_64B))


@pytest.mark.benchmark(group="stream-325KB-64B")
def test_floor_trivial_pyo3_call_per_64B_chunk(benchmark: Any, per_chunk: Any) -> None:
    def run() -> None:
        from_json = jiter.from_json
        for _c in CHUNKS_64B:
            from_json(b"1")

    benchmark(run)
    per_chunk(len(CHUNKS_64B))


# --- whole-325KB ---------------------------------------------------------------------------------


@pytest.mark.benchmark(group="whole-325KB")
def test_unspool_whole(benchmark: Any) -> None:
    """(c) unspool: the whole document in one feed."""
    assert benchmark(unspool_stream, [DOC]) == EXPECTED


@pytest.mark.benchmark(group="whole-325KB")
def test_unspool_whole_bytes(benchmark: Any) -> None:
    assert benchmark(unspool_stream, [DOC_BYTES]) == EXPECTED


@pytest.mark.benchmark(group="whole-325KB")
def test_json_loads_whole(benchmark: Any) -> None:
    """Reference: the standard library on the whole document."""
    assert benchmark(json.loads, DOC) == EXPECTED


@pytest.mark.benchmark(group="whole-325KB")
def test_jiter_whole(benchmark: Any) -> None:
    """Reference: jiter on the whole document."""
    assert benchmark(jiter.from_json, DOC_BYTES) == EXPECTED


# --- reparse-34KB --------------------------------------------------------------------------------


@pytest.mark.benchmark(group="reparse-34KB")
def test_jiter_reparse_trailing_strings_34KB_quadratic(benchmark: Any, per_chunk: Any) -> None:
    """(e) jiter partial_mode="trailing-strings" re-parsing the growing text after every chunk.

    This is O(n²), so it runs on a 40-product (~34 KB) catalog, not the 325 KB one.
    """
    pieces = [c.encode() for c in SMALL_TOKENS]

    def run() -> Any:
        buf = b""
        v = None
        for c in pieces:
            buf += c
            v = jiter.from_json(buf, partial_mode="trailing-strings")
        return v

    assert benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=0) == json.loads(SMALL_DOC)
    per_chunk(len(SMALL_TOKENS))


@pytest.mark.benchmark(group="reparse-34KB")
def test_unspool_feed_value_34KB(benchmark: Any, per_chunk: Any) -> None:
    """unspool on the same 34 KB catalog and chunks, for comparison with the re-parse."""
    assert benchmark(unspool_stream, SMALL_TOKENS) == json.loads(SMALL_DOC)
    per_chunk(len(SMALL_TOKENS))


@pytest.mark.benchmark(group="reparse-34KB")
def test_streaming_json_parser_trailing_strings_34KB_quadratic(benchmark: Any, per_chunk: Any) -> None:
    """streaming_json_parser with partial_mode="structural_trailing_strings" (open strings shown).

    This mode re-parses the whole text per feed (O(n²): ~1.1 s on 34 KB), so it runs on the small catalog.
    """

    def run() -> Any:
        p = streaming_json_parser.StreamingJsonParser(partial_mode="structural_trailing_strings")
        for c in SMALL_TOKENS:
            p.feed(c).value
        return p.finish().value

    assert benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=0) == json.loads(SMALL_DOC)
    per_chunk(len(SMALL_TOKENS))


@pytest.mark.benchmark(group="reparse-34KB")
def test_streaming_json_parser_34KB(benchmark: Any, per_chunk: Any) -> None:
    """streaming_json_parser's default mode on the small catalog, for comparison."""

    def run() -> Any:
        p = streaming_json_parser.StreamingJsonParser()
        for c in SMALL_TOKENS:
            p.feed(c).value
        return p.finish().value

    assert benchmark(run) == json.loads(SMALL_DOC)
    per_chunk(len(SMALL_TOKENS))


# --- flat-cost -----------------------------------------------------------------------------------


@pytest.mark.benchmark(group="flat-cost")
@pytest.mark.parametrize("size", list(FLAT_SIZES))
def test_unspool_per_chunk_flat(benchmark: Any, size: str, per_chunk: Any) -> None:
    """(g) unspool feed+value on ~100 KB vs ~1 MB: per-chunk time must not grow with the document."""
    doc = catalog_doc(FLAT_SIZES[size])
    chunks = token_chunks(doc)
    assert benchmark(unspool_stream, chunks) == json.loads(doc)
    per_chunk(len(chunks))
