"""Property tests: random documents of a typed schema, random chunkings, every yield checked."""

from __future__ import annotations

import json
import random
from collections import Counter, OrderedDict
from datetime import datetime, timezone
from typing import Any, Literal

import pytest
import unspool
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field
from unspool._core import same_partial
from unspool.partial import _PartialMixin

NAN = float("nan")


class Unequal(list[int]):
    """A list that is equal to nothing, itself included."""

    def __eq__(self, other: object) -> bool:
        return False

    __hash__ = None  # type: ignore[assignment]


class Review(BaseModel):
    author: str
    rating: int = Field(ge=1, le=5)


class Item(BaseModel):
    name: str
    kind: Literal["tool", "toy"]
    price: float
    count: int
    when: datetime
    tags: list[str]
    reviews: list[Review]
    extra: bool | None


class Shop(BaseModel):
    title: str
    items: list[Item]
    notes: dict[str, str]


text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
item = st.fixed_dictionaries(
    {
        "name": text,
        "kind": st.sampled_from(["tool", "toy"]),
        "price": st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
        "count": st.integers(-(10**12), 10**12),
        "when": st.datetimes(timezones=st.just(timezone.utc)).map(lambda d: d.isoformat()),
        "tags": st.lists(text, max_size=3),
        "reviews": st.lists(st.fixed_dictionaries({"author": text, "rating": st.integers(1, 5)}), max_size=2),
        "extra": st.one_of(st.none(), st.booleans()),
    }
)
shop = st.fixed_dictionaries(
    {"title": text, "items": st.lists(item, max_size=4), "notes": st.dictionaries(text, text, max_size=3)}
)


def consistent(partial: Any, final: Any, where: str = "") -> None:
    """`partial` is something `final` can grow into: closed parts equal, strings prefixes, atoms whole."""
    if isinstance(final, BaseModel):
        if not isinstance(partial, _PartialMixin):
            assert partial == final, where
            return
        assert type(partial).__mro__[1] is type(final), where
        for name, info in type(final).model_fields.items():
            value = getattr(partial, name)
            if info.annotation is not str and isinstance(getattr(final, name), str):
                # A Literal is an atom even though its value is a string.
                assert value is None or value == getattr(final, name), (where, name, value)
                continue
            consistent(value, getattr(final, name), f"{where}.{name}")
    elif isinstance(final, str):
        assert isinstance(partial, str) and final.startswith(partial), (where, partial, final)
    elif isinstance(final, list):
        assert isinstance(partial, list) and len(partial) <= len(final), where
        for i, (p, f) in enumerate(zip(partial, final, strict=False)):
            if i < len(partial) - 1:
                assert p == f and not isinstance(p, _PartialMixin), f"{where}[{i}] not finished"
            consistent(p, f, f"{where}[{i}]")
    elif isinstance(final, dict):
        assert isinstance(partial, dict) and set(partial) <= set(final), where
        for k, p in partial.items():
            consistent(p, final[k], f"{where}[{k!r}]")
    else:  # atoms: not there yet, or exactly the final value
        assert partial is None or (partial == final and type(partial) is type(final)), (where, partial, final)


@settings(max_examples=120, deadline=None)
@given(doc=shop, indent=st.sampled_from([None, 1]), seed=st.integers(0, 2**32), as_bytes=st.booleans())
def test_every_yield_grows_into_the_final_object(
    doc: dict[str, Any], indent: Any, seed: int, as_bytes: bool
) -> None:
    payload = json.dumps(doc, indent=indent, ensure_ascii=False)
    data: Any = payload.encode() if as_bytes else payload
    rng = random.Random(seed)
    chunks, i = [], 0
    while i < len(data):
        n = rng.randint(1, 7)
        chunks.append(data[i : i + n])
        i += n
    s = unspool.stream(chunks, response_model=Shop)
    seen = list(s)
    final = s.get_final_response()
    assert final == Shop.model_validate_json(payload)
    assert type(final) is Shop and all(type(x) is Item for x in final.items)
    for p in seen[:-1]:
        consistent(p, final)
    assert seen[-1] == final
    for a, b in zip(seen, seen[1:], strict=False):
        assert not (a == b and type(a) is type(b)), "the same partial twice in a row"
    # The engine's change test agrees with `==` on every pair of yields, near or far apart.
    for i, a in enumerate(seen):
        for b in seen[i : i + 6] + seen[-1:]:
            assert same_partial(a, b) is (a == b)
            assert same_partial(b, a) is (b == a)


