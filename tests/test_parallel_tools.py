"""`each_call_is_item=True`: several parallel tool calls streamed from one response, one element each.

Everything but the sans-IO `Calls` tests drives the official openai SDK over real HTTP against
`unspool.testing.ReplayServer`. The spec: the final value is
`TypeAdapter(list[T]).validate_json('[' + ','.join(arguments) + ']')`, the calls in call order.
"""

from __future__ import annotations

import asyncio
import json
import typing
from collections.abc import Iterator
from typing import Any

import openai
import pytest
import unspool
from hypothesis import given, settings
from hypothesis import strategies as st
from ideas import IDEAS, Idea
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response
from openai.types.responses.response_stream_event import ResponseStreamEvent
from pydantic import BaseModel, TypeAdapter, ValidationError
from unspool.testing import ReplayServer, Reply
from unspool.wire import Calls

# Every test here runs with each wire (the core's SSE reader, and the SDK's events).
pytestmark = pytest.mark.usefixtures("each_wire")

WANT = [Idea(**d) for d in IDEAS]
APIS = ["chat", "responses"]
ORDERS = ["sequential", "round_robin", "reversed", "shuffled"]
MESSAGES = [{"role": "user", "content": "Generate 3 marketing ideas for a note-taking app"}]
# A few delta cuttings: one character at a time, token-sized, and whole calls at once.
CHUNKINGS = [(1,), (1, 2, 3, 4, 5, 6), (7, 13), (1000,)]
ITEMS = {"each_call_is_item": True}


def joined(texts: list[str]) -> str:
    return "[" + ",".join(texts) + "]"


def spec(texts: list[str], model: Any = list[Idea]) -> Any:
    """What the final value must be (or raise)."""
    return TypeAdapter(model).validate_json(joined(texts))


CALL_TEXTS = [json.dumps(d) for d in IDEAS]


_open: list[openai.OpenAI] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _open:
        _open.pop().close()


def client(server: ReplayServer, mode: str = "tools") -> Any:
    sdk = openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
    _open.append(sdk)
    return unspool.from_openai(sdk, mode=mode)


def aclient(server: ReplayServer, mode: str = "tools") -> Any:
    """Use as `async with aclient(...) as c`, so that it closes on its own loop."""
    return unspool.from_openai(
        openai.AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0), mode=mode
    )


def endpoint(c: Any, api: str) -> Any:
    return c.responses if api == "responses" else c.chat.completions


def check_partials(partials: list[list[Any]], final: list[Any]) -> None:
    """Each partial is `[done0, ..., in_progress]`: finished items equal the final's, the last one a
    prefix of its final; lists never shrink, and no two in a row are equal."""
    assert partials, "nothing was yielded"
    assert all(type(p) is list for p in partials)
    for i, (before, after) in enumerate(zip(partials, partials[1:], strict=False)):
        if before == after:  # only the finished objects, after the same values shown as partial ones
            assert i == len(partials) - 2
            assert not all(unspool.is_complete(x) for x in before)
            assert all(unspool.is_complete(x) for x in after)
        assert len(before) <= len(after)
    for p in partials:
        assert 0 < len(p) <= len(final)
        assert p[:-1] == final[: len(p) - 1]
        last, want = p[-1], final[len(p) - 1]
        assert want.title.startswith(last.title or "")
        assert want.blurb.startswith(last.blurb or "")
    assert partials[-1] == final


# -- over HTTP, both APIs, sync and async ----------------------------------------------------------


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("sizes", CHUNKINGS)
@pytest.mark.parametrize("api", APIS)
def test_each_call_streams_as_one_element(api: str, sizes: tuple[int, ...], order: str) -> None:
    with ReplayServer(Reply(calls=IDEAS, call_order=order), chunk_sizes=sizes, seed=len(sizes)) as server:
        stream = endpoint(client(server), api).stream(
            model="m", messages=MESSAGES, response_model=list[Idea], **ITEMS
        )
        partials = list(stream)
        final = stream.get_final_response()
    assert final == spec(CALL_TEXTS) == WANT
    assert all(type(x) is Idea for x in final)
    check_partials(partials, final)
    assert stream.text == joined(CALL_TEXTS)  # the calls' arguments in call order, whatever they came in
    assert stream.usage is not None and stream.response_id and stream.attempt == 1
    if order == "sequential" and sizes != (1000,):
        # The second call shows while it streams, behind the first, finished.
        assert any(len(p) == 2 and p[1] != WANT[1] for p in partials)


