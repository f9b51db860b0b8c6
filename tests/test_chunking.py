"""The typed layer's result never depends on where the chunks were cut: every document here is fed
cut at every place (two pieces), in pieces of every size from 1 to 12, and whole."""

from __future__ import annotations

import json
from typing import Any

import pytest
import unspool
from pydantic import BaseModel, TypeAdapter


class Inner(BaseModel):
    v: str


class Outer(BaseModel):
    a: Inner
    n: int = 0


class U(BaseModel):
    name: str


def cuttings(doc: str) -> list[list[str]]:
    out = [[doc]]
    out += [[doc[:i], doc[i:]] for i in range(1, len(doc))]
    out += [[doc[i : i + k] for i in range(0, len(doc), k)] for k in range(1, 13)]
    return out


CASES: list[tuple[Any, str]] = [
    # A repeated key: the later value wins, as in `json.loads` and pydantic.
    (Outer, '{"a": {"v": "first"}, "a": {"v": "second"}}'),
    (Outer, '{"a": {"v": "x"}, "n": 1, "a": {"v": "y"}, "n": 2}'),
    (Outer, '{"n": 1, "a": {"v": "x"}, "n": 3}'),
    (dict[str, Inner], '{"k": {"v": "1"}, "j": {"v": "2"}, "k": {"v": "3"}}'),
    (dict[str, int], '{"a": 1, "b": 2, "a": 3}'),
    (list[Outer], '[{"a": {"v": "p"}, "a": {"v": "q"}}, {"n": 5, "a": {"v": "r"}, "n": 6}]'),
    # Containers closing in chunks of their own.
    (list[U], '[{"name": "Alice"}, {"name": "Bob"}]'),
    (list[list[int]], "[[1, 2], [3], []]"),
]


@pytest.mark.parametrize(("model", "doc"), CASES)
def test_every_cutting_ends_as_validate_json(model: Any, doc: str) -> None:
    want = TypeAdapter(model).validate_json(doc)
    for chunks in cuttings(doc):
        s = unspool.stream(chunks, response_model=model)
        partials = list(s)
        got = s.get_final_response()
        assert got == want, chunks
        assert partials[-1] == want, chunks


@pytest.mark.parametrize(("model", "doc"), [c for c in CASES if c[1].startswith("[")])
def test_items_come_once_each_as_soon_as_they_close(model: Any, doc: str) -> None:
    want = TypeAdapter(model).validate_json(doc)
    for chunks in cuttings(doc):
        s = unspool.stream(chunks, response_model=model)
        assert list(s.items()) == want, chunks


def test_a_closing_brace_in_its_own_chunk_closes_its_item_at_once() -> None:
    chunks = ['[{"name": "Alice"', "}", ', {"name": "B']
    s = unspool.stream(iter(chunks), response_model=list[U])
    items = s.items()
    assert next(items) == U(name="Alice")
    # The output is cut off after it: the item that closed is not lost.
    assert list(items) == []
    with pytest.raises(unspool.IncompleteOutputError):
        s.get_final_response()


def test_a_repeated_key_in_the_bare_parser_keeps_the_last_value_in_place() -> None:
    doc = '{"a": 1, "b": {"c": 2}, "a": [3]}'
    for chunks in cuttings(doc):
        p = unspool.Parser()
        for c in chunks:
            p.feed(c)
        got = p.finish()
        assert got == json.loads(doc) and list(got) == list(json.loads(doc))
