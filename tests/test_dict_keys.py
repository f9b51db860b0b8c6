"""Dict keys are validated as `validate_json` validates them (issue 22, item 1): typed keys arrive as
their type, invalid keys fail as pydantic says, whatever the chunking, and through the OpenAI layer."""

from __future__ import annotations

import datetime
import enum
from typing import Annotated, Any

import openai
import pytest
import unspool
from pydantic import AfterValidator, BaseModel, TypeAdapter, ValidationError
from unspool.testing import ReplayServer


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Palette(BaseModel):
    weights: dict[Color, int]


Shout = Annotated[str, AfterValidator(str.upper)]

CASES: list[tuple[Any, str]] = [
    (dict[Color, int], '{"red": 1, "blue": 2}'),
    (dict[Color, int], '{"red": 1, "purple": 2}'),
    (dict[int, str], '{"7": "a", "8": "b"}'),
    (dict[int, str], '{"seven": "a"}'),
    (dict[datetime.date, int], '{"2024-01-02": 3}'),
    (dict[Shout, int], '{"ab": 1}'),
    (Palette, '{"weights": {"red": 5}}'),
    (Palette, '{"weights": {"green": 5}}'),
    (list[dict[int, int]], '[{"1": 2}, {"3": 4}]'),
    (dict[str, dict[Color, int]], '{"a": {"blue": 1}}'),
]


def outcome(run: Any) -> tuple[Any, Any]:
    try:
        return run(), None
    except ValidationError as e:
        return None, e.errors(include_url=False)


@pytest.mark.parametrize(("model", "doc"), CASES)
def test_keys_end_as_validate_json_says(model: Any, doc: str) -> None:
    want = outcome(lambda: TypeAdapter(model).validate_json(doc))
    for k in (1, 2, 5, len(doc)):
        s = unspool.stream([doc[i : i + k] for i in range(0, len(doc), k)], response_model=model)
        list(s)
        got = outcome(s.get_final_response)
        assert got == want, k
        if want[0] is not None:
            assert repr(got[0]) == repr(want[0])  # the keys' types too (Color.RED is not "red")


@pytest.mark.parametrize("mode", ["tools", "json", "md_json"])
def test_keys_are_validated_through_the_openai_layer(mode: str) -> None:
    with (
        ReplayServer({"weights": {"red": 5, "blue": 1}}) as server,
        openai.OpenAI(base_url=server.base_url, api_key="test") as sdk,
    ):
        client = unspool.from_openai(sdk, mode=mode)
        s = client.chat.completions.stream(
            model="m", messages=[{"role": "user", "content": "weights?"}], response_model=Palette
        )
        assert s.get_final_response() == Palette(weights={Color.RED: 5, Color.BLUE: 1})