@pytest.mark.parametrize("order", ["sequential", "shuffled"])
@pytest.mark.parametrize("api", APIS)
def test_each_call_streams_as_one_element_async(api: str, order: str) -> None:
    async def run(server: ReplayServer) -> tuple[list[Any], Any, str]:
        async with aclient(server) as c:
            stream = endpoint(c, api).stream(model="m", messages=MESSAGES, response_model=list[Idea], **ITEMS)
            partials = [p async for p in stream]
            return partials, await stream.get_final_response(), stream.text

    with ReplayServer(Reply(calls=IDEAS, call_order=order)) as server:
        partials, final, text = asyncio.run(run(server))
    assert final == WANT
    check_partials(partials, final)
    assert text == joined(CALL_TEXTS)


@pytest.mark.parametrize("api", APIS)
def test_the_request_asks_for_one_item_per_call_in_parallel(api: str) -> None:
    with ReplayServer(Reply(calls=IDEAS)) as server:
        endpoint(client(server), api).stream(
            model="m", messages=MESSAGES, response_model=list[Idea], **ITEMS
        ).get_final_response()
        body = server.requests[0]["body"]
    (tool,) = body["tools"]
    fn = tool["function"] if api == "chat" else tool
    assert tool["type"] == "function"
    assert fn["name"] == "Idea" and fn["strict"] is True
    # The tool takes one Idea, not the list nor an envelope around it.
    assert fn["parameters"]["required"] == ["title", "blurb"]
    assert "result" not in fn["parameters"]["properties"]
    assert body["tool_choice"] == "required"  # naming the function would ask for one call
    assert body["parallel_tool_calls"] is True
    convo = body["messages"] if api == "chat" else body["input"]
    assert convo == MESSAGES


@pytest.mark.parametrize("order", ["sequential", "reversed"])
@pytest.mark.parametrize("api", APIS)
def test_items_yields_each_element_once_as_its_call_closes(api: str, order: str) -> None:
    with ReplayServer(Reply(calls=IDEAS, call_order=order)) as server:
        stream = endpoint(client(server), api).stream(
            model="m", messages=MESSAGES, response_model=list[Idea], **ITEMS
        )
        seen = [(item, stream.text) for item in stream.items()]
    assert [item for item, _ in seen] == WANT
    if order == "sequential":
        # Item i comes once call i's arguments closed, before call i + 1's are all read.
        for i, (_, text) in enumerate(seen):
            assert text.startswith(joined(CALL_TEXTS[: i + 1])[:-1])
            if i + 1 < len(CALL_TEXTS):
                assert not text.startswith(joined(CALL_TEXTS[: i + 2])[:-1])


@pytest.mark.parametrize("api", APIS)
def test_items_async(api: str) -> None:
    async def run(server: ReplayServer) -> list[Any]:
        async with aclient(server) as c:
            stream = endpoint(c, api).stream(model="m", messages=MESSAGES, response_model=list[Idea], **ITEMS)
            return [item async for item in stream.items()]

    with ReplayServer(Reply(calls=IDEAS, call_order="round_robin")) as server:
        assert asyncio.run(run(server)) == WANT


@pytest.mark.parametrize("api", APIS)
def test_create_returns_the_items_without_streaming(api: str) -> None:
    with ReplayServer(Reply(calls=IDEAS)) as server:
        got = endpoint(client(server), api).create(
            model="m", messages=MESSAGES, response_model=list[Idea], **ITEMS
        )
        assert server.requests[0]["body"].get("stream") in (None, False)
        assert server.requests[0]["body"]["parallel_tool_calls"] is True
    assert got == WANT


