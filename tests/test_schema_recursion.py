"""A model that refers to itself with a default (`manager: "Employee" = None`, a common habit): the
strict schema is built or refused with `SchemaError`, never a `RecursionError`, and the modes that need
no strict schema stream it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest
import unspool
from pydantic import BaseModel, Field
from unspool.testing import ReplayServer


class Employee(BaseModel):
    name: str
    manager: Employee = None  # type: ignore[assignment]  # the habit this is about


class Boss(BaseModel):
    name: str
    boss: Boss | None = Field(None, description="who they report to")


class Tree(BaseModel):
    v: int
    kids: list[Tree] = []


DOC = {"name": "Ada", "manager": {"name": "Grace"}}
MESSAGES = [{"role": "user", "content": "who?"}]


_clients: list[openai.OpenAI] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _clients:
        _clients.pop().close()


def stream(server: ReplayServer, mode: str, model: Any) -> Any:
    sdk = openai.OpenAI(base_url=server.base_url, api_key="test")
    _clients.append(sdk)
    client = unspool.from_openai(sdk, mode=mode)
    return client.chat.completions.stream(model="m", messages=MESSAGES, response_model=model)


@pytest.mark.parametrize("mode", ["tools", "json", "md_json"])
def test_modes_without_a_strict_schema_stream_a_self_reference_with_a_default(mode: str) -> None:
    with ReplayServer(DOC) as server:
        s = stream(server, mode, Employee)
        assert s.get_final_response() == Employee.model_validate(DOC)


def test_strict_mode_refuses_a_required_self_reference_before_the_request() -> None:
    with ReplayServer(DOC) as server:
        with pytest.raises(unspool.SchemaError, match="manager") as e:
            stream(server, "json_schema", Employee)
        assert "optional" in str(e.value)
        assert server.requests == []


@pytest.mark.parametrize("model", [Boss, Tree, list[Boss]])
def test_strict_mode_keeps_a_reference_beside_a_default_as_a_reference(model: Any) -> None:
    doc: Any = {"name": "Ada", "boss": {"name": "Grace", "boss": None}}
    if model is Tree:
        doc = {"v": 1, "kids": [{"v": 2, "kids": []}]}
    elif model == list[Boss]:
        doc = [doc]
    with ReplayServer(doc) as server:
        s = stream(server, "json_schema", model)
        from pydantic import TypeAdapter

        assert s.get_final_response() == TypeAdapter(model).validate_python(doc)
        sent = server.requests[0]["body"]["response_format"]["json_schema"]["schema"]
        assert "$defs" in sent
