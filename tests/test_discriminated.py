"""A discriminated union is held back until its tag has arrived whole, then streams as that member
(issue 22, item 6): never a partial of the wrong member, whatever the chunking and however the
discriminator is written."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pytest
import unspool
from pydantic import BaseModel, Field, TypeAdapter


class Cat(BaseModel):
    pet_type: Literal["cat"]
    meows: int = 0
    name: str = ""


class Dog(BaseModel):
    pet_type: Literal["dog"]
    barks: float = 0
    name: str = ""


class InAnnotation(BaseModel):
    pet: Annotated[Cat | Dog, Field(discriminator="pet_type")]


class InField(BaseModel):
    pet: Cat | Dog = Field(discriminator="pet_type")


class InList(BaseModel):
    pets: list[Annotated[Cat | Dog, Field(discriminator="pet_type")]]


DOCS = [
    '{"pet": {"name": "Rex", "pet_type": "dog", "barks": 2}}',
    '{"pet": {"pet_type": "cat", "name": "Tom", "meows": 3}}',
]


def chunkings(doc: str) -> list[list[str]]:
    return [[doc[i : i + k] for i in range(0, len(doc), k)] for k in (1, 2, 3, 7)]


@pytest.mark.parametrize("model", [InAnnotation, InField])
@pytest.mark.parametrize("doc", DOCS)
def test_the_member_shown_is_the_tagged_one(model: Any, doc: str) -> None:
    want = TypeAdapter(model).validate_json(doc)
    for chunks in chunkings(doc):
        s = unspool.stream(chunks, response_model=model)
        shown = [p.pet for p in s]
        assert s.get_final_response() == want
        assert any(p is not None for p in shown)
        for p in shown:
            assert p is None or isinstance(p, type(want.pet)), (chunks, p)


def test_each_element_of_a_list_shows_its_own_member() -> None:
    doc = '{"pets": [{"name": "Tom", "pet_type": "cat"}, {"name": "Rex", "pet_type": "dog", "barks": 1}]}'
    want = InList.model_validate_json(doc)
    for chunks in chunkings(doc):
        s = unspool.stream(chunks, response_model=InList)
        for p in s:
            for got, final in zip(p.pets, want.pets, strict=False):
                assert isinstance(got, type(final)), (chunks, p)
        assert s.get_final_response() == want