@pytest.mark.parametrize("api", APIS)
def test_async_create(api: str) -> None:
    async def run(server: ReplayServer) -> Any:
        async with aclient(server) as c:
            return await endpoint(c, api).create(
                model="m", messages=MESSAGES, response_model=list[Idea], **ITEMS
            )

    with ReplayServer(Reply(calls=IDEAS)) as server:
        assert asyncio.run(run(server)) == WANT


BAD = [IDEAS[0], {"title": "Too long", "blurb": "y" * 150}, IDEAS[2]]
BAD_TEXTS = [json.dumps(d) for d in BAD]


@pytest.mark.parametrize("order", ["sequential", "shuffled"])
@pytest.mark.parametrize("api", APIS)
def test_an_invalid_element_raises_as_validate_json_of_the_array(api: str, order: str) -> None:
    with ReplayServer(Reply(calls=BAD, call_order=order)) as server:
        stream = endpoint(client(server), api).stream(
            model="m", messages=MESSAGES, response_model=list[Idea], **ITEMS
        )
        partials = list(stream)
        with pytest.raises(ValidationError) as got:
            stream.get_final_response()
    with pytest.raises(ValidationError) as want:
        spec(BAD_TEXTS)
    assert got.value.title == want.value.title == "list[Idea]"
    assert got.value.errors() == want.value.errors()
    assert got.value.errors()[0]["loc"] == (1, "blurb")  # located at the element's index
    assert len(stream.errors) == 1
    assert len(partials[-1]) == 3  # the element stays (what is hidden is its invalid field)


@pytest.mark.parametrize("api", APIS)
def test_items_skip_an_invalid_element(api: str) -> None:
    with ReplayServer(Reply(calls=BAD)) as server:
        stream = endpoint(client(server), api).stream(
            model="m", messages=MESSAGES, response_model=list[Idea], **ITEMS
        )
        assert list(stream.items()) == [WANT[0], WANT[2]]
        with pytest.raises(ValidationError):
            stream.get_final_response()


@pytest.mark.parametrize("api", APIS)
def test_validation_error_async(api: str) -> None:
    async def run(server: ReplayServer) -> None:
        async with aclient(server) as c:
            stream = endpoint(c, api).stream(model="m", messages=MESSAGES, response_model=list[Idea], **ITEMS)
            with pytest.raises(ValidationError) as got:
                await stream.get_final_response()
            assert got.value.errors()[0]["loc"] == (1, "blurb")

    with ReplayServer(Reply(calls=BAD, call_order="reversed")) as server:
        asyncio.run(run(server))


@pytest.mark.parametrize("api", APIS)
def test_arguments_that_are_not_json_raise_where_the_array_breaks(api: str) -> None:
    texts = [CALL_TEXTS[0], '{"title": "a",, }', CALL_TEXTS[2]]
    with ReplayServer(Reply(call_texts=texts)) as server:
        stream = endpoint(client(server), api).stream(
            model="m", messages=MESSAGES, response_model=list[Idea], **ITEMS
        )
        with pytest.raises(unspool.JSONDecodeError) as e:
            list(stream)
    assert e.value.pos == len(joined(texts[:1])[:-1] + ',{"title": "a",')
    with pytest.raises(unspool.JSONDecodeError):
        stream.get_final_response()


@pytest.mark.parametrize("api", APIS)
def test_whitespace_around_the_arguments_is_read(api: str) -> None:
    texts = [" " + CALL_TEXTS[0] + "\n", CALL_TEXTS[1] + "  ", "\t" + CALL_TEXTS[2]]
    with ReplayServer(Reply(call_texts=texts), chunk_sizes=(1, 2)) as server:
        stream = endpoint(client(server), api).stream(
            model="m", messages=MESSAGES, response_model=list[Idea], **ITEMS
        )
        assert stream.get_final_response() == spec(texts) == WANT
    assert stream.text == joined(texts)  # the calls came one after the other: all of it is read


