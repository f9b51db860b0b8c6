"""The partial rules (README, "What partials show"): a part that closes invalid is hidden — a field
reads as its placeholder, a list element is removed — and each failure is in `errors`; hiding stops at
the innermost part that failed; a member's class never changes. Every document is fed cut at every
place, in pieces of 1 to 12, and whole."""

from __future__ import annotations

from typing import Any, Union

import pytest
import unspool
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from test_chunking import cuttings


class A(BaseModel):
    a: int
    b: str


class B(BaseModel):
    c: int


class Holder(BaseModel):
    title: str
    year: int | None = None
    blurb: str = Field("", max_length=8)
    things: list[A] = []


def final_error(model: Any, doc: str) -> list[tuple[str, tuple[Any, ...]]]:
    with pytest.raises(ValidationError) as e:
        TypeAdapter(model).validate_json(doc)
    return [(d["type"], d["loc"]) for d in e.value.errors()]


def test_an_invalid_list_union_element_is_removed_and_never_changes_type() -> None:
    """Item 7: it showed as a partial `A`, then as a plain dict."""
    doc = '[{"a": 1, "b": "x"}, {"a": "zz", "b": "y"}, {"c": 3}]'
    model = list[Union[A, B]]  # noqa: UP007
    want = final_error(model, doc)
    for chunks in cuttings(doc):
        s = unspool.stream(chunks, response_model=model)
        seen = list(s)
        for p in seen:
            assert all(isinstance(x, (A, B)) for x in p), (chunks, p)
        assert seen[-1] == [A(a=1, b="x"), B(c=3)], chunks
        assert len(s.errors) == 1, chunks
        with pytest.raises(ValidationError) as got:
            s.get_final_response()
        assert [(d["type"], d["loc"]) for d in got.value.errors()] == want


def test_an_invalid_field_reads_as_its_placeholder_and_its_object_stays() -> None:
    doc = (
        '{"title": "t", "year": "abc", "things": [{"a": 1, "b": "x"}, {"a": 2, "b": 3}, {"a": 3, "b": "z"}]}'
    )
    want = final_error(Holder, doc)
    for chunks in cuttings(doc):
        s = unspool.stream(chunks, response_model=Holder)
        seen = list(s)
        for p in seen:
            assert p.year is None, chunks  # never "abc", not even half-written
        last = seen[-1]
        # `b` of the second element failed: that field is hidden, its element stays.
        assert last.title == "t" and len(last.things) == 3, chunks
        assert last.things[0] == A(a=1, b="x") and last.things[2] == A(a=3, b="z"), chunks
        assert (last.things[1].a, last.things[1].b) == (2, ""), chunks
        assert not unspool.is_complete(last.things[1], "b")
        assert len(s.errors) == 2, chunks
        with pytest.raises(ValidationError) as got:
            s.get_final_response()
        assert [(d["type"], d["loc"]) for d in got.value.errors()] == want


def test_a_string_past_its_max_length_is_hidden_while_still_open() -> None:
    doc = '{"title": "t", "blurb": "far too long for it"}'
    for chunks in cuttings(doc):
        s = unspool.stream(chunks, response_model=Holder)
        seen = list(s)
        assert all(len(p.blurb) <= 8 for p in seen), chunks
        assert seen[-1].blurb == "" and seen[-1].title == "t"
        assert s.errors
        with pytest.raises(ValidationError):
            s.get_final_response()


def test_a_list_past_its_max_length_is_hidden_while_still_open() -> None:
    class Few(BaseModel):
        name: str
        tags: list[str] = Field(default_factory=list, max_length=2)

    doc = '{"name": "n", "tags": ["a", "b", "c", "d"]}'
    for chunks in cuttings(doc):
        s = unspool.stream(chunks, response_model=Few)
        seen = list(s)
        assert all(p.tags is None or len(p.tags) <= 2 for p in seen), chunks
        assert seen[-1].name == "n"
        with pytest.raises(ValidationError):
            s.get_final_response()


def test_a_root_that_closes_invalid_leaves_the_last_partial() -> None:
    class Pair(BaseModel):
        x: int
        y: int

    doc = '{"x": 1, "z": 0}'
    s = unspool.stream(list(doc), response_model=Pair)
    seen = list(s)
    # The root itself failed (`y` is missing): nothing newer shows, and the end raises.
    assert seen[-1].x == 1 and seen[-1].y is None
    with pytest.raises(ValidationError):
        s.get_final_response()


