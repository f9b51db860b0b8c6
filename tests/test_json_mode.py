"""Closed parts get exactly JSON-mode semantics, as `TypeAdapter(T).validate_json(text)` gives them
(issue 22, item 4): validators see `info.mode == 'json'`, settings such as `val_json_bytes` and
`str_strip_whitespace` apply, and a "before" model validator receives the JSON data of its children.
Every document is fed cut at every place, in pieces of 1 to 12, and whole."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
import unspool
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    TypeAdapter,
    ValidationInfo,
    field_validator,
    model_validator,
)
from test_chunking import cuttings


class Moded(BaseModel):
    name: str

    @field_validator("name")
    @classmethod
    def tag(cls, v: str, info: ValidationInfo) -> str:
        return f"{v}@{info.mode}"


class Blob(BaseModel):
    model_config = ConfigDict(val_json_bytes="base64")
    data: bytes
    parts: list[bytes] = []


class Child(BaseModel):
    x: int


class Reads(BaseModel):
    child: Child
    total: int = 0

    @model_validator(mode="before")
    @classmethod
    def peek(cls, data: Any) -> Any:
        # pydantic hands a "before" validator the JSON data: `child` is a dict here, never a `Child`.
        return {**data, "total": data["child"]["x"] * 2}


class Stripped(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, str_to_lower=True)
    name: str
    tags: list[str]
    by_key: dict[str, int] = {}


def moded_str(v: str, info: ValidationInfo) -> str:
    return f"{v}:{info.mode}"


class Annotated_(BaseModel):
    word: Annotated[str, AfterValidator(moded_str)]


class Outer(BaseModel):
    items: list[Moded]
    reads: Reads | None = None


CASES: list[tuple[Any, str]] = [
    (Moded, '{"name": "ada"}'),
    (list[Moded], '[{"name": "a"}, {"name": "b"}]'),
    (Blob, '{"data": "aGk=", "parts": ["aGk=", "eW8="]}'),
    (Reads, '{"child": {"x": 4}}'),
    (list[Reads], '[{"child": {"x": 1}}, {"child": {"x": 2}, "total": 9}]'),
    (Stripped, '{"name": "  Ada ", "tags": [" X", "y "], "by_key": {" K ": 1}}'),
    (Annotated_, '{"word": "w"}'),
    (Outer, '{"items": [{"name": "n"}], "reads": {"child": {"x": 3}}}'),
]


@pytest.mark.parametrize(("model", "doc"), CASES)
def test_closed_parts_validate_in_json_mode(model: Any, doc: str) -> None:
    want = TypeAdapter(model).validate_json(doc)
    for chunks in cuttings(doc):
        s = unspool.stream(chunks, response_model=model)
        partials = list(s)
        assert s.get_final_response() == want, chunks
        assert partials[-1] == want, chunks
        assert not s.errors, chunks


def test_partials_show_json_mode_values_before_the_end() -> None:
    doc = '[{"name": "a"}, {"name": "b"}]'
    s = unspool.stream(list(doc), response_model=list[Moded])
    shown = [p[0].name for p in s if p and unspool.is_complete(p[0])]
    assert shown and set(shown) == {"a@json"}
    blob = '{"data": "aGk=", "parts": ["aGk="]}'
    partials = list(unspool.stream(list(blob), response_model=Blob))
    assert any(p.data == b"hi" and p.parts == [] for p in partials)


def test_a_before_validator_that_indexes_the_data_never_raises_out_of_the_stream() -> None:
    doc = '{"child": {"x": "seven"}}'  # invalid: pydantic's error, from `get_final_response`
    for chunks in cuttings(doc):
        s = unspool.stream(chunks, response_model=Reads)
        list(s)
        with pytest.raises(Exception) as got:
            s.get_final_response()
        with pytest.raises(Exception) as want:
            TypeAdapter(Reads).validate_json(doc)
        assert type(got.value) is type(want.value)