@pytest.mark.parametrize("api", APIS)
def test_no_call_at_all_is_an_empty_list(api: str) -> None:
    with ReplayServer(Reply(calls=[])) as server:
        stream = endpoint(client(server), api).stream(
            model="m", messages=MESSAGES, response_model=list[Idea], **ITEMS
        )
        assert stream.get_final_response() == spec([]) == []


@pytest.mark.parametrize("api", APIS)
def test_one_call_is_a_list_of_one(api: str) -> None:
    with ReplayServer(Reply(calls=IDEAS[:1])) as server:
        stream = endpoint(client(server), api).stream(
            model="m", messages=MESSAGES, response_model=list[Idea], **ITEMS
        )
        assert list(stream)[-1] == stream.get_final_response() == WANT[:1]


# Bad endings.


@pytest.mark.parametrize("order", ["sequential", "round_robin"])
@pytest.mark.parametrize("api", APIS)
def test_length_cut_is_incomplete_output_with_the_calls_so_far(api: str, order: str) -> None:
    with ReplayServer(Reply(calls=IDEAS, fault="length", fault_after=40, call_order=order)) as server:
        stream = endpoint(client(server), api).stream(
            model="m", messages=MESSAGES, response_model=list[Idea], **ITEMS
        )
        partials = list(stream)
        with pytest.raises(unspool.IncompleteOutputError, match="token limit") as e:
            stream.get_final_response()
    assert stream.finish_reason == "length"
    assert e.value.partial == partials[-1] and e.value.text == stream.text
    assert not stream.text.endswith("]")  # the array is not closed on a cut output
    if order == "sequential":
        assert partials[-1][0] == WANT[0] and len(partials[-1]) == 2


@pytest.mark.parametrize("api", APIS)
def test_dropped_connection_raises_the_sdks_error(api: str) -> None:
    with ReplayServer(Reply(calls=IDEAS, fault="drop", fault_after=45)) as server:
        stream = endpoint(client(server), api).stream(
            model="m", messages=MESSAGES, response_model=list[Idea], **ITEMS
        )
        partials = []
        with pytest.raises(openai.APIConnectionError):
            for p in stream:
                partials.append(p)
    assert partials and partials[-1][0] == WANT[0]
    with pytest.raises(unspool.IncompleteOutputError):
        stream.get_final_response()


@pytest.mark.parametrize("fault", ["refusal", "content_filter", "error"])
@pytest.mark.parametrize("api", APIS)
def test_refusal_content_filter_and_error_events(api: str, fault: str) -> None:
    with ReplayServer(Reply(calls=IDEAS, fault=fault, fault_after=30)) as server:
        stream = endpoint(client(server), api).stream(
            model="m", messages=MESSAGES, response_model=list[Idea], **ITEMS
        )
        if fault == "error":
            with pytest.raises(openai.APIError):
                list(stream)
            return
        list(stream)
        error = unspool.RefusalError if fault == "refusal" else unspool.ContentFilterError
        with pytest.raises(error):
            stream.get_final_response()


@pytest.mark.parametrize("api", APIS)
def test_retry_with_the_errors_then_valid_calls(api: str) -> None:
    with ReplayServer(replies=[Reply(calls=BAD), Reply(calls=IDEAS, call_order="shuffled")]) as server:
        stream = endpoint(client(server), api).stream(
            model="m", messages=MESSAGES, response_model=list[Idea], max_retries=1, **ITEMS
        )
        assert stream.get_final_response() == WANT and stream.attempt == 2
        second = server.requests[1]["body"]
    assert second["parallel_tool_calls"] is True and second["tool_choice"] == "required"
    convo = second["messages"] if api == "chat" else second["input"]
    assistant, feedback = convo[-2:]
    assert assistant["content"] == joined(BAD_TEXTS)
    assert "at most 140 characters" in feedback["content"]