def test_same_partial_compares_like_equality() -> None:
    class Leaf(BaseModel):
        name: str
        tags: list[str]

    class Tree(BaseModel):
        leaves: list[Leaf]

    chunks = list('{"leaves": [{"name": "a", "tags": ["x", "y"]}, {"name": "bc", "tags": []}]}')
    s = unspool.stream(chunks, response_model=Tree)
    seen = list(s)
    final = s.get_final_response()
    assert same_partial(seen[-1], final) and same_partial(final, seen[-1])
    first = seen[0]
    assert same_partial(first, first)
    # Lists: a difference anywhere counts, not only in the last item.
    shared = Leaf(name="z", tags=[])
    assert not same_partial([1, shared, 3], [2, shared, 3])
    assert not same_partial([shared, 1], [shared])
    assert same_partial([shared, [1, 2.0]], [shared, [1, 2]])
    # Dicts: the same keys with equal values.
    assert same_partial({"a": [1], "b": "x"}, {"b": "x", "a": [1]})
    assert not same_partial({"a": 1}, {"b": 1})
    assert not same_partial({"a": 1}, {"a": 1, "b": 2})
    # Partial objects: equal field by field, and to the finished model showing the same values.
    partial_leaf = next(p.leaves[0] for p in seen if p.leaves and p.leaves[0].name == "a")
    assert isinstance(partial_leaf, _PartialMixin)
    assert same_partial(partial_leaf, Leaf(name="a", tags=[])) is (partial_leaf == Leaf(name="a", tags=[]))
    assert not same_partial(partial_leaf, Leaf(name="b", tags=[]))
    assert not same_partial(partial_leaf, "a")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # Subclasses keep their own equality: an OrderedDict minds its order, a Counter its zeros.
        (OrderedDict(a=1, b=2), OrderedDict(b=2, a=1)),
        (Counter(a=1), Counter(a=1, b=0)),
        (Unequal([1]), Unequal([1])),
        # One NaN object is not equal to itself, but a list holding it is equal to itself.
        (NAN, NAN),
        ([NAN], [NAN]),
        ({1: "x"}, {1.0: "x"}),
        ([True], [1]),
    ],
)
def test_same_partial_is_equality_for_any_values(a: Any, b: Any) -> None:
    assert same_partial(a, b) is (a == b)
    assert same_partial(a, a) is (a == a)


def test_same_partial_on_deep_or_cyclic_values_raises_like_equality() -> None:
    deep_a: list[Any] = []
    deep_b: list[Any] = []
    for _ in range(1000):
        deep_a, deep_b = [deep_a], [deep_b]
    assert same_partial(deep_a, deep_b) is True
    loop_a: list[Any] = []
    loop_b: list[Any] = []
    loop_a.append(loop_a)
    loop_b.append(loop_b)
    with pytest.raises(RecursionError):
        loop_a == loop_b  # noqa: B015
    with pytest.raises(RecursionError):
        same_partial(loop_a, loop_b)


def test_plain_datetime_is_not_shown_half_written() -> None:
    class Event(BaseModel):
        at: datetime

    doc = json.dumps({"at": "2024-05-06T07:08:09+00:00"})
    seen = list(unspool.stream(list(doc), response_model=Event))
    assert [p.at for p in seen] in (
        [None, datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)],
        [datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)],
    )