def test_fail_fast_stops_the_upstream_as_soon_as_an_open_string_passes_its_max_length() -> None:
    import openai
    from ideas import IDEAS, Idea
    from unspool.testing import ReplayServer, Reply

    bad = [{"title": "Bad", "blurb": "z" * 400}, *IDEAS * 20]
    with ReplayServer(Reply(document=bad), delay=0.001) as server:
        sdk = openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        try:
            stream = unspool.from_openai(sdk).chat.completions.stream(
                model="m",
                messages=[{"role": "user", "content": "ideas"}],
                response_model=list[Idea],
                fail_fast=True,
            )
            seen = list(stream)
            with pytest.raises(ValidationError, match="at most 140 characters"):
                stream.get_final_response()
            assert server.wait_for_disconnects(1)
            # Stopped while the blurb was still open: its end never arrived, nor did anything after it.
            assert "z" * 400 not in stream.text
            assert all(not p or len(p[0].blurb) <= 140 for p in seen)
        finally:
            sdk.close()


def test_a_literal_or_tag_that_arrives_as_a_container_is_pydantics_error() -> None:
    from typing import Annotated, Literal

    class Cat(BaseModel):
        kind: Literal["cat"]

    class Dog(BaseModel):
        kind: Literal["dog"]

    pet = Annotated[Union[Cat, Dog], Field(discriminator="kind")]  # noqa: UP007
    for model, doc in ((Literal["yes", "no", 3], "{}"), (Literal["a"], "[1]"), (pet, '{"kind": ["cat"]}')):
        want = final_error(model, doc)
        for chunks in cuttings(doc):
            s = unspool.stream(chunks, response_model=model)
            list(s)
            with pytest.raises(ValidationError) as got:
                s.get_final_response()
            assert [(d["type"], d["loc"]) for d in got.value.errors()] == want


def test_one_and_true_are_two_values() -> None:
    from typing import Literal

    class Ticket(BaseModel):
        name: str = ""
        flag: Literal[1, 2, True] = 1

    doc = '{"name": "x", "flag": true}'
    for chunks in cuttings(doc):
        s = unspool.stream(chunks, response_model=Ticket)
        seen = list(s)
        assert seen[-1].flag is True, chunks


def test_the_last_yield_is_the_finished_object() -> None:
    doc = '{"title": "t", "year": 2020}'
    for chunks in cuttings(doc):
        s = unspool.stream(chunks, response_model=Holder)
        seen = list(s)
        assert type(seen[-1]) is Holder and unspool.is_complete(seen[-1]), chunks
        assert seen[-1] is s.get_final_response()


def test_values_a_validator_may_change_show_only_once_validated() -> None:
    from pydantic import ConfigDict, RootModel, field_validator

    class Name(RootModel[str]):
        pass

    class Shouted(BaseModel):
        model_config = ConfigDict(str_strip_whitespace=True)
        loud: str
        quiet: str = ""
        name: Name | None = None
        n: int = 0

        @field_validator("loud")
        @classmethod
        def up(cls, v: str) -> str:
            return v.upper() + "!"

    doc = '{"loud": "hey there", "quiet": "  soft ", "name": "Ada", "n": 5}'
    want = TypeAdapter(Shouted).validate_json(doc)
    for chunks in cuttings(doc):
        s = unspool.stream(chunks, response_model=Shouted)
        seen = list(s)
        for p in seen:
            # Each shows nothing, or its final value: never a value a validator would still change.
            assert p.loud in ("", want.loud) and p.quiet in ("", want.quiet), (chunks, p)
            assert p.name is None or p.name == want.name, (chunks, p)
        assert seen[-1] == want


def test_a_validators_own_exception_is_raised_again_by_the_openai_layer() -> None:
    import openai
    from pydantic import model_validator
    from unspool.testing import ReplayServer, Reply

    class Peek(BaseModel):
        child: dict[str, int]

        @model_validator(mode="before")
        @classmethod
        def look(cls, data: Any) -> Any:
            data["child"]["x"]  # a KeyError for `{}`, as pydantic raises it from validate_json
            return data

    with ReplayServer(Reply(document={"child": {}})) as server:
        sdk = openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        try:
            for mode in ("tools", "json", "md_json"):
                stream = unspool.from_openai(sdk, mode=mode).chat.completions.stream(
                    model="m", messages=[{"role": "user", "content": "x"}], response_model=Peek
                )
                with pytest.raises(KeyError):
                    list(stream)
                with pytest.raises(KeyError):
                    stream.get_final_response()
        finally:
            sdk.close()