def test_fail_fast_stops_at_the_first_invalid_call() -> None:
    many = [*BAD, *IDEAS * 30]
    with ReplayServer(replies=[Reply(calls=many), Reply(calls=IDEAS)], delay=0.001) as server:
        stream = client(server).chat.completions.stream(
            model="m", messages=MESSAGES, response_model=list[Idea], max_retries=1, fail_fast=True, **ITEMS
        )
        assert stream.get_final_response() == WANT
        assert server.wait_for_disconnects(1)
        first_output = server.requests[1]["body"]["messages"][-2]["content"]
    assert len(first_output) < len(joined([json.dumps(d) for d in many])) / 4


def test_break_closes_the_http_response() -> None:
    with ReplayServer(Reply(calls=IDEAS * 20), delay=0.002) as server:
        stream = client(server).responses.stream(
            model="m", messages=MESSAGES, response_model=list[Idea], **ITEMS
        )
        for i, _ in enumerate(stream):
            if i == 3:
                break
        assert server.wait_for_disconnects(1)


# Refused: the opt-in takes list[T] in tools mode only.


class Cat(BaseModel):
    lives: int


class Dog(BaseModel):
    good: bool


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("mode", ["json_schema", "json", "md_json"])
def test_refused_outside_tools_mode(api: str, mode: str) -> None:
    with ReplayServer(Reply(calls=IDEAS)) as server:
        ep = endpoint(client(server, mode=mode), api)
        with pytest.raises(ValueError, match='needs mode="tools"'):
            ep.stream(model="m", messages=MESSAGES, response_model=list[Idea], **ITEMS)
        with pytest.raises(ValueError, match='needs mode="tools"'):
            ep.create(model="m", messages=MESSAGES, response_model=list[Idea], **ITEMS)
        # mode= on the call decides, as for every other call.
        ep.stream(model="m", messages=MESSAGES, response_model=list[Idea], mode="tools", **ITEMS).close()
        assert server.requests == []


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize(
    ("model", "words"),
    [
        (Idea, "needs response_model=list[T], not Idea"),
        (dict[str, Idea], "not dict[str, Idea]"),
        (list, "not list"),
        (tuple[Idea, ...], "needs response_model=list[T]"),
        (list[int], "int is not an object type"),
        (list[Cat | Dog], "Cat | Dog is not an object type"),
        (list[Idea | None], "is not an object type"),
        (list[list[Idea]], "list[Idea] is not an object type"),
    ],
)
def test_refused_unless_the_response_model_is_a_list_of_objects(api: str, model: Any, words: str) -> None:
    with ReplayServer(Reply(calls=IDEAS)) as server:
        ep = endpoint(client(server), api)
        with pytest.raises(TypeError, match="each_call_is_item=True") as e:
            ep.stream(model="m", messages=MESSAGES, response_model=model, **ITEMS)
        assert words in str(e.value)
        with pytest.raises(TypeError, match="each_call_is_item=True"):
            ep.create(model="m", messages=MESSAGES, response_model=model, **ITEMS)
        assert server.requests == []


@pytest.mark.parametrize("api", APIS)
def test_refused_with_parallel_tool_calls_false_or_tools_of_the_callers(api: str) -> None:
    with ReplayServer(Reply(calls=IDEAS)) as server:
        ep = endpoint(client(server), api)
        with pytest.raises(ValueError, match="parallel_tool_calls=False"):
            ep.stream(
                model="m", messages=MESSAGES, response_model=list[Idea], parallel_tool_calls=False, **ITEMS
            )
        with pytest.raises(ValueError, match="tools of your own"):
            ep.stream(model="m", messages=MESSAGES, response_model=list[Idea], tools=[], **ITEMS)
        assert server.requests == []


def test_an_annotated_list_is_taken_and_its_constraints_apply() -> None:
    from annotated_types import Len

    short = typing.Annotated[list[Idea], Len(max_length=2)]
    with ReplayServer(Reply(calls=IDEAS)) as server:
        stream = client(server).chat.completions.stream(
            model="m", messages=MESSAGES, response_model=short, **ITEMS
        )
        with pytest.raises(ValidationError) as got:
            stream.get_final_response()
    with pytest.raises(ValidationError) as want:
        spec(CALL_TEXTS, short)
    assert got.value.errors() == want.value.errors()


