"""The partial-model layer on the seed's list example (more in later work on this layer)."""

from __future__ import annotations

import asyncio
import gc
import json
import weakref
from collections.abc import AsyncIterator

import pytest
import unspool
from ideas import IDEAS, Idea
from pydantic import BaseModel, TypeAdapter, model_validator

DOC = json.dumps(IDEAS)


def chunks(text: str, size: int = 3) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def test_list_streams_item_by_item() -> None:
    s = unspool.stream(chunks(DOC), response_model=list[Idea])
    seen = list(s)
    lengths = [len(p) for p in seen]
    assert lengths == sorted(lengths) and lengths[-1] == 3
    assert [len(p) for p in seen[:1]] == [1] and seen[0][0].title == ""
    for p in seen:
        # Every item before the last is finished: a real, validated Idea, not a partial.
        assert all(type(item) is Idea for item in p[:-1])
        last = p[-1]
        final_last = IDEAS[len(p) - 1]
        assert final_last["title"].startswith(last.title)
        assert final_last["blurb"].startswith(last.blurb)
        assert isinstance(last, Idea)
    assert all(a is not b for a, b in zip(seen, seen[1:], strict=False))
    final = s.get_final_response()
    assert final == TypeAdapter(list[Idea]).validate_json(DOC)
    assert all(type(i) is Idea for i in final)
    assert s.text == DOC


def test_partials_are_snapshots() -> None:
    s = unspool.stream(chunks(DOC), response_model=list[Idea])
    kept = [(p, repr(p)) for p in s]
    assert all(repr(p) == r for p, r in kept)


def test_items_arrive_as_they_close() -> None:
    fed: list[str] = []

    def source() -> list[str]:
        return chunks(DOC)

    def tracking():  # type: ignore[no-untyped-def]
        for c in source():
            fed.append(c)
            yield c

    s = unspool.stream(tracking(), response_model=list[Idea])
    got = []
    for item in s.items():
        assert type(item) is Idea
        got.append((item, len("".join(fed))))
    assert [i.model_dump() for i, _ in got] == IDEAS
    # The first item came out long before the end of the text.
    assert got[0][1] < len(DOC) // 2


def test_async_stream() -> None:
    async def source() -> AsyncIterator[str]:
        for c in chunks(DOC):
            yield c

    async def run() -> tuple[list[object], list[Idea]]:
        a = unspool.astream(source(), response_model=list[Idea])
        seen = [p async for p in a]
        return seen, await a.get_final_response()

    seen, final = asyncio.run(run())
    assert len(seen) > 10
    assert final == TypeAdapter(list[Idea]).validate_json(DOC)


def test_incomplete_output() -> None:
    s = unspool.stream(chunks(DOC[:40]), response_model=list[Idea])
    try:
        s.get_final_response()
    except unspool.IncompleteOutputError as e:
        assert e.text == DOC[:40]
        assert e.partial is not None and e.partial[0].title == "Note Ninja"
    else:
        raise AssertionError("no IncompleteOutputError")


def test_a_dropped_stream_is_freed() -> None:
    # The core parser calls back into the engine that owns it: the cycle must be one the GC can see.
    s = unspool.stream(iter(['[{"title": "a", "blurb": "b', "c"]), response_model=list[Idea])
    it = iter(s)
    assert next(it) == [Idea.model_construct(title="a", blurb="b")]
    assert next(it) == [Idea.model_construct(title="a", blurb="bc")]
    engine = weakref.ref(s._engine)
    del s, it
    gc.collect()
    assert engine() is None


def test_an_error_from_a_validator_is_raised_again_by_every_later_call() -> None:
    class Strict(BaseModel):
        a: str = ""
        n: int = 0

        @model_validator(mode="after")
        def refuse(self) -> Strict:
            raise RuntimeError("refused")

    s = unspool.stream(['{"a":"', 'x","n":1', "}"], response_model=Strict)
    with pytest.raises(RuntimeError, match="refused"):
        list(s)
    for _ in range(2):
        with pytest.raises(RuntimeError, match="refused"):
            s.get_final_response()


def test_incomplete_output_is_raised_again_by_every_later_call() -> None:
    s = unspool.stream(chunks(DOC[:40]), response_model=list[Idea])
    for _ in range(2):
        with pytest.raises(unspool.IncompleteOutputError):
            s.get_final_response()
