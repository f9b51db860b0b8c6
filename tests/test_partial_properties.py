"""Property tests: random documents of a typed schema, random chunkings, every yield checked."""

from __future__ import annotations

import gc
import json
import random
import weakref
from collections import Counter, OrderedDict
from datetime import datetime, timezone
from typing import Any, Literal

import pytest
import unspool
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field, ValidationInfo, field_validator
from unspool._core import same_partial
from unspool.partial import _PartialMixin
from unspool.plan import compile_plan

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


def random_chunks(data: Any, rng: random.Random, most: int) -> list[Any]:
    """`data` (str or bytes) cut into pieces of 1 to `most` items."""
    chunks, i = [], 0
    while i < len(data):
        n = rng.randint(1, most)
        chunks.append(data[i : i + n])
        i += n
    return chunks


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
    chunks = random_chunks(data, random.Random(seed), 7)
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
    # Values of two types are two values, although `==` says otherwise: `True` is not `1`, nor `2.0` `2`.
    assert not same_partial([shared, [1, 2.0]], [shared, [1, 2]])
    assert not same_partial([True], [1])
    assert same_partial([shared, [1, 2]], [shared, [1, 2]])
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
    at = datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)
    assert [p.at for p in seen] in ([None, at], [None, at, at], [at])
    # The last yield is the finished object itself (it shows the same values as the partial before it).
    assert type(seen[-1]) is Event


def _open_objects(p: Any) -> list[Any]:
    """The objects on a yield's open path that the stream made for it (partial objects, lists, dicts),
    root first: what a consumer may hold, change or drop. Finished values are shared and not listed."""
    out: list[Any] = []
    while True:
        if isinstance(p, _PartialMixin):
            out.append(p)
            # A field not started shows its template's value, which every snapshot shares (read from
            # `vars`: reading the attribute would give `p` a copy of its own, and keep it from refills).
            template = compile_plan(type(p).__mro__[1]).template
            fields = [n for n in type(p).model_fields if not unspool.is_complete(p, n)]
            shown = vars(p)
            nxt = [
                shown[n]
                for n in fields
                if isinstance(shown[n], (list, dict, _PartialMixin)) and shown[n] is not template[n]
            ]
            if not nxt:
                return out
            p = nxt[0]
        elif isinstance(p, (list, dict)):
            out.append(p)
            last = list(p.values())[-1] if isinstance(p, dict) and p else (p[-1] if p else None)
            if not isinstance(last, (list, dict, _PartialMixin)):
                return out
            p = last
        else:
            return out


def _tamper(obj: Any, rng: random.Random) -> None:
    """Changes a yielded object the way a consumer might before dropping it."""
    if isinstance(obj, _PartialMixin):
        name = rng.choice(list(type(obj).model_fields))
        if rng.random() < 0.5:
            setattr(obj, name, "changed")
        else:
            del vars(obj)[name]
    elif isinstance(obj, list):
        rng.choice([obj.reverse, obj.clear, lambda: obj.append("junk"), lambda: obj.insert(0, "junk")])()
    else:
        obj["junk"] = 1


@settings(max_examples=120, deadline=None)
@given(doc=shop, seed=st.integers(0, 2**32))
def test_yields_may_be_dropped_kept_in_part_or_changed(doc: dict[str, Any], seed: int) -> None:
    # The stream refills the objects of a snapshot nothing holds any more instead of making new ones.
    # Whatever a consumer does with what it was given (keeps it, keeps a part, takes a weak reference,
    # changes it and drops it), every later yield shows exactly what a consumer keeping everything sees,
    # and nothing kept ever changes.
    payload = json.dumps(doc, ensure_ascii=False)
    rng = random.Random(seed)
    chunks = random_chunks(payload, rng, 5)
    expected = [repr(p) for p in list(unspool.stream(chunks, response_model=Shop))]
    kept: list[tuple[Any, str]] = []
    weak: list[tuple[Any, str]] = []
    shown = []
    s = unspool.stream(chunks, response_model=Shop)
    before: Any = None
    for p in s:
        shown.append(repr(p))
        # The one before is dealt with now: the stream compares each new snapshot with the last one, so
        # that one is left as it was given.
        parts = _open_objects(before)
        roll = rng.random()
        if roll < 0.1:
            kept.append((before, repr(before)))
        elif roll < 0.3 and len(parts) > 1:
            part = rng.choice(parts[1:])  # a part only: the objects around it are dropped
            kept.append((part, repr(part)))
        elif roll < 0.4 and before is not None:
            weak.append((weakref.ref(before), repr(before)))
        elif roll < 0.7 and parts:
            _tamper(rng.choice(parts), rng)
        before = p
        del p, parts
    assert shown == expected
    assert s.get_final_response() == Shop.model_validate_json(payload)
    for obj, was in kept:
        assert repr(obj) == was
    for ref, was in weak:
        obj = ref()
        assert obj is None or repr(obj) == was


