"""Regression tests for the Python layer's defects of issue 21, each through the public entry points.

OpenAI calls go through the official openai SDK over real HTTP against `unspool.testing.ReplayServer`.
"""

from __future__ import annotations

import asyncio
import copy
import json
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any, Union

import openai
import pytest
import unspool
import unspool.partial
import unspool.plan
import unspool.schema
from ideas import IDEAS, Idea
from pydantic import BaseModel, Field, RootModel, TypeAdapter, ValidationError
from unspool.testing import ReplayServer, Reply

MESSAGES = [{"role": "user", "content": "Generate 3 marketing ideas for a note-taking app"}]


@pytest.fixture
def server() -> Iterator[ReplayServer]:
    with ReplayServer(IDEAS) as s:
        yield s


@pytest.fixture
def sdk(server: ReplayServer) -> Iterator[openai.OpenAI]:
    c = openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
    yield c
    c.close()


def endpoint(c: Any, api: str) -> Any:
    return c.responses if api == "responses" else c.chat.completions


def cache_sizes() -> tuple[int, int, int]:
    schemas = getattr(unspool.schema, "_schemas", ())  # (the cache this fix added)
    return len(unspool.plan._plans), len(unspool.partial._classes), len(schemas)


# 1. Every request for a non-object root made a new envelope model, whose plan and partial class were
#    cached forever: a server streaming `list[Idea]` grew by ~37 KB a request.


@pytest.mark.parametrize("api", ["chat", "responses"])
@pytest.mark.parametrize("mode", ["json_schema", "tools", "json"])
def test_requests_for_one_response_model_share_one_envelope(
    sdk: openai.OpenAI, server: ReplayServer, api: str, mode: str
) -> None:
    client = unspool.from_openai(sdk, mode=mode)
    envelopes = set()

    def request() -> None:
        stream = endpoint(client, api).stream(model="m", messages=MESSAGES, response_model=list[Idea])
        with stream:
            assert stream.get_final_response() == [Idea(**d) for d in IDEAS]
        envelopes.add(stream._session.schema.model)

    request()
    after_one = cache_sizes()
    for _ in range(49):
        request()
    assert cache_sizes() == after_one
    assert len(envelopes) == 1
    (envelope,) = envelopes
    assert envelope.model_fields["result"].annotation == list[Idea]
    # Non-streamed calls share it too.
    assert endpoint(client, api).create(model="m", messages=MESSAGES, response_model=list[Idea])
    assert cache_sizes() == after_one
    assert len(server.requests) == 51


class Cat(BaseModel):
    name: str


class Dog(BaseModel):
    name: str
    barks: bool = True


def test_unions_in_either_order_keep_their_own_order(sdk: openai.OpenAI) -> None:
    """`Union[Cat, Dog] == Union[Dog, Cat]`: a cache keyed by the type alone gave one the other's."""
    client = unspool.from_openai(sdk, mode="json")
    schemas: dict[str, dict[int, Any]] = {}
    for tp in (Union[Cat, Dog], Union[Dog, Cat], Union[Cat, Dog], Union[Dog, Cat]):  # noqa: UP007
        stream = client.chat.completions.stream(model="m", messages=MESSAGES, response_model=tp)
        schema = stream._session.schema
        schemas.setdefault(repr(tp), {})[id(schema)] = schema
        stream.close()
    assert [len(s) for s in schemas.values()] == [1, 1]
    cat_dog, dog_cat = (next(iter(s.values())) for s in schemas.values())
    assert cat_dog.model is not dog_cat.model
    assert [a.__name__ for a in cat_dog.model.model_fields["result"].annotation.__args__] == ["Cat", "Dog"]
    assert [a.__name__ for a in dog_cat.model.model_fields["result"].annotation.__args__] == ["Dog", "Cat"]
    # Where both members fit as well, pydantic takes the first: each order keeps its own plan.
    first = unspool.stream(['{"name": "Rex"', "}"], Union[Cat, Dog]).get_final_response()  # noqa: UP007
    second = unspool.stream(['{"name": "Rex"', "}"], Union[Dog, Cat]).get_final_response()  # noqa: UP007
    assert type(first) is Cat
    assert type(second) is Dog