# Without the opt-in nothing changes.


@pytest.mark.parametrize("api", APIS)
def test_without_the_opt_in_tools_mode_asks_for_one_call_as_before(api: str) -> None:
    with ReplayServer(IDEAS) as server:
        ep = endpoint(client(server), api)
        assert ep.stream(model="m", messages=MESSAGES, response_model=list[Idea]).get_final_response() == WANT
        got = ep.stream(model="m", messages=MESSAGES, response_model=list[Idea], each_call_is_item=False)
        assert got.get_final_response() == WANT
        plain, off = (r["body"] for r in server.requests)
    assert plain == off  # each_call_is_item=False is the default
    assert plain["parallel_tool_calls"] is False
    (tool,) = plain["tools"]
    fn = tool["function"] if api == "chat" else tool
    assert fn["name"] == "list_Idea" and list(fn["parameters"]["properties"]) == ["result"]
    forced = {"type": "function", "function": {"name": "list_Idea"}} if api == "chat" else None
    assert plain["tool_choice"] == (forced or {"type": "function", "name": "list_Idea"})


@pytest.mark.parametrize("api", APIS)
def test_without_the_opt_in_only_the_first_call_is_read(api: str) -> None:
    with ReplayServer(Reply(calls=IDEAS)) as server:
        stream = endpoint(client(server), api).stream(model="m", messages=MESSAGES, response_model=Idea)
        assert stream.get_final_response() == WANT[0]
        assert stream.text == CALL_TEXTS[0]


@pytest.mark.parametrize("mode", ["json_schema", "json", "md_json"])
def test_without_the_opt_in_other_modes_pass_parallel_tool_calls_through(mode: str) -> None:
    with ReplayServer(IDEAS) as server:
        got = client(server, mode=mode).chat.completions.stream(
            model="m", messages=MESSAGES, response_model=list[Idea], parallel_tool_calls=False
        )
        assert got.get_final_response() == WANT
        assert server.requests[0]["body"]["parallel_tool_calls"] is False


# -- ReplayServer: several calls as the APIs stream them -------------------------------------------

EVENT_CLASSES: dict[str, Any] = {
    typing.get_args(cls.model_fields["type"].annotation)[0]: cls
    for cls in typing.get_args(typing.get_args(ResponseStreamEvent)[0])
}
CHAT_TOOLS: Any = [{"type": "function", "function": {"name": "emit", "parameters": {"type": "object"}}}]
RESP_TOOLS: Any = [{"type": "function", "name": "emit", "parameters": {"type": "object"}, "strict": False}]


def wire(model: Any) -> Any:
    return model.model_dump(mode="json", by_alias=True, exclude_unset=True)


@pytest.mark.parametrize("order", ORDERS)
def test_server_chat_chunks_carry_each_calls_index_id_and_name(order: str) -> None:
    with ReplayServer(Reply(calls=IDEAS, call_order=order), seed=3) as server:
        sdk = openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        _open.append(sdk)
        chunks = list(
            sdk.chat.completions.create(
                model="m", messages=MESSAGES, stream=True, tools=CHAT_TOOLS, tool_choice="required"
            )
        )
        whole = sdk.chat.completions.create(
            model="m", messages=MESSAGES, tools=CHAT_TOOLS, tool_choice="auto"
        )
    for chunk in chunks:
        ChatCompletionChunk.model_validate(wire(chunk))
    first = chunks[0].choices[0].delta
    assert first.role == "assistant" and first.content is None and first.tool_calls
    ids: dict[int, str] = {}
    args: dict[int, str] = {}
    for chunk in chunks:
        for call in chunk.choices[0].delta.tool_calls or []:
            assert call.function is not None
            if call.id is not None:  # a call's first chunk: its id and name, once, before its arguments
                assert call.index not in ids and call.index not in args
                assert call.type == "function" and call.function.name == "emit"
                ids[call.index] = call.id
            else:
                assert call.index in ids and call.function.name is None
            args[call.index] = args.get(call.index, "") + (call.function.arguments or "")
    assert sorted(ids) == [0, 1, 2] and len(set(ids.values())) == 3
    assert [json.loads(args[i]) for i in range(3)] == IDEAS
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    ChatCompletion.model_validate(wire(whole))
    message = whole.choices[0].message
    assert message.tool_calls and [json.loads(c.function.arguments) for c in message.tool_calls] == IDEAS
    assert whole.choices[0].finish_reason == "tool_calls"