ITEM = {
    "name": "a name that takes a few chunks",
    "kind": "toy",
    "price": 1.5,
    "count": 2,
    "when": "2020-01-01T00:00:00Z",
    "tags": ["first tag", "second tag"],
    "reviews": [{"author": "somebody", "rating": 4}],
    "extra": None,
}
SHOP_DOC = json.dumps({"title": "a shop", "items": [ITEM] * 4, "notes": {"k": "a note"}})


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_a_part_kept_alone_never_changes(depth: int) -> None:
    # Keeping one object on a yield's open path, and nothing around it, keeps it as it was.
    chunks = [SHOP_DOC[i : i + 3] for i in range(0, len(SHOP_DOC), 3)]
    expected = [repr(p) for p in list(unspool.stream(chunks, response_model=Shop))]
    kept, shown = [], []
    for p in unspool.stream(chunks, response_model=Shop):
        shown.append(repr(p))
        parts = _open_objects(p)
        if len(parts) > depth:
            kept.append((parts[depth], repr(parts[depth])))
        del p, parts
    assert shown == expected
    assert len(kept) > 20
    assert [repr(obj) for obj, _ in kept] == [was for _, was in kept]


def _detach(parent: Any, child: Any) -> None:
    """Takes `child` out of its container `parent`, as a consumer keeping only the child might."""
    if isinstance(parent, list):
        parent.remove(child)
    else:
        values = vars(parent) if isinstance(parent, _PartialMixin) else parent
        for k, v in list(values.items()):
            if v is child:
                del values[k]


def test_a_part_taken_out_and_kept_never_changes() -> None:
    chunks = [SHOP_DOC[i : i + 3] for i in range(0, len(SHOP_DOC), 3)]
    expected = [repr(p) for p in list(unspool.stream(chunks, response_model=Shop))]
    kept, shown, before = [], [], None
    for n, p in enumerate(unspool.stream(chunks, response_model=Shop)):
        shown.append(repr(p))
        parts = _open_objects(before)
        if len(parts) > 1:
            k = 1 + n % (len(parts) - 1)
            kept.append((parts[k], repr(parts[k])))
            _detach(parts[k - 1], parts[k])
        before = p
        del p, parts
    assert shown == expected
    assert len(kept) > 20
    assert [repr(obj) for obj, _ in kept] == [was for _, was in kept]


@pytest.mark.parametrize("how", ["reverse", "clear", "append", "setattr", "delete"])
def test_a_yield_changed_and_dropped_does_not_change_what_follows(how: str) -> None:
    chunks = [SHOP_DOC[i : i + 3] for i in range(0, len(SHOP_DOC), 3)]
    expected = [repr(p) for p in list(unspool.stream(chunks, response_model=Shop))]
    shown, before = [], None
    for p in unspool.stream(chunks, response_model=Shop):
        shown.append(repr(p))
        for obj in _open_objects(before):
            if isinstance(obj, list) and how in ("reverse", "clear", "append"):
                getattr(obj, how)(*(["junk"] if how == "append" else []))
            elif isinstance(obj, _PartialMixin) and how == "setattr":
                first, last = list(type(obj).model_fields)[0], list(type(obj).model_fields)[-1]
                setattr(obj, first, "changed")
                vars(obj)[last] = "changed"
            elif isinstance(obj, _PartialMixin) and how == "delete":
                vars(obj).clear()
        before = p
        del p
    assert shown == expected


def test_a_part_kept_after_its_parent_let_go_of_it_in_place_never_changes() -> None:
    # Writing into a partial object's dict directly is not supported, but even then what a consumer
    # holds is never changed: the stream checks that the parent still holds a part before it counts
    # the parent's reference as its own.
    class Box(BaseModel):
        items: list[str] = []

    doc = json.dumps({"items": ["a1", "b2", "c3", "d4", "e5", "f6"]})
    kept: list[tuple[Any, list[str]]] = []
    for p in unspool.stream(list(doc), response_model=Box):
        if p.items and len(kept) < 5:
            kept.append((p.items, list(p.items)))
            object.__setattr__(p, "items", None)
        del p
    assert len(kept) == 5
    assert all(obj == was for obj, was in kept)


def test_a_stream_referred_to_by_what_it_validated_is_freed() -> None:
    # A validator may keep the validation context, which may refer to the stream: the garbage collector
    # sees every reference the stream's core holds, so the cycle is freed.
    class Ctx:
        stream: Any = None

    class Inner(BaseModel):
        v: str = ""
        ctx: Any = None

        @field_validator("ctx", mode="before")
        @classmethod
        def keep(cls, v: Any, info: ValidationInfo) -> Any:
            return info.context

    class Outer(BaseModel):
        inner: Inner | None = None
        x: str = ""

    def run() -> Any:
        ctx = Ctx()
        s = unspool.stream(
            ['{"inner": {"v": "a", "ctx": 1}, "x": "he', "llo wo", 'rld"'], response_model=Outer, context=ctx
        )
        ctx.stream = s
        it = iter(s)
        next(it), next(it)
        return weakref.ref(s)

    ref = run()
    gc.collect()
    assert ref() is None


def test_a_stream_whose_yields_are_dropped_reuses_their_objects() -> None:
    # What the refill saves: with every yield dropped, two snapshots' worth of objects serve them all.
    doc = json.dumps({"title": "shop", "items": [{"name": "n" * 40, "tags": ["t" * 30]}] * 3, "notes": {}})
    chunks = [doc[i : i + 2] for i in range(0, len(doc), 2)]

    class Loose(BaseModel):
        title: str
        items: list[dict[str, Any]]
        notes: dict[str, str]

    roots = set()
    for p in unspool.stream(chunks, response_model=Loose):
        roots.add(id(p))
    if "reuse_snapshots" in unspool.shortcuts():
        assert len(roots) <= 3
    else:
        # The portable twin makes every snapshot anew: held, they are all distinct objects.
        held = list(unspool.stream(chunks, response_model=Loose))
        assert len({id(p) for p in held}) == len(held) > 3
