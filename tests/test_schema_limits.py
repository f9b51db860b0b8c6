"""Structured Outputs' published limits and what strict mode cannot say are refused with `SchemaError`
before any request (issue 22's schema gaps), and the names sent read like the types."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import openai
import pytest
import unspool
from pydantic import BaseModel, ConfigDict, Field, create_model
from unspool.schema import response_schema
from unspool.testing import ReplayServer


def nested(levels: int) -> Any:
    """A model whose objects nest `levels` deep, the root's included."""
    model: Any = create_model("Leaf", x=(int, ...))
    for i in range(levels - 1):
        model = create_model(f"Level{i}", inner=(model, ...))
    return model


def strict_error(model: Any) -> str | None:
    return response_schema(model).strict_error


def test_depth_ten_is_taken_and_eleven_refused() -> None:
    assert strict_error(nested(10)) is None
    assert "nested 11 deep" in (strict_error(nested(11)) or "")
    # A root that is no object goes in an envelope, which is one more level.
    assert strict_error(list[nested(9)]) is None  # type: ignore[misc]
    assert "envelope" in (strict_error(list[nested(10)]) or "")  # type: ignore[misc]


def test_enum_values_and_string_sizes() -> None:
    many = Literal[tuple(f"v{i}" for i in range(1001))]  # type: ignore[valid-type]
    assert "1,001 enum values" in (strict_error(create_model("E", v=(many, ...))) or "")
    wide = Literal[tuple("w" * 59 + f"{i:03}" for i in range(300))]  # type: ignore[valid-type]
    assert "characters in an enum" in (strict_error(create_model("W", v=(wide, ...))) or "")
    fine = Literal[tuple(f"v{i}" for i in range(300))]  # type: ignore[valid-type]
    assert strict_error(create_model("F", v=(fine, ...))) is None


def test_properties_in_all() -> None:
    parts = [create_model(f"P{i}", **{f"f{j}": (int, ...) for j in range(100)}) for i in range(51)]
    big = create_model("Big", **{f"p{i}": (m, ...) for i, m in enumerate(parts)})
    assert "properties in all" in (strict_error(big) or "")


class Loose(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str


def test_extra_allow_is_refused_in_strict_mode_and_streams_elsewhere() -> None:
    with (
        ReplayServer({"name": "a", "more": 1}) as server,
        openai.OpenAI(base_url=server.base_url, api_key="test") as sdk,
    ):
        client = unspool.from_openai(sdk)
        msgs = [{"role": "user", "content": "x"}]
        with pytest.raises(unspool.SchemaError, match="extra='allow'"):
            client.chat.completions.stream(model="m", messages=msgs, response_model=Loose)
        assert server.requests == []
        s = client.chat.completions.stream(model="m", messages=msgs, response_model=Loose, mode="json")
        assert s.get_final_response() == Loose(name="a", more=1)


class Cat(BaseModel):
    meow: str


class Dog(BaseModel):
    woof: str


def test_names_of_annotated_roots_read_like_the_type() -> None:
    root = Annotated[Cat | Dog | None, Field(description="a pet")]
    name = response_schema(root).name
    assert name.startswith(("Union_Cat_Dog", "Cat_Dog")) and "FieldInfo" not in name
    assert response_schema(Annotated[list[Cat], "note"]).name == "list_Cat"