@pytest.mark.parametrize("order", ORDERS)
def test_server_responses_events_give_each_call_its_output_item(order: str) -> None:
    with ReplayServer(Reply(calls=IDEAS, call_order=order), seed=5) as server:
        sdk = openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        _open.append(sdk)
        events = list(
            sdk.responses.create(model="m", input="x", stream=True, tools=RESP_TOOLS, tool_choice="required")
        )
        whole = sdk.responses.create(model="m", input="x", tools=RESP_TOOLS)
    for event in events:
        EVENT_CLASSES[event.type].model_validate(wire(event))
    assert [e.sequence_number for e in events] == list(range(len(events)))
    added = {e.output_index: e.item for e in events if e.type == "response.output_item.added"}
    assert sorted(added) == [0, 1, 2]
    assert len({item.id for item in added.values()} | {item.call_id for item in added.values()}) == 6
    args: dict[int, str] = {}
    for e in events:
        if e.type == "response.function_call_arguments.delta":
            assert e.output_index in added and e.item_id == added[e.output_index].id
            args[e.output_index] = args.get(e.output_index, "") + e.delta
        elif e.type == "response.function_call_arguments.done":
            assert e.arguments == args[e.output_index]
    assert [json.loads(args[i]) for i in range(3)] == IDEAS
    final = events[-1]
    assert final.type == "response.completed"
    Response.model_validate(wire(final.response))
    assert [json.loads(item.arguments) for item in final.response.output] == IDEAS
    assert [json.loads(item.arguments) for item in whole.output] == IDEAS


def test_server_sequential_calls_follow_each_other() -> None:
    with ReplayServer(Reply(calls=IDEAS)) as server:
        sdk = openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        _open.append(sdk)
        events = list(sdk.responses.create(model="m", input="x", stream=True, tools=RESP_TOOLS))
    order = [e.output_index for e in events if hasattr(e, "output_index")]
    assert order == sorted(order)  # one call's events, then the next's, as the API sends them


def test_server_refuses_calls_for_a_request_without_tools() -> None:
    with ReplayServer(Reply(calls=IDEAS)) as server:
        sdk = openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        _open.append(sdk)
        with pytest.raises(openai.BadRequestError, match="no function tool"):
            sdk.chat.completions.create(model="m", messages=MESSAGES)


def test_reply_checks_its_calls() -> None:
    with pytest.raises(ValueError, match="one of document=, text=, calls= or call_texts="):
        Reply(document=IDEAS, calls=IDEAS)
    with pytest.raises(ValueError, match="one of"):
        Reply(calls=IDEAS, call_texts=["{}"])
    with pytest.raises(ValueError, match="call_order"):
        Reply(calls=IDEAS, call_order="backwards")
    with pytest.raises(TypeError, match="sequence of strings"):
        Reply(call_texts="{}")
    with pytest.raises(TypeError, match="sequence of documents"):
        Reply(calls={"title": "x"})
    with pytest.raises(TypeError):
        Reply(calls=[object()])  # not JSON: fails where it was written


# -- the sans-IO `Calls`: any arrival order ------------------------------------------------------


def feed_all(calls: Calls, pieces: list[tuple[int, str]]) -> str:
    return "".join(calls.add(key, piece) for key, piece in pieces)


def split(text: str, cuts: list[int]) -> list[str]:
    at = sorted({c % (len(text) + 1) for c in cuts})
    return [text[a:b] for a, b in zip([0, *at], [*at, len(text)], strict=True) if b > a]


