"""`stream()` / `astream()` take `max_depth` and `max_chars`: past either, a clear error that says
where, and nothing already received is lost."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import unspool
from pydantic import BaseModel
from test_chunking import cuttings


class Node(BaseModel):
    name: str
    kids: list[Node] = []


DEEP = '{"name": "a", "kids": [{"name": "b", "kids": [{"name": "c", "kids": []}]}]}'
TEXT = '{"name": "Ünspool 🧵 streams", "kids": [{"name": "b"}]}'


def test_nesting_past_max_depth_raises_with_position_and_keeps_what_arrived() -> None:
    want = unspool.stream([DEEP], response_model=Node, max_depth=6).get_final_response()
    assert want.kids[0].kids[0].name == "c"
    for chunks in cuttings(DEEP):
        s = unspool.stream(chunks, response_model=Node, max_depth=4)
        with pytest.raises(unspool.JSONDecodeError) as e:
            for _ in s:
                pass
        assert "max_depth=4" in str(e.value)
        assert e.value.pos == DEEP.index('{"name": "c"')  # the container past the limit
        # The last partial yielded before the chunk that went too deep, and every character received.
        assert s.partial is None or "a".startswith(s.partial.name)
        if len(chunks) == len(DEEP):  # a character at a time: everything before the error showed
            assert s.partial.kids[0].name == "b"
        assert s.text.startswith(DEEP[: e.value.pos])


@pytest.mark.parametrize("bad", [0, -1, 202])
def test_max_depth_out_of_range_is_refused(bad: int) -> None:
    with pytest.raises(ValueError, match="max_depth must be from 1 to 201"):
        unspool.stream(["{}"], response_model=Node, max_depth=bad)


@pytest.mark.parametrize("as_bytes", [False, True])
def test_output_past_max_chars_raises_and_keeps_the_first_max_chars(as_bytes: bool) -> None:
    for limit in (0, 1, 12, 21, 30, len(TEXT) - 1):
        expected_partial = list(unspool.stream([TEXT[:limit]], response_model=Node))
        for chunks in cuttings(TEXT):
            fed = [c.encode() for c in chunks] if as_bytes else chunks
            s = unspool.stream(fed, response_model=Node, max_chars=limit)
            seen = []
            with pytest.raises(unspool.OutputLimitError) as e:
                for p in s:
                    seen.append(p)
            assert e.value.limit == limit
            assert e.value.text == TEXT[:limit] == s.text, chunks
            assert s.partial == (expected_partial[-1] if expected_partial else None), chunks
            with pytest.raises(unspool.OutputLimitError):
                s.get_final_response()


def test_output_within_max_chars_streams_as_without_it() -> None:
    for chunks in cuttings(TEXT):
        s = unspool.stream(chunks, response_model=Node, max_chars=len(TEXT))
        assert s.get_final_response() == unspool.stream([TEXT], response_model=Node).get_final_response()


def test_astream_takes_the_same_limits() -> None:
    async def chunks() -> AsyncIterator[str]:
        for c in TEXT:
            yield c

    async def run() -> None:
        s = unspool.astream(chunks(), response_model=Node, max_chars=10)
        with pytest.raises(unspool.OutputLimitError):
            async for _ in s:
                pass
        assert s.text == TEXT[:10]
        d = unspool.astream(chunks(), response_model=Node, max_depth=1)
        with pytest.raises(unspool.JSONDecodeError, match="max_depth=1"):
            await d.get_final_response()

    asyncio.run(run())
