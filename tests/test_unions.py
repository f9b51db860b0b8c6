"""Plain unions end as pydantic's smart mode decides, judging the JSON text as `validate_json` does,
wherever they stand (a field, a list item, the root) and however the text was cut (issue 22, item 2)."""

from __future__ import annotations

from typing import Any

import pytest
import unspool
from pydantic import BaseModel, TypeAdapter


class Basic(BaseModel):
    name: str


class Detailed(BaseModel):
    name: str
    email: str


class IntV(BaseModel):
    value: int


class StrV(BaseModel):
    value: str


class Holder(BaseModel):
    who: Basic | Detailed
    many: list[IntV | StrV] = []


CASES: list[tuple[Any, str]] = [
    (list[Basic | Detailed], '[{"name": "Ada", "email": "a@x"}, {"name": "Bo"}]'),
    (list[IntV | StrV], '[{"value": "123"}, {"value": 123}]'),
    (Basic | Detailed, '{"name": "Ada", "email": "a@x"}'),
    (Holder, '{"who": {"name": "Ada", "email": "a@x"}, "many": [{"value": "7"}, {"value": 7}]}'),
]


@pytest.mark.parametrize(("model", "doc"), CASES)
def test_the_union_ends_as_validate_json_says(model: Any, doc: str) -> None:
    want = TypeAdapter(model).validate_json(doc)
    for k in (1, 2, 3, 5, len(doc)):
        s = unspool.stream([doc[i : i + k] for i in range(0, len(doc), k)], response_model=model)
        list(s)
        got = s.get_final_response()
        assert repr(got) == repr(want), k