documents = st.lists(
    st.fixed_dictionaries(
        {"title": st.text(max_size=8), "blurb": st.text(alphabet='ab"\\{}[],: ', max_size=8)}
    ),
    max_size=5,
)


@settings(max_examples=300, deadline=None)
@given(documents, st.data())
def test_calls_in_any_order_read_as_the_array_in_call_order(docs: list[dict[str, str]], data: Any) -> None:
    texts = [json.dumps(d, ensure_ascii=data.draw(st.booleans())) for d in docs]
    own = [
        [(i, "")] + [(i, p) for p in split(t, data.draw(st.lists(st.integers(0, 99))))]
        for i, t in enumerate(texts)
    ]
    pieces: list[tuple[int, str]] = []
    while any(own):
        k = data.draw(st.sampled_from([k for k, q in enumerate(own) if q]))
        pieces.append(own[k].pop(0))
    calls = Calls()
    text = feed_all(calls, pieces) + calls.close(True)
    assert text == joined(texts)
    assert TypeAdapter(list[Idea]).validate_json(text) == [Idea(**d) for d in docs]


@settings(max_examples=100, deadline=None)
@given(st.permutations(range(6)))
def test_output_items_that_are_no_calls_are_passed_over(order: list[int]) -> None:
    # Responses: output indices 0, 2 and 4 are a reasoning item and messages; 1, 3, 5 the calls.
    texts = {1: CALL_TEXTS[0], 3: CALL_TEXTS[1], 5: CALL_TEXTS[2]}
    calls = Calls()
    out = "".join(calls.add(k, texts[k]) if k in texts else calls.skip(k) for k in order)
    assert out + calls.close(True) == joined(CALL_TEXTS)


def test_a_call_is_given_out_as_soon_as_every_call_before_it_is_whole() -> None:
    first, second, third = CALL_TEXTS
    calls = Calls()
    assert calls.add(1, second) == ""  # its turn has not come
    assert calls.add(0, first[:10]) == "[" + first[:10]  # the first call streams at once
    assert calls.add(2, third[:5]) == ""
    # The first call ends: the second (whole) and what there is of the third follow it.
    assert calls.add(0, first[10:]) == first[10:] + "," + second + "," + third[:5]
    assert calls.add(2, third[5:]) == third[5:]  # now the call being read
    assert calls.close(True) == "]"
    assert calls.close(True) == ""  # once


def test_a_call_that_never_ends_holds_the_later_ones_until_the_end() -> None:
    calls = Calls()
    assert calls.add(0, '{"title": "a') == '[{"title": "a'
    assert calls.add(1, CALL_TEXTS[1]) == ""
    # At the end they go in call order, whole or not: the array then reads as the spec says.
    assert calls.close(True) == "," + CALL_TEXTS[1] + "]"


def test_a_cut_output_leaves_the_array_open() -> None:
    calls = Calls()
    calls.add(0, '{"title": "a')
    calls.add(1, CALL_TEXTS[1])
    assert calls.close(False) == ""
    assert Calls().close(True) == "[]"


def test_what_a_call_sends_after_its_value_once_a_later_call_started() -> None:
    calls = Calls()
    assert calls.add(0, CALL_TEXTS[0]) == "[" + CALL_TEXTS[0]
    assert calls.add(0, " \n") == " \n"  # nothing came after it yet: read where it belongs
    assert calls.add(1, "{") == ",{"
    assert calls.add(0, "\t ") == ""  # whitespace: left out
    with pytest.raises(unspool.JSONDecodeError, match="tool call 0 go on after their JSON value"):
        calls.add(0, "x")


def test_arguments_that_break_are_read_where_they_break() -> None:
    calls = Calls()
    assert calls.add(1, '{"a": 1}') == ""
    assert calls.add(0, '{"a": x') == '[{"a": x'  # the array's reader raises here, at its own position
    assert calls.close(True) == ',{"a": 1}]'
