"""`unspool.from_openai` through the official openai SDK, over real HTTP, against `unspool.testing`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Literal

import openai
import pytest
import unspool
from ideas import IDEAS, Idea
from pydantic import BaseModel, TypeAdapter, ValidationError, field_validator
from unspool.testing import ReplayServer, Reply

# Every test here runs with each wire (the core's SSE reader, and the SDK's events).
pytestmark = pytest.mark.usefixtures("each_wire")


class Profile(BaseModel):
    name: str
    age: int
    tags: list[str] = []


WANT = [Idea(**d) for d in IDEAS]
MODES = ["json_schema", "tools", "json", "md_json"]
APIS = ["responses", "chat"]
MESSAGES = [{"role": "user", "content": "Generate 3 marketing ideas for a note-taking app"}]


@pytest.fixture
def server() -> Iterator[ReplayServer]:
    with ReplayServer(IDEAS) as s:
        yield s


_open: list[openai.OpenAI] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _open:
        _open.pop().close()


def client(server: ReplayServer, **kw: Any) -> Any:
    sdk = openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
    _open.append(sdk)
    return unspool.from_openai(sdk, **kw)


def aclient(server: ReplayServer, **kw: Any) -> Any:
    """An async client; use it as `async with aclient(...) as c` so it closes on its own loop."""
    sdk = openai.AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0)
    return unspool.from_openai(sdk, **kw)


def endpoint(c: Any, api: str) -> Any:
    return c.responses if api == "responses" else c.chat.completions


def check_growth(partials: list[list[Any]], final: list[Any]) -> None:
    """Every partial list is a prefix-in-progress of the final list, and no two in a row are equal (but
    the last, the finished objects, after the same values shown as partial objects)."""
    assert partials, "nothing was yielded"
    for i, (before, after) in enumerate(zip(partials, partials[1:], strict=False)):
        if before == after:
            assert i == len(partials) - 2
            assert not all(unspool.is_complete(x) for x in before)
            assert all(unspool.is_complete(x) for x in after)
        assert len(before) <= len(after)
    for p in partials:
        assert all(done == want for done, want in zip(p[:-1], final, strict=False))
        if p:
            last, want = p[-1], final[len(p) - 1]
            assert want.title.startswith(last.title)
            assert want.blurb.startswith(last.blurb)
    assert partials[-1] == final


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("api", APIS)
def test_every_mode_on_both_apis_streams_the_list(server: ReplayServer, mode: str, api: str) -> None:
    stream = endpoint(client(server, mode=mode), api).stream(
        model="gpt-4o-mini", messages=MESSAGES, response_model=list[Idea]
    )
    partials = list(stream)
    final = stream.get_final_response()
    assert final == WANT
    assert all(type(x) is Idea for x in final)
    check_growth(partials, final)
    assert stream.usage is not None
    assert stream.finish_reason in ("stop", "tool_calls")
    assert stream.response_id
    assert stream.attempt == 1


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("api", APIS)
def test_every_mode_on_both_apis_async(server: ReplayServer, mode: str, api: str) -> None:
    async def run() -> tuple[list[Any], Any]:
        async with aclient(server, mode=mode) as c:
            stream = endpoint(c, api).stream(
                model="gpt-4o-mini", messages=MESSAGES, response_model=list[Idea]
            )
            partials = [p async for p in stream]
            return partials, await stream.get_final_response()

    partials, final = asyncio.run(run())
    assert final == WANT
    check_growth(partials, final)


def test_json_schema_request_is_strict_and_wraps_a_list_root(server: ReplayServer) -> None:
    list(client(server).chat.completions.stream(model="m", messages=MESSAGES, response_model=list[Idea]))
    body = server.requests[0]["body"]
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    schema = fmt["json_schema"]["schema"]
    assert schema["type"] == "object" and schema["required"] == ["result"]
    assert schema["additionalProperties"] is False
    idea = schema["$defs"]["Idea"]
    assert idea["required"] == ["title", "blurb"] and idea["additionalProperties"] is False
    assert "maxLength" not in idea["properties"]["blurb"]  # strict mode has no maxLength: said in words
    assert "140" in idea["properties"]["blurb"]["description"]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["messages"] == MESSAGES


def test_responses_request_sends_messages_as_input_with_text_format() -> None:
    with ReplayServer({"name": "Ada", "age": 36, "tags": ["math"]}) as other:
        s = client(other).responses.stream(
            model="m", messages=MESSAGES, response_model=Profile, temperature=0.2
        )
        assert s.get_final_response() == Profile(name="Ada", age=36, tags=["math"])
        body = other.requests[0]["body"]
    assert body["input"] == MESSAGES and "messages" not in body
    assert body["temperature"] == 0.2
    fmt = body["text"]["format"]
    assert fmt["type"] == "json_schema" and fmt["name"] == "Profile" and fmt["strict"] is True
    assert fmt["schema"]["required"] == ["name", "age", "tags"]  # an object root: no envelope


def test_input_string_is_accepted_on_responses(server: ReplayServer) -> None:
    s = client(server).responses.stream(model="m", input="ideas please", response_model=list[Idea])
    assert s.get_final_response() == WANT
    assert server.requests[0]["body"]["input"] == [{"role": "user", "content": "ideas please"}]


@pytest.mark.parametrize("api", APIS)
def test_tools_mode_forces_one_function(server: ReplayServer, api: str) -> None:
    endpoint(client(server, mode="tools"), api).stream(
        model="m", messages=MESSAGES, response_model=list[Idea]
    ).get_final_response()
    body = server.requests[0]["body"]
    (tool,) = body["tools"]
    if api == "chat":
        assert body["tool_choice"] == {"type": "function", "function": {"name": "list_Idea"}}
        fn = tool["function"]
    else:
        assert body["tool_choice"] == {"type": "function", "name": "list_Idea"}
        fn = tool
    assert fn["name"] == "list_Idea" and fn["strict"] is True
    assert fn["parameters"]["properties"]["result"]["type"] == "array"


@pytest.mark.parametrize("mode", ["json", "md_json"])
def test_prompt_modes_put_the_schema_in_a_system_message(server: ReplayServer, mode: str) -> None:
    client(server, mode=mode).chat.completions.stream(
        model="m", messages=MESSAGES, response_model=list[Idea]
    ).get_final_response()
    body = server.requests[0]["body"]
    system, *rest = body["messages"]
    assert system["role"] == "system" and '"Idea"' in system["content"] and rest == MESSAGES
    if mode == "json":
        assert body["response_format"] == {"type": "json_object"}
    else:
        assert "response_format" not in body and "```json" in system["content"]


def test_a_schema_strict_mode_cannot_express_is_refused_with_advice(server: ReplayServer) -> None:
    c = client(server)
    with pytest.raises(unspool.SchemaError, match='mode="tools"'):
        c.chat.completions.stream(model="m", messages=MESSAGES, response_model=dict[str, int])
    assert server.requests == []
    with ReplayServer({"a": 1, "b": 2}) as other:
        got = client(other, mode="tools").chat.completions.stream(
            model="m", messages=MESSAGES, response_model=dict[str, int]
        )
        assert got.get_final_response() == {"a": 1, "b": 2}
        fn = other.requests[0]["body"]["tools"][0]["function"]
        assert fn["strict"] is False


def test_the_request_is_sent_on_first_iteration(server: ReplayServer) -> None:
    stream = client(server).responses.stream(model="m", messages=MESSAGES, response_model=list[Idea])
    assert server.requests == [] and stream.attempt == 0
    first = next(iter(stream))
    assert len(server.requests) == 1 and isinstance(first, list)
    stream.close()


@pytest.mark.parametrize("api", APIS)
def test_create_returns_the_validated_object_without_streaming(server: ReplayServer, api: str) -> None:
    got = endpoint(client(server), api).create(model="m", messages=MESSAGES, response_model=list[Idea])
    assert got == WANT
    assert server.requests[0]["body"].get("stream") in (None, False)


def test_create_without_response_model_is_the_sdks(server: ReplayServer) -> None:
    raw = client(server).chat.completions.create(model="m", messages=MESSAGES)
    assert isinstance(raw, openai.types.chat.ChatCompletion)
    assert "Note Ninja" in (raw.choices[0].message.content or "")


def test_async_create(server: ReplayServer) -> None:
    async def run() -> Any:
        async with aclient(server) as c:
            return await c.responses.create(model="m", messages=MESSAGES, response_model=list[Idea])

    assert asyncio.run(run()) == WANT


def test_items_yields_each_idea_once_as_it_closes(server: ReplayServer) -> None:
    stream = client(server).chat.completions.stream(model="m", messages=MESSAGES, response_model=list[Idea])
    seen = []
    for item in stream.items():
        seen.append((item, len(stream.text)))
    assert [i for i, _ in seen] == WANT
    # each arrived before the whole text did
    assert seen[0][1] < seen[1][1] < len(stream.text)


# Bad endings: clear errors, nothing received lost.


@pytest.mark.parametrize("api", APIS)
def test_length_cut_raises_incomplete_output_with_partial_text_and_usage(api: str) -> None:
    with ReplayServer(Reply(document=IDEAS, fault="length", fault_after=30)) as server:
        stream = endpoint(client(server), api).stream(model="m", messages=MESSAGES, response_model=list[Idea])
        partials = list(stream)
        with pytest.raises(unspool.IncompleteOutputError, match="token limit") as e:
            stream.get_final_response()
    assert stream.finish_reason == "length"
    assert e.value.usage is not None and e.value.text == stream.text and len(e.value.text) > 20
    assert e.value.partial == partials[-1] == stream.partial
    assert isinstance(e.value, ValueError)


@pytest.mark.parametrize("api", APIS)
def test_dropped_connection_raises_the_sdks_error_and_keeps_what_arrived(api: str) -> None:
    with ReplayServer(Reply(document=IDEAS, fault="drop", fault_after=40)) as server:
        stream = endpoint(client(server), api).stream(model="m", messages=MESSAGES, response_model=list[Idea])
        partials = []
        with pytest.raises(openai.APIConnectionError):
            for p in stream:
                partials.append(p)
    assert partials and stream.partial == partials[-1]
    assert stream.text and json.dumps(IDEAS).startswith(stream.text[len('{"result": ') :])
    with pytest.raises(unspool.IncompleteOutputError):
        stream.get_final_response()


@pytest.mark.parametrize("api", APIS)
def test_error_event_mid_stream_raises_api_error(api: str) -> None:
    with ReplayServer(Reply(document=IDEAS, fault="error", fault_after=20, message="overloaded")) as server:
        stream = endpoint(client(server), api).stream(model="m", messages=MESSAGES, response_model=list[Idea])
        with pytest.raises(openai.APIError, match="overloaded"):
            list(stream)
    assert stream.text  # what arrived before the error is kept


@pytest.mark.parametrize(
    ("status", "error"), [(429, openai.RateLimitError), (500, openai.InternalServerError)]
)
def test_http_errors_are_the_sdks(status: int, error: type[Exception]) -> None:
    with ReplayServer(Reply(document=IDEAS, fault="http_error", status=status)) as server:
        stream = client(server).responses.stream(model="m", messages=MESSAGES, response_model=list[Idea])
        with pytest.raises(error):
            list(stream)


@pytest.mark.parametrize("api", APIS)
def test_refusal_raises_refusal_error_with_its_text(api: str) -> None:
    with ReplayServer(Reply(document=IDEAS, fault="refusal", refusal="I can't help with that.")) as server:
        stream = endpoint(client(server), api).stream(model="m", messages=MESSAGES, response_model=list[Idea])
        list(stream)
        with pytest.raises(unspool.RefusalError) as e:
            stream.get_final_response()
    assert e.value.refusal == "I can't help with that."


@pytest.mark.parametrize("api", APIS)
def test_content_filter_is_a_clear_error(api: str) -> None:
    with ReplayServer(Reply(document=IDEAS, fault="content_filter", fault_after=25)) as server:
        stream = endpoint(client(server), api).stream(model="m", messages=MESSAGES, response_model=list[Idea])
        list(stream)
        with pytest.raises(unspool.ContentFilterError, match="content filter") as e:
            stream.get_final_response()
    assert stream.finish_reason == "content_filter" and e.value.text == stream.text


def test_final_validation_error_is_the_response_models_own(server: ReplayServer) -> None:
    bad = [*IDEAS[:2], {"title": "Long", "blurb": "x" * 141}]
    with ReplayServer(bad) as other:
        stream = client(other).chat.completions.stream(
            model="m", messages=MESSAGES, response_model=list[Idea]
        )
        list(stream)
        with pytest.raises(ValidationError) as got:
            stream.get_final_response()
    with pytest.raises(ValidationError) as want:
        TypeAdapter(list[Idea]).validate_python(bad)
    assert got.value.errors() == want.value.errors()  # located at [2].blurb, not under the envelope
    assert len(stream.errors) == 1


# Retries and fail-fast.

BAD = [{"title": "Too long", "blurb": "y" * 150}, *IDEAS[1:]]


@pytest.mark.parametrize("api", APIS)
def test_retry_asks_again_with_the_output_and_the_errors(api: str) -> None:
    with ReplayServer(replies=[Reply(document=BAD), Reply(document=IDEAS)]) as server:
        stream = endpoint(client(server), api).stream(
            model="m", messages=MESSAGES, response_model=list[Idea], max_retries=2
        )
        attempts = set()
        for _ in stream:
            attempts.add(stream.attempt)
        assert stream.get_final_response() == WANT
        assert attempts == {1, 2} and stream.attempt == 2
        second = server.requests[1]["body"]
    convo = second["messages"] if api == "chat" else second["input"]
    assert convo[: len(MESSAGES)] == MESSAGES
    assistant, feedback = convo[-2:]
    assert assistant["role"] == "assistant" and "y" * 150 in assistant["content"]
    assert feedback["role"] == "user" and "at most 140 characters" in feedback["content"]


def test_retries_exhausted_raise_retry_error_with_every_attempts_error() -> None:
    with ReplayServer(replies=[Reply(document=BAD)]) as server:
        stream = client(server).responses.stream(
            model="m", messages=MESSAGES, response_model=list[Idea], max_retries=2
        )
        with pytest.raises(unspool.RetryError) as e:
            stream.get_final_response()
        assert len(server.requests) == 3
    assert len(e.value.errors) == 3 and all(isinstance(x, ValidationError) for x in e.value.errors)
    assert e.value.text == stream.text


def test_fail_fast_closes_the_response_at_the_first_invalid_part_and_retries() -> None:
    long_bad = [{"title": "Bad", "blurb": "z" * 150}, *IDEAS * 30]
    with ReplayServer(replies=[Reply(document=long_bad), Reply(document=IDEAS)], delay=0.001) as server:
        stream = client(server).chat.completions.stream(
            model="m", messages=MESSAGES, response_model=list[Idea], max_retries=1, fail_fast=True
        )
        assert stream.get_final_response() == WANT
        assert server.wait_for_disconnects(1)
        assert server.completed == 1  # only the second attempt was sent to its end
        first_output = server.requests[1]["body"]["messages"][-2]["content"]
    assert len(first_output) < len(json.dumps({"result": long_bad})) / 4


def test_fail_fast_without_retries_raises_the_parts_error() -> None:
    with ReplayServer(Reply(document=[{"title": "Bad", "blurb": "z" * 150}, *IDEAS * 30])) as server:
        stream = client(server).chat.completions.stream(
            model="m", messages=MESSAGES, response_model=list[Idea], fail_fast=True
        )
        with pytest.raises(ValidationError, match="at most 140 characters"):
            stream.get_final_response()


def test_bad_json_is_retried_then_raised_with_position() -> None:
    with ReplayServer(replies=[Reply(text='{"result": [{"title": "a",, }]}')]) as server:
        stream = client(server, mode="json").chat.completions.stream(
            model="m", messages=MESSAGES, response_model=list[Idea], max_retries=1
        )
        with pytest.raises(unspool.RetryError) as e:
            stream.get_final_response()
        assert len(server.requests) == 2
    assert all(isinstance(x, unspool.JSONDecodeError) for x in e.value.errors)
    with ReplayServer(replies=[Reply(text='{"result": [{"title": "a",, }]}')]) as server:
        stream = client(server, mode="json").chat.completions.stream(
            model="m", messages=MESSAGES, response_model=list[Idea]
        )
        with pytest.raises(unspool.JSONDecodeError) as d:
            list(stream)
    assert d.value.pos == len('{"result": [{"title": "a",')
    assert stream.text.startswith('{"result": [{"title": "a",')


class Strict(BaseModel):
    title: str

    @field_validator("title")
    @classmethod
    def shouty(cls, v: str) -> str:
        if v != v.upper():
            raise ValueError("title must be upper case")
        return v


def test_custom_validator_errors_reach_the_retry_prompt() -> None:
    with ReplayServer(
        replies=[Reply(document={"title": "quiet"}), Reply(document={"title": "LOUD"})]
    ) as server:
        got = client(server).chat.completions.create(
            model="m", messages=MESSAGES, response_model=Strict, max_retries=1
        )
        assert got == Strict(title="LOUD")
        assert "title must be upper case" in server.requests[1]["body"]["messages"][-1]["content"]


# Early exit closes the HTTP response.

SLOW = IDEAS * 40


def test_break_closes_the_http_response() -> None:
    with ReplayServer(SLOW, delay=0.002) as server:
        stream = client(server).chat.completions.stream(
            model="m", messages=MESSAGES, response_model=list[Idea]
        )
        for i, _ in enumerate(stream):
            if i == 3:
                break
        assert server.wait_for_disconnects(1)
        with pytest.raises(unspool.IncompleteOutputError):
            stream.get_final_response()


def test_close_and_with_block_close_the_http_response() -> None:
    with ReplayServer(SLOW, delay=0.002) as server:
        stream = client(server).responses.stream(model="m", messages=MESSAGES, response_model=list[Idea])
        it = iter(stream)
        next(it)
        stream.close()
        assert server.wait_for_disconnects(1)
        with client(server).responses.stream(model="m", messages=MESSAGES, response_model=list[Idea]) as s2:
            next(iter(s2))
        assert server.wait_for_disconnects(2)


def test_async_break_aclose_and_cancel_close_the_http_response() -> None:
    async def run(server: ReplayServer) -> None:
        async with aclient(server) as c:
            await check_closes(c)

    async def check_closes(c: Any) -> None:
        s1 = c.chat.completions.stream(model="m", messages=MESSAGES, response_model=list[Idea])
        async with s1:
            async for _ in s1:
                break
        s2 = c.responses.stream(model="m", messages=MESSAGES, response_model=list[Idea])

        async def consume() -> None:
            async for _ in s2:
                pass

        task = asyncio.create_task(consume())
        while s2.partial is None:
            await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with ReplayServer(SLOW, delay=0.002) as server:
        asyncio.run(run(server))
        assert server.wait_for_disconnects(2)
        assert server.completed == 0


# Many at once.


def test_200_concurrent_async_streams_all_finish_correctly() -> None:
    async def one(c: Any, i: int) -> Any:
        s = c.responses.stream(model="m", messages=MESSAGES, response_model=list[Idea])
        n = 0
        async for _ in s:
            n += 1
        assert n > 3
        return await s.get_final_response()

    async def run(server: ReplayServer) -> list[Any]:
        async with aclient(server) as c:
            return await asyncio.gather(*(one(c, i) for i in range(200)))

    with ReplayServer(IDEAS, delay=0.001) as server:
        results = asyncio.run(run(server))
        assert server.completed == 200
    assert results == [WANT] * 200


@pytest.mark.parametrize("api", APIS)
def test_keepalive_comments_and_crlf_line_ends_change_nothing(api: str) -> None:
    with ReplayServer(IDEAS, keepalive=True, crlf=True, chunk_sizes=(1, 7)) as server:
        stream = endpoint(client(server), api).stream(model="m", messages=MESSAGES, response_model=list[Idea])
        partials = list(stream)
        assert stream.get_final_response() == WANT
    check_growth(partials, WANT)


def test_the_first_partial_of_an_enveloped_list_is_not_an_empty_list(server: ReplayServer) -> None:
    stream = client(server).responses.stream(model="m", messages=MESSAGES, response_model=list[Idea])
    first = next(iter(stream))
    assert isinstance(first, list) and len(first) == 1 and isinstance(first[0], Idea)
    stream.close()


def test_a_wrapped_client_passes_everything_else_to_the_sdk(server: ReplayServer) -> None:
    c = client(server)
    assert c.base_url == c.client.base_url
    assert c.chat.completions.with_raw_response is not None
    with pytest.raises(TypeError, match="openai.OpenAI"):
        unspool.from_openai(object())


@pytest.mark.parametrize("api", APIS)
def test_output_that_stops_before_the_json_closes_is_incomplete(api: str) -> None:
    cut = json.dumps({"result": IDEAS})[:-30]
    with ReplayServer(Reply(text=cut)) as server:
        stream = endpoint(client(server), api).stream(model="m", messages=MESSAGES, response_model=list[Idea])
        partials = list(stream)
        with pytest.raises(unspool.IncompleteOutputError, match="ended before the JSON value did") as e:
            stream.get_final_response()
    assert stream.finish_reason == "stop" and e.value.text == cut
    assert e.value.partial == partials[-1] and len(e.value.partial) == 3
    assert e.value.usage is not None


def test_min_interval_coalesces_partials_and_still_yields_the_final_state(server: ReplayServer) -> None:
    stream = client(server).chat.completions.stream(
        model="m", messages=MESSAGES, response_model=list[Idea], min_interval=3600
    )
    partials = list(stream)
    assert len(partials) == 2  # the first change, then (coalesced) the final state
    assert partials[-1] == WANT == stream.get_final_response()


def test_async_plain_break_closes_the_http_response_on_the_next_loop_turns() -> None:
    async def run(server: ReplayServer) -> int:
        async with aclient(server) as c:
            stream = c.chat.completions.stream(model="m", messages=MESSAGES, response_model=list[Idea])
            async for partial in stream:
                if len(partial) > 2:
                    break
            for _ in range(100):  # the async generator is closed by the event loop, soon after the break
                await asyncio.sleep(0.01)
                if server.disconnects:
                    break
            return server.disconnects

    with ReplayServer(SLOW, delay=0.002) as server:
        assert asyncio.run(run(server)) == 1
        assert server.completed == 0


# What a demanding user runs into.


class Tree(BaseModel):
    name: str
    children: list[Tree] = []


class Empty(BaseModel):
    pass


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: int


class Dog(BaseModel):
    kind: Literal["dog"]
    good: bool


TREE = {"name": "root", "children": [{"name": "a", "children": [{"name": "a1", "children": []}]}]}


@pytest.mark.parametrize("mode", MODES)
def test_a_recursive_model_streams_and_its_schema_root_is_an_object(mode: str) -> None:
    with ReplayServer(TREE) as server:
        stream = client(server, mode=mode).chat.completions.stream(
            model="m", messages=MESSAGES, response_model=Tree
        )
        partials = list(stream)
        assert stream.get_final_response() == Tree.model_validate(TREE)
        body = server.requests[0]["body"]
    assert partials[-1] == Tree.model_validate(TREE)
    if mode == "json_schema":
        schema = body["response_format"]["json_schema"]["schema"]
        assert schema["type"] == "object" and "$ref" not in schema and "Tree" in schema["$defs"]


def test_formats_strict_mode_lacks_are_described_not_sent() -> None:
    from pydantic import HttpUrl

    class Link(BaseModel):
        url: HttpUrl
        when: datetime

    schema = unspool.schema.response_schema(Link).schema
    url, when = schema["properties"]["url"], schema["properties"]["when"]
    assert "format" not in url and '"uri"' in url["description"]
    assert when["format"] == "date-time"


def test_an_empty_model_is_fine_in_strict_mode() -> None:
    with ReplayServer({}) as server:
        got = client(server).responses.create(model="m", messages=MESSAGES, response_model=Empty)
        fmt = server.requests[0]["body"]["text"]["format"]
    assert got == Empty() and fmt["schema"]["properties"] == {} and fmt["strict"] is True


@pytest.mark.parametrize("api", APIS)
def test_tools_mode_asks_for_one_call_and_refuses_tools_of_the_callers(
    server: ReplayServer, api: str
) -> None:
    ep = endpoint(client(server, mode="tools"), api)
    assert ep.stream(model="m", messages=MESSAGES, response_model=list[Idea]).get_final_response() == WANT
    assert server.requests[0]["body"]["parallel_tool_calls"] is False
    with pytest.raises(ValueError, match="tools of your own"):
        ep.stream(model="m", messages=MESSAGES, response_model=list[Idea], tools=[])


def test_the_callers_stream_options_are_kept_and_usage_still_asked_for(server: ReplayServer) -> None:
    stream = client(server).chat.completions.stream(
        model="m", messages=MESSAGES, response_model=list[Idea], stream_options={"include_obfuscation": False}
    )
    assert stream.get_final_response() == WANT and stream.usage is not None
    opts = server.requests[0]["body"]["stream_options"]
    assert opts == {"include_usage": True, "include_obfuscation": False}


@pytest.mark.parametrize("mode", MODES)
def test_a_union_root_streams_in_every_mode(mode: str) -> None:
    with ReplayServer({"kind": "dog", "good": True}) as server:
        got = client(server, mode=mode).chat.completions.stream(
            model="m", messages=MESSAGES, response_model=Cat | Dog
        )
        assert got.get_final_response() == Dog(kind="dog", good=True)


@pytest.mark.parametrize(("model", "doc"), [(int, 42), (Idea | None, None), (str, "plain words")])
@pytest.mark.parametrize("mode", MODES)
def test_scalar_roots_stream_in_every_mode(model: Any, doc: Any, mode: str) -> None:
    with ReplayServer(Reply(document=doc)) as server:
        got = client(server, mode=mode).responses.stream(model="m", messages=MESSAGES, response_model=model)
        assert got.get_final_response() == doc


def test_after_bad_json_get_final_response_raises_it_again() -> None:
    with ReplayServer(Reply(text='{"result": [1,,]}')) as server:
        stream = client(server).chat.completions.stream(
            model="m", messages=MESSAGES, response_model=list[int]
        )
        with pytest.raises(unspool.JSONDecodeError):
            list(stream)
        with pytest.raises(unspool.JSONDecodeError):
            stream.get_final_response()


def test_items_are_given_once_across_retries() -> None:
    bad_second = [IDEAS[0], {"title": "Too long", "blurb": "y" * 150}, IDEAS[2]]
    with ReplayServer(replies=[Reply(document=bad_second), Reply(document=IDEAS)]) as server:
        stream = client(server).chat.completions.stream(
            model="m", messages=MESSAGES, response_model=list[Idea], max_retries=1
        )
        got = [(stream.attempt, item) for item in stream.items()]
        assert stream.attempt == 2
    # Each position once: the first from the first attempt, the one that failed from the retry.
    assert got[0] == (1, WANT[0])
    assert sorted((i.title for _, i in got)) == sorted(i.title for i in WANT)
    assert (2, WANT[1]) in got


def test_async_get_final_response_after_a_plain_break_says_the_output_is_incomplete() -> None:
    async def run(server: ReplayServer) -> None:
        async with aclient(server) as c:
            stream = c.chat.completions.stream(model="m", messages=MESSAGES, response_model=list[Idea])
            async for _ in stream:
                break
            with pytest.raises(unspool.IncompleteOutputError, match="closed before"):
                await stream.get_final_response()

    with ReplayServer(SLOW, delay=0.002) as server:
        asyncio.run(run(server))
        assert server.wait_for_disconnects(1)
