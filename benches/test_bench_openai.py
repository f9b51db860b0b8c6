"""OpenAI-layer benches: unspool's `chat.completions.stream` next to the SDK's raw `create(stream=True)`.

Run: `pytest benches/test_bench_openai.py --benchmark-only`. The embedded server (`unspool.testing`,
in a child process so that it does not share the GIL with the client) replays the 100-product catalog
(~77 KB) with no delay, in 1–6 character deltas. See benches/openai_ratios.py for the bar (≤ 1.15).

Group:
  openai-overhead   raw SDK stream, iterating every chunk, next to unspool's typed stream of `Catalog`,
                    iterating every partial and ending with `get_final_response()`
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai_ratios import raw_run, served, unspool_run
from workload import Catalog, catalog_doc

DOC = catalog_doc(100)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[openai.OpenAI]:
    path = tmp_path_factory.mktemp("catalog") / "catalog.json"
    path.write_text(DOC, encoding="utf-8")
    with served(str(path)) as url, openai.OpenAI(base_url=url, api_key="bench", max_retries=0) as sdk:
        yield sdk


def test_raw_sdk_stream(benchmark: Any, client: openai.OpenAI) -> None:
    benchmark.group = "openai-overhead"
    assert benchmark.pedantic(raw_run(client), rounds=3, iterations=1) > 20_000


def test_unspool_typed_stream(benchmark: Any, client: openai.OpenAI) -> None:
    benchmark.group = "openai-overhead"
    got = benchmark.pedantic(unspool_run(client), rounds=3, iterations=1)
    assert got == Catalog.model_validate_json(DOC)