def test_the_schema_cache_is_bounded_and_forgets_evicted_envelopes(
    sdk: openai.OpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(unspool.schema, "_SCHEMAS_KEPT", 4)
    monkeypatch.setattr(unspool.schema, "_schemas", {})
    client = unspool.from_openai(sdk)
    before = cache_sizes()
    made = []
    for i in range(12):
        model = type(f"Item{i}", (BaseModel,), {"__annotations__": {"n": int}})
        stream = client.chat.completions.stream(model="m", messages=MESSAGES, response_model=list[model])
        made.append(stream._session.schema.model)
        stream.close()
    plans, classes, schemas = cache_sizes()
    assert schemas == 4
    # Each item model keeps its own plan (12 of them); only the 4 envelopes still cached have theirs.
    assert sum(m in unspool.plan._plans for m in made) <= 4
    assert sum(m in unspool.partial._classes for m in made) <= 4
    assert plans - before[0] <= 12 + 4
    assert classes - before[1] <= 12 + 4


# 6. `unspool.stream` raised `IncompleteOutputError` from the iteration when the chunks ended before
#    the JSON did; the README says iteration shows what arrived and `get_final_response()` raises it.

CUT = json.dumps(IDEAS)[:100]


def pieces(text: str, size: int = 7) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def check_incomplete(partials: list[Any], error: unspool.IncompleteOutputError, text: str) -> None:
    assert partials, "nothing was yielded"
    second = Idea.model_construct(title="Think Ink", blurb="")
    assert partials[-1] == [Idea.model_construct(**IDEAS[0]), second]
    assert error.text == text
    assert error.partial is partials[-1]


def test_stream_iteration_ends_normally_on_incomplete_output() -> None:
    s = unspool.stream(pieces(CUT), response_model=list[Idea])
    partials = list(s)  # ends without raising
    assert s.partial is partials[-1] and s.text == CUT
    assert list(s) == []  # and stays ended
    for _ in range(2):
        with pytest.raises(unspool.IncompleteOutputError, match="ended before the JSON value did") as e:
            s.get_final_response()
        check_incomplete(partials, e.value, CUT)


def test_stream_items_end_normally_on_incomplete_output() -> None:
    s = unspool.stream(pieces(CUT), response_model=list[Idea])
    assert list(s.items()) == [Idea(**IDEAS[0])]
    with pytest.raises(unspool.IncompleteOutputError):
        s.get_final_response()


def test_stream_of_a_cut_scalar_or_nothing_at_all() -> None:
    for text, model in (('{"a": 1', dict[str, int]), ('"abc', str), ("12", None), ("", Any), ("  ", Idea)):
        s = unspool.stream(pieces(text, 2), response_model=model)
        list(s)
        if text == "12":  # a top-level number is complete at the end of the input
            assert s.get_final_response() == 12
            continue
        with pytest.raises(unspool.IncompleteOutputError):
            s.get_final_response()


def test_astream_iteration_ends_normally_on_incomplete_output() -> None:
    async def chunks() -> AsyncIterator[str]:
        for piece in pieces(CUT):
            yield piece

    async def run() -> tuple[list[Any], unspool.IncompleteOutputError]:
        s = unspool.astream(chunks(), response_model=list[Idea])
        partials = [p async for p in s]
        with pytest.raises(unspool.IncompleteOutputError) as e:
            await s.get_final_response()
        items = unspool.astream(chunks(), response_model=list[Idea]).items()
        assert [i async for i in items] == [Idea(**IDEAS[0])]
        return partials, e.value

    partials, error = asyncio.run(run())
    check_incomplete(partials, error, CUT)


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_openai_iteration_ends_normally_on_incomplete_output(api: str) -> None:
    cut = json.dumps({"result": IDEAS})[:110]
    with ReplayServer(Reply(text=cut)) as server, openai.OpenAI(base_url=server.base_url, api_key="t") as sdk:
        client = unspool.from_openai(sdk)
        stream = endpoint(client, api).stream(model="m", messages=MESSAGES, response_model=list[Idea])
        partials = list(stream)  # ends without raising
        with pytest.raises(unspool.IncompleteOutputError, match="ended before the JSON value did") as e:
            stream.get_final_response()
        check_incomplete(partials, e.value, cut)
        assert e.value.usage is not None

        async def run() -> tuple[list[Any], unspool.IncompleteOutputError]:
            async with unspool.from_openai(openai.AsyncOpenAI(base_url=server.base_url, api_key="t")) as c:
                s = endpoint(c, api).stream(model="m", messages=MESSAGES, response_model=list[Idea])
                got = [p async for p in s]
                with pytest.raises(unspool.IncompleteOutputError) as e:
                    await s.get_final_response()
                return got, e.value

        partials, error = asyncio.run(run())
        check_incomplete(partials, error, cut)


# 7. The listen backlog (512) overflowed at 2,000 concurrent streams.


def test_the_replay_server_listens_with_a_backlog_of_at_least_4096() -> None:
    from unspool import testing

    assert testing._Server.request_queue_size >= 4096
    assert testing._Server6.request_queue_size >= 4096
    with ReplayServer(IDEAS) as server:
        assert server._httpd is not None and server._httpd.request_queue_size >= 4096


def test_the_replay_server_takes_300_connections_at_once() -> None:
    """300 connections opened before any is read (more than a small backlog holds) are all served."""
    import socket

    with ReplayServer(IDEAS) as server:
        assert server._httpd is not None
        host, port = server._httpd.server_address[:2]
        body = json.dumps({"model": "m", "messages": MESSAGES, "stream": True}).encode()
        request = (
            f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode() + body
        socks = []
        try:
            for _ in range(300):
                s = socket.create_connection((host, port), timeout=30)
                socks.append(s)
            for s in socks:
                s.sendall(request)
            for s in socks:
                got = b""
                while chunk := s.recv(65536):
                    got += chunk
                assert got.startswith(b"HTTP/1.") and b" 200 " in got.split(b"\r\n", 1)[0]
                assert b"data: [DONE]" in got
        finally:
            for s in socks:
                s.close()
        assert len(server.requests) == 300


# 2. A field that had not arrived showed the model's own default object (and one `default_factory`
#    result, one empty list, made once per process) in every partial; `model_fields_set` was one set
#    shared by every partial of a model.

made: list[dict[str, int]] = []


def counted() -> dict[str, int]:
    made.append({})
    return made[-1]


class Inner(BaseModel):
    x: int = 0
    marks: list[int] = []


class Meta(BaseModel):
    source: str
    tags: list[str] = []
    inner: Inner = Inner()
    counts: dict[str, int] = Field(default_factory=counted)
    items: list[int]
    pair: tuple[int, ...] = (1, 2)


META_DOC = '{"source": "abcdef", "items": [1, 2], "inner": {"x": 3}, "tags": ["t"], "counts": {"c": 1}}'


def tamper(p: Any) -> None:
    p.tags.append("changed")
    p.inner.x = 99
    p.inner.marks.append(99)
    if p.counts is not None:  # (a factory's value is None until its object closes: see issue 22)
        p.counts["changed"] = 1
    p.items.append(99)


def untouched(p: Any) -> None:
    assert p.tags == [] and p.inner == Inner() and p.counts is None and p.items == [] and p.pair == (1, 2)


def test_changing_a_default_through_a_partial_changes_nothing_else() -> None:
    chunks = [META_DOC[i : i + 2] for i in range(0, len(META_DOC), 2)]
    s = unspool.stream(chunks, response_model=Meta)
    it = iter(s)
    first = next(it)
    assert first.source in ("", "a")
    untouched(first)
    tamper(first)
    assert first.tags == ["changed"] and first.inner.x == 99
    second = next(it)  # the same fields still to come: before the fix, the same objects
    assert second is not first and second.source.startswith(first.source)
    untouched(second)
    assert second.tags is not first.tags
    assert first.tags == ["changed"]  # what the consumer did stays theirs
    rest = list(it)
    assert len(rest) > 5
    for p in rest:
        assert "changed" not in p.tags and (p.counts is None or "changed" not in p.counts)
        assert p.inner.x != 99 and 99 not in p.items and p.inner.marks == []
    final = s.get_final_response()
    assert final == Meta.model_validate_json(META_DOC)
    assert final.inner.marks == [] and final.pair == (1, 2)
    # Another stream, and plain instances of the model, see the defaults as declared.
    other = next(iter(unspool.stream(['{"source": "x"'], response_model=Meta)))
    untouched(other)
    plain = Meta(source="z", items=[])
    assert plain.tags == [] and plain.inner == Inner() and plain.counts == {}
    assert Meta.model_fields["tags"].default == [] and Meta.model_fields["inner"].default == Inner()


def test_a_default_factory_is_called_once_per_object_by_its_validation() -> None:
    # Its value is not known until its object closes (issue 22): partials read None, and the final
    # object gets the one value its validation made.
    before = len(made)
    s = unspool.stream(['{"source": "a', "b", '", "items": []', "}"], response_model=Meta)
    partials = list(s)
    assert all(p.counts is None for p in partials if not unspool.is_complete(p))
    final = s.get_final_response()
    assert len(made) == before + 1 and final.counts is made[-1]


def test_dict_and_copies_of_a_partial_do_not_share_its_defaults() -> None:
    p = next(iter(unspool.stream(['{"source": "a'], response_model=Meta)))
    as_dict = dict(p)
    as_dict["tags"].append("changed")
    assert p.tags == ["changed"]  # `dict(p)` gives what attribute access gives
    q = next(iter(unspool.stream(['{"source": "a'], response_model=Meta)))
    c = q.model_copy()
    c.tags.append("changed")
    assert q.tags == []
    d = copy.deepcopy(q)
    d.inner.marks.append(1)
    assert q.inner.marks == []
    untouched(next(iter(unspool.stream(['{"source": "a'], response_model=Meta))))


def test_defaults_of_nested_partials_and_list_roots() -> None:
    class Outer(BaseModel):
        metas: list[Meta]

    doc = '{"metas": [{"source": "abc", "items": []}, {"source": "def", "items": []}]}'
    seen = list(unspool.stream([doc[i : i + 3] for i in range(0, len(doc), 3)], response_model=Outer))
    shown = [p for p in seen if p.metas and not unspool.is_complete(p.metas[-1])]
    assert len(shown) >= 4
    for p in shown:
        tamper(p.metas[-1])
    for p in seen:
        for m in p.metas:
            if not unspool.is_complete(m):
                assert m.tags == ["changed"]  # each consumer-changed partial keeps its own change
    array = doc[len('{"metas": ') : -1]
    fresh = list(
        unspool.stream([array[i : i + 3] for i in range(0, len(array), 3)], response_model=list[Meta])
    )
    assert any(not unspool.is_complete(m) for p in fresh for m in p)
    for p in fresh:
        for m in p:
            if not unspool.is_complete(m):
                untouched(m)


def test_model_fields_set_is_each_partials_own() -> None:
    class Root(RootModel[list[str]]):
        pass

    partials = list(unspool.stream(['{"source": "a', "b", '", "tags": ["x', '"]}'], response_model=Meta))
    a, b = partials[0], partials[1]
    assert a.model_fields_set is not b.model_fields_set
    assert a.model_fields_set == b.model_fields_set == set(Meta.model_fields)
    a.model_fields_set.discard("tags")
    assert "tags" in b.model_fields_set and "tags" in partials[-1].model_fields_set
    assert a.model_fields_set is a.model_fields_set  # kept, as pydantic keeps an instance's
    assert a.model_dump(exclude_unset=True).keys() == set(Meta.model_fields) - {"tags"}
    a.source = "changed"
    assert "source" in a.model_fields_set
    assert Meta(source="z", items=[]).model_fields_set == {"source", "items"}
    roots = list(unspool.stream(['["a', 'b", "c'], response_model=Root))
    assert len(roots) >= 2 and roots[0].model_fields_set is not roots[1].model_fields_set
    roots[0].model_fields_set.clear()
    assert roots[1].model_fields_set == {"root"}


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_openai_partials_do_not_share_defaults(api: str) -> None:
    doc = [{"source": "abcdefgh", "items": [1]}, {"source": "ijklmnop", "items": [2]}]
    with ReplayServer(doc) as server, openai.OpenAI(base_url=server.base_url, api_key="t") as sdk:
        client = unspool.from_openai(sdk, mode="tools")
        stream = endpoint(client, api).stream(model="m", messages=MESSAGES, response_model=list[Meta])
        seen = []
        for p in stream:
            seen.append(p)
            if p and not unspool.is_complete(p[-1]):
                assert p[-1].tags == [] and p[-1].inner == Inner()
                tamper(p[-1])
        assert len(seen) > 5
        final = stream.get_final_response()
    assert [m.tags for m in final] == [[], []] and [m.inner for m in final] == [Inner(), Inner()]
    assert [m.counts for m in final] == [{}, {}]
    assert Meta(source="z", items=[]).tags == []


# 4. Deep nesting: `unspool.stream` returned a value where `TypeAdapter(T).validate_json` refuses the
#    text (pydantic's JSON parser takes at most 201 nested containers), and raised RecursionError from
#    the engine from ~250 levels on.


class Chain(BaseModel):
    c: Chain | None = None


class Tree(BaseModel):
    items: list[Tree] = []


def nested_lists(d: int) -> str:
    return "[" * d + "]" * d


def nested_chain(d: int) -> str:  # d objects
    return '{"c": ' * (d - 1) + "{}" + "}" * (d - 1)


def nested_tree(d: int) -> str:  # d containers (an object and a list per level)
    return '{"items": [' * (d // 2) + "{}" + "]}" * (d // 2)


DEEP_CASES = [(Any, nested_lists), (list, nested_lists), (Chain, nested_chain), (Tree, nested_tree)]


def pydantic_outcome(tp: Any, text: str) -> tuple[str, Any]:
    try:
        return "value", TypeAdapter(tp).validate_json(text)
    except ValidationError as e:
        return "error", (e.title, e.errors())


def stream_outcome(tp: Any, chunks: list[str], *, lenient: bool = False) -> tuple[str, Any]:
    s = unspool.stream(chunks, response_model=tp, lenient=lenient)
    partials = list(s)  # never raises here
    assert all(p is not None for p in partials)
    try:
        return "value", s.get_final_response()
    except ValidationError as e:
        return "error", (e.title, e.errors())


@pytest.mark.parametrize(("tp", "make"), DEEP_CASES)
@pytest.mark.parametrize("depth", [150, 200, 201, 202, 203, 250, 1000, 10000])
def test_deep_nesting_ends_as_validate_json_does(tp: Any, make: Any, depth: int) -> None:
    text = make(depth)
    want = pydantic_outcome(tp, text)
    containers = text.count("[") + text.count("{")
    assert want[0] == ("value" if containers <= 201 else "error")
    if want[0] == "error":
        assert [e["type"] for e in want[1][1]] == ["json_invalid"]
        assert "recursion limit exceeded" in want[1][1][0]["msg"]
    assert stream_outcome(tp, [text]) == want
    assert stream_outcome(tp, list(text)) == want
    half = len(text) // 2
    assert stream_outcome(tp, [text[:half], text[half:]]) == want


@pytest.mark.parametrize("depth", [201, 202, 1000])
def test_deep_nesting_with_a_deep_stack_and_in_lenient_mode(depth: int) -> None:
    text = nested_chain(depth)
    want = pydantic_outcome(Chain, text)

    def below(n: int) -> Any:
        return below(n - 1) if n else stream_outcome(Chain, [text])

    assert below(600) == want  # the caller's own frames do not count against the engine
    limit = sys.getrecursionlimit()
    assert stream_outcome(Chain, list(f"Here:\n```json\n{text}\n```\n"), lenient=True) == want
    assert sys.getrecursionlimit() == limit


def test_deep_nesting_in_astream_and_items() -> None:
    text = nested_lists(1000)

    async def chunks() -> AsyncIterator[str]:
        for i in range(0, len(text), 3):
            yield text[i : i + 3]

    async def run() -> None:
        s = unspool.astream(chunks(), response_model=list[Any])
        assert [p async for p in s]
        with pytest.raises(ValidationError) as e:
            await s.get_final_response()
        assert e.value.errors()[0]["type"] == "json_invalid"
        assert s.text == text

    asyncio.run(run())
    s = unspool.stream([text], response_model=list[Any])
    assert list(s.items()) == []
    with pytest.raises(ValidationError, match="recursion limit exceeded"):
        s.get_final_response()


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_deep_nesting_through_openai(api: str) -> None:
    deep = json.dumps({"c": json.loads(nested_chain(150))})
    too_deep = '{"c": ' + nested_chain(201) + "}"
    replies = [Reply(text=deep), Reply(text=too_deep)]
    with ReplayServer(None, replies=replies) as server:
        with openai.OpenAI(base_url=server.base_url, api_key="t") as sdk:
            client = unspool.from_openai(sdk, mode="json")
            ok = endpoint(client, api).stream(model="m", messages=MESSAGES, response_model=Chain)
            assert list(ok)
            assert ok.get_final_response() == Chain.model_validate_json(deep)
            bad = endpoint(client, api).stream(model="m", messages=MESSAGES, response_model=Chain)
            assert list(bad)  # iteration ends normally
            with pytest.raises(ValidationError) as e:
                bad.get_final_response()
    assert e.value.errors() == pydantic_outcome(Chain, too_deep)[1][1]
