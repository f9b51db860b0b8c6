"""`unspool.testing.ReplayServer` driven by the official openai SDK over real HTTP."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import typing
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI, OpenAI
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response, ResponseErrorEvent
from openai.types.responses.response_stream_event import ResponseStreamEvent
from unspool.testing import ReplayServer, Reply

DOC: dict[str, Any] = {
    "title": "Note Ninja",
    "tags": ["notes", "speed", "ünïcödé ✓", "emoji 😀"],
    "score": 4.5,
    "done": False,
    "owner": None,
}
DOC_JSON = json.dumps(DOC, ensure_ascii=False)
IDEAS = [{"title": "Note Ninja", "blurb": "Fast notes"}, {"title": "Think Ink", "blurb": "Plans"}]
LONG_DOC = {"items": [{"title": f"Idea number {i}", "blurb": "x" * 30} for i in range(300)]}

MESSAGES: Any = [{"role": "user", "content": "Give me a JSON document."}]
SCHEMA = {"type": "object", "properties": {"title": {"type": "string"}, "tags": {"type": "array"}}}
ENVELOPE = {"type": "object", "properties": {"items": {"type": "array"}}, "required": ["items"]}
CHAT_FORMAT: Any = {"type": "json_schema", "json_schema": {"name": "doc", "schema": SCHEMA}}
RESP_FORMAT: Any = {"format": {"type": "json_schema", "name": "doc", "schema": SCHEMA}}
CHAT_TOOLS: Any = [{"type": "function", "function": {"name": "emit", "parameters": SCHEMA}}]
CHAT_FORCE: Any = {"type": "function", "function": {"name": "emit"}}
RESP_TOOLS: Any = [{"type": "function", "name": "emit", "parameters": SCHEMA, "strict": False}]
RESP_FORCE: Any = {"type": "function", "name": "emit"}

# The SDK builds events without validating them, so each is checked against its class here.
EVENT_CLASSES: dict[str, Any] = {
    typing.get_args(cls.model_fields["type"].annotation)[0]: cls
    for cls in typing.get_args(typing.get_args(ResponseStreamEvent)[0])
}


def wire(model: Any) -> Any:
    """The JSON a model was built from: fields the wire did not carry stay out."""
    return model.model_dump(mode="json", by_alias=True, exclude_unset=True)


@pytest.fixture
def make() -> Iterator[Any]:
    """Start servers and sync clients for a test; stop and close them after it."""
    servers: list[ReplayServer] = []
    clients: list[OpenAI] = []

    def start(reply: Any = None, **kw: Any) -> tuple[ReplayServer, OpenAI]:
        server = ReplayServer(reply, **kw).start()
        servers.append(server)
        client = OpenAI(base_url=server.base_url, api_key="anything", max_retries=0)
        clients.append(client)
        return server, client

    yield start
    for client in clients:
        client.close()
    for server in servers:
        server.stop()


def chat_chunks(client: OpenAI, **kw: Any) -> list[ChatCompletionChunk]:
    stream = client.chat.completions.create(model="gpt-test", messages=MESSAGES, stream=True, **kw)
    return list(stream)


def chat_content(chunks: list[ChatCompletionChunk]) -> list[str]:
    return [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]


def chat_arguments(chunks: list[ChatCompletionChunk]) -> list[str]:
    out = []
    for c in chunks:
        for call in (c.choices[0].delta.tool_calls or []) if c.choices else []:
            if call.function and call.function.arguments:
                out.append(call.function.arguments)
    return out


def resp_events(client: OpenAI, **kw: Any) -> list[Any]:
    return list(client.responses.create(model="gpt-test", input="Give me JSON.", stream=True, **kw))


def resp_deltas(events: list[Any], kind: str = "response.output_text.delta") -> list[str]:
    return [e.delta for e in events if e.type == kind]


# -- Chat Completions ------------------------------------------------------------------------------


def test_chat_content_deltas_join_to_the_document(make: Any) -> None:
    server, client = make(DOC)
    chunks = chat_chunks(client, response_format=CHAT_FORMAT)
    for chunk in chunks:
        ChatCompletionChunk.model_validate(wire(chunk))
    assert "".join(chat_content(chunks)) == DOC_JSON
    assert len({c.id for c in chunks}) == 1 and chunks[0].id.startswith("chatcmpl-")
    assert {c.model for c in chunks} == {"gpt-test"}
    first = chunks[0].choices[0].delta
    assert (first.role, first.content) == ("assistant", "")
    assert [c.choices[0].finish_reason for c in chunks] == [None] * (len(chunks) - 1) + ["stop"]
    assert wire(chunks[-1].choices[0].delta) == {}
    assert all(c.usage is None for c in chunks)
    assert server.completed == 1 and server.disconnects == 0


def test_chat_tool_mode_streams_the_document_as_arguments(make: Any) -> None:
    _, client = make(DOC)
    chunks = chat_chunks(client, tools=CHAT_TOOLS, tool_choice=CHAT_FORCE)
    first = chunks[0].choices[0].delta
    assert first.content is None and first.tool_calls is not None
    call = first.tool_calls[0]
    assert call.id is not None and call.id.startswith("call_")
    assert call.function is not None and (call.function.name, call.function.arguments) == ("emit", "")
    assert "".join(chat_arguments(chunks)) == DOC_JSON
    assert chat_content(chunks) == []
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_tool_choice_required_with_one_tool_is_tool_mode(make: Any) -> None:
    _, client = make(DOC)
    chunks = chat_chunks(client, tools=CHAT_TOOLS, tool_choice="required")
    assert "".join(chat_arguments(chunks)) == DOC_JSON


def test_tools_without_a_forced_choice_stream_content(make: Any) -> None:
    _, client = make(DOC)
    chunks = chat_chunks(client, tools=CHAT_TOOLS, response_format={"type": "json_object"})
    assert "".join(chat_content(chunks)) == DOC_JSON and chat_arguments(chunks) == []


@pytest.mark.parametrize(
    ("document", "sent"),
    [
        (IDEAS, {"items": IDEAS}),
        ([], {"items": []}),
        ("just a string", {"items": "just a string"}),
        ({"title": "x"}, {"items": {"title": "x"}}),
        # Already enveloped: sent as is.
        ({"items": IDEAS}, {"items": IDEAS}),
    ],
)
def test_envelope_schema_wraps_the_document(make: Any, document: Any, sent: Any) -> None:
    _, client = make(document)
    expected = json.dumps(sent, ensure_ascii=False)
    fmt = {"type": "json_schema", "json_schema": {"name": "list", "schema": ENVELOPE}}
    assert "".join(chat_content(chat_chunks(client, response_format=fmt))) == expected
    tools = [{"type": "function", "function": {"name": "emit", "parameters": ENVELOPE}}]
    assert "".join(chat_arguments(chat_chunks(client, tools=tools, tool_choice=CHAT_FORCE))) == expected
    text = {"format": {"type": "json_schema", "name": "list", "schema": ENVELOPE}}
    assert "".join(resp_deltas(resp_events(client, text=text))) == expected


def test_schemas_with_more_properties_are_not_enveloped(make: Any) -> None:
    _, client = make(IDEAS)
    fmt = {"type": "json_schema", "json_schema": {"name": "doc", "schema": SCHEMA}}
    assert "".join(chat_content(chat_chunks(client, response_format=fmt))) == json.dumps(IDEAS)


def test_plain_prompt_gets_a_fenced_block_between_prose(make: Any) -> None:
    _, client = make(DOC)
    for text in ["".join(chat_content(chat_chunks(client))), "".join(resp_deltas(resp_events(client)))]:
        before, fence, rest = text.partition("```json\n" + DOC_JSON + "\n```")
        assert fence, text
        assert before.strip() and rest.strip()
        assert "{" not in before and "}" not in rest


def test_json_object_mode_is_not_fenced(make: Any) -> None:
    _, client = make(DOC)
    chunks = chat_chunks(client, response_format={"type": "json_object"})
    assert "".join(chat_content(chunks)) == DOC_JSON
    events = resp_events(client, text={"format": {"type": "json_object"}})
    assert "".join(resp_deltas(events)) == DOC_JSON


def test_text_replies_are_sent_verbatim(make: Any) -> None:
    text = 'Sure! {"a": [1, 2' + "\n\n" + "data: [DONE]\r\nevent: x\n"
    _, client = make(Reply(text=text))
    assert "".join(chat_content(chat_chunks(client))) == text
    assert "".join(chat_content(chat_chunks(client, response_format=CHAT_FORMAT))) == text
    assert "".join(resp_deltas(resp_events(client))) == text


@pytest.mark.parametrize("include_usage", [True, False, None])
def test_usage_chunk_only_when_include_usage(make: Any, include_usage: bool | None) -> None:
    _, client = make(DOC)
    kw: dict[str, Any] = {"response_format": CHAT_FORMAT}
    if include_usage is not None:
        kw["stream_options"] = {"include_usage": include_usage}
    chunks = chat_chunks(client, **kw)
    if include_usage:
        *body, last = chunks
        assert last.choices == [] and last.usage is not None
        assert last.usage.completion_tokens == len(chat_content(chunks))
        assert last.usage.prompt_tokens >= 1
        assert last.usage.total_tokens == last.usage.prompt_tokens + last.usage.completion_tokens
        # Every other chunk carries an explicit null.
        assert all("usage" in c.model_fields_set and c.usage is None for c in body)
        assert body[-1].choices[0].finish_reason == "stop"
    else:
        assert all(c.choices and c.usage is None and "usage" not in c.model_fields_set for c in chunks)
    assert "".join(chat_content(chunks)) == DOC_JSON


def test_usage_counts_the_prompt(make: Any) -> None:
    server, client = make(DOC)
    kw: Any = {"stream_options": {"include_usage": True}}
    short = chat_chunks(client, **kw)[-1].usage
    long_messages: Any = [{"role": "user", "content": "x" * 4000}]
    stream = client.chat.completions.create(model="m", messages=long_messages, stream=True, **kw)
    long = list(stream)[-1].usage
    assert short is not None and long is not None
    assert long.prompt_tokens == len(json.dumps(server.requests[-1]["body"])) // 4
    assert long.prompt_tokens > short.prompt_tokens + 900


# -- Responses ------------------------------------------------------------------------------------


def test_responses_stream_events_are_well_formed(make: Any) -> None:
    server, client = make(DOC)
    events = resp_events(client, text=RESP_FORMAT)
    for event in events:
        EVENT_CLASSES[event.type].model_validate(wire(event))
    seqs = [e.sequence_number for e in events]
    assert seqs == list(range(len(events)))
    kinds = [e.type for e in events]
    deltas = resp_deltas(events)
    assert kinds == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * len(deltas),
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert "".join(deltas) == DOC_JSON
    created, completed = events[0].response, events[-1].response
    assert created.status == "in_progress" and created.output == []
    assert completed.status == "completed" and completed.output_text == DOC_JSON
    assert completed.id == created.id and completed.id.startswith("resp_")
    assert completed.model == "gpt-test" and completed.object == "response"
    Response.model_validate(wire(completed))
    assert events[-4].text == DOC_JSON and events[-3].part.text == DOC_JSON
    item_id = events[2].item.id
    assert item_id.startswith("msg_") and {e.item_id for e in events[3:-2]} == {item_id}
    assert completed.output[0].id == item_id
    usage = completed.usage
    assert usage is not None and usage.output_tokens == len(deltas) and usage.input_tokens >= 1
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert server.completed == 1


def test_responses_tool_mode_streams_function_call_arguments(make: Any) -> None:
    _, client = make(DOC)
    events = resp_events(client, tools=RESP_TOOLS, tool_choice=RESP_FORCE)
    for event in events:
        EVENT_CLASSES[event.type].model_validate(wire(event))
    kinds = [e.type for e in events]
    assert "response.content_part.added" not in kinds and "response.output_text.delta" not in kinds
    added = events[2].item
    assert (added.type, added.name, added.arguments, added.status) == (
        "function_call",
        "emit",
        "",
        "in_progress",
    )
    assert added.id.startswith("fc_") and added.call_id.startswith("call_")
    args = resp_deltas(events, "response.function_call_arguments.delta")
    assert "".join(args) == DOC_JSON
    assert kinds[-3:] == [
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert events[-3].arguments == DOC_JSON
    final = events[-1].response.output[0]
    assert (final.arguments, final.call_id, final.status) == (DOC_JSON, added.call_id, "completed")
    Response.model_validate(wire(events[-1].response))


# -- non-stream requests ---------------------------------------------------------------------------


def test_non_stream_chat_completion(make: Any) -> None:
    server, client = make(DOC)
    done = client.chat.completions.create(model="gpt-test", messages=MESSAGES, response_format=CHAT_FORMAT)
    ChatCompletion.model_validate(wire(done))
    choice = done.choices[0]
    assert choice.message.content == DOC_JSON and choice.finish_reason == "stop"
    assert choice.message.refusal is None and done.model == "gpt-test"
    assert done.usage is not None and done.usage.completion_tokens > 1
    call = client.chat.completions.create(
        model="m", messages=MESSAGES, tools=CHAT_TOOLS, tool_choice=CHAT_FORCE
    )
    tool_calls = call.choices[0].message.tool_calls
    assert call.choices[0].finish_reason == "tool_calls" and tool_calls is not None
    assert tool_calls[0].type == "function" and tool_calls[0].function.arguments == DOC_JSON
    assert server.completed == 0  # only streams count


def test_non_stream_response(make: Any) -> None:
    _, client = make(DOC)
    done = client.responses.create(model="gpt-test", input="Give me JSON.", text=RESP_FORMAT)
    Response.model_validate(wire(done))
    assert done.status == "completed" and done.output_text == DOC_JSON
    call = client.responses.create(model="m", input="x", tools=RESP_TOOLS, tool_choice=RESP_FORCE)
    Response.model_validate(wire(call))
    item = call.output[0]
    assert item.type == "function_call" and item.arguments == DOC_JSON and item.name == "emit"


# -- faults ----------------------------------------------------------------------------------------


def test_drop_breaks_a_chat_stream(make: Any) -> None:
    server, client = make(Reply(document=DOC, fault="drop", fault_after=4))
    seen: list[ChatCompletionChunk] = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in client.chat.completions.create(model="m", messages=MESSAGES, stream=True):
            seen.append(chunk)
    assert len(chat_content(seen)) == 4
    assert server.completed == 0 and server.disconnects == 0


def test_drop_breaks_a_responses_stream(make: Any) -> None:
    _, client = make(Reply(document=DOC, fault="drop"))
    seen: list[Any] = []
    with pytest.raises(openai.APIConnectionError):
        for event in client.responses.create(model="m", input="x", stream=True, text=RESP_FORMAT):
            seen.append(event)
    # By default the fault comes halfway through.
    assert 0 < len("".join(resp_deltas(seen))) < len(DOC_JSON)
    assert seen[-1].type == "response.output_text.delta"


def test_drop_breaks_non_stream_requests(make: Any) -> None:
    _, client = make(Reply(document=DOC, fault="drop"))
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="m", messages=MESSAGES)
    with pytest.raises(openai.APIConnectionError):
        client.responses.create(model="m", input="x")


def test_error_event_in_a_chat_stream_raises(make: Any) -> None:
    server, client = make(Reply(document=DOC, fault="error", fault_after=3, message="overloaded"))
    seen: list[ChatCompletionChunk] = []
    with pytest.raises(openai.APIError, match="overloaded") as info:
        for chunk in client.chat.completions.create(model="m", messages=MESSAGES, stream=True):
            seen.append(chunk)
    assert not isinstance(info.value, openai.APIConnectionError)
    assert info.value.body == {
        "message": "overloaded",
        "type": "server_error",
        "param": None,
        "code": "server_error",
    }
    assert len(chat_content(seen)) == 3
    assert server.completed == 1  # the body itself ended properly


def test_error_event_in_a_responses_stream_is_an_event(make: Any) -> None:
    _, client = make(Reply(document=DOC, fault="error", fault_after=2, message="overloaded"))
    # The SDK does not raise for Responses: the error arrives as the last event.
    events = resp_events(client, text=RESP_FORMAT)
    last = events[-1]
    assert isinstance(last, ResponseErrorEvent)
    ResponseErrorEvent.model_validate(wire(last))
    assert (last.message, last.code, last.param) == ("overloaded", "server_error", None)
    assert last.sequence_number == events[-2].sequence_number + 1
    assert len(resp_deltas(events)) == 2
    assert not any(e.type in ("response.completed", "response.incomplete") for e in events)


def test_error_fault_on_non_stream_requests_is_a_500(make: Any) -> None:
    _, client = make(Reply(document=DOC, fault="error", message="overloaded"))
    with pytest.raises(openai.InternalServerError, match="overloaded"):
        client.chat.completions.create(model="m", messages=MESSAGES)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (429, openai.RateLimitError),
        (500, openai.InternalServerError),
        (503, openai.InternalServerError),
        (400, openai.BadRequestError),
        (401, openai.AuthenticationError),
    ],
)
def test_http_error_raises_the_matching_status_error(make: Any, status: int, error: type[Exception]) -> None:
    _, client = make(Reply(document=DOC, fault="http_error", status=status, message="nope"))
    with pytest.raises(error, match="nope") as info:
        chat_chunks(client)
    assert isinstance(info.value, openai.APIStatusError) and info.value.status_code == status
    assert isinstance(info.value.body, dict) and info.value.body["message"] == "nope"
    with pytest.raises(error):
        resp_events(client)
    with pytest.raises(error):
        client.responses.create(model="m", input="x")


def test_http_error_needs_no_document(make: Any) -> None:
    _, client = make(Reply(fault="http_error", status=429))
    with pytest.raises(openai.RateLimitError):
        chat_chunks(client)


@pytest.mark.parametrize("fault", ["length", "content_filter"])
def test_chat_stream_cut_short_by_finish_reason(make: Any, fault: str) -> None:
    _, client = make(Reply(document=DOC, fault=fault, fault_after=5))
    chunks = chat_chunks(client, response_format=CHAT_FORMAT, stream_options={"include_usage": True})
    content = chat_content(chunks)
    assert len(content) == 5 and DOC_JSON.startswith("".join(content))
    assert chunks[-2].choices[0].finish_reason == fault
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 5
    whole = client.chat.completions.create(model="m", messages=MESSAGES, response_format=CHAT_FORMAT)
    assert whole.choices[0].finish_reason == fault and whole.choices[0].message.content == "".join(content)


@pytest.mark.parametrize(
    ("fault", "reason"), [("length", "max_output_tokens"), ("content_filter", "content_filter")]
)
def test_responses_stream_ends_incomplete(make: Any, fault: str, reason: str) -> None:
    _, client = make(Reply(document=DOC, fault=fault, fault_after=5))
    for kw in [{"text": RESP_FORMAT}, {"tools": RESP_TOOLS, "tool_choice": RESP_FORCE}]:
        events = resp_events(client, **kw)
        for event in events:
            EVENT_CLASSES[event.type].model_validate(wire(event))
        last = events[-1]
        assert last.type == "response.incomplete" and last.response.status == "incomplete"
        assert last.response.incomplete_details.reason == reason
        Response.model_validate(wire(last.response))
        sent = "".join(resp_deltas(events) or resp_deltas(events, "response.function_call_arguments.delta"))
        assert len(sent) < len(DOC_JSON) and DOC_JSON.startswith(sent)
        assert events[-2].type == "response.output_item.done" and events[-2].item.status == "incomplete"
        assert last.response.usage.output_tokens == 5
    whole = client.responses.create(model="m", input="x", text=RESP_FORMAT)
    assert whole.status == "incomplete" and whole.incomplete_details is not None
    assert whole.incomplete_details.reason == reason


def test_chat_refusal(make: Any) -> None:
    _, client = make(Reply(document=DOC, fault="refusal", refusal="I can't do that, Dave."))
    chunks = chat_chunks(client, response_format=CHAT_FORMAT)
    for chunk in chunks:
        ChatCompletionChunk.model_validate(wire(chunk))
    first = chunks[0].choices[0].delta
    assert (first.role, first.content, first.refusal) == ("assistant", None, "")
    assert chat_content(chunks) == []
    assert "".join(c.choices[0].delta.refusal or "" for c in chunks) == "I can't do that, Dave."
    assert chunks[-1].choices[0].finish_reason == "stop"
    whole = client.chat.completions.create(model="m", messages=MESSAGES, response_format=CHAT_FORMAT)
    assert whole.choices[0].message.refusal == "I can't do that, Dave."
    assert whole.choices[0].message.content is None


def test_responses_refusal(make: Any) -> None:
    _, client = make(Reply(fault="refusal", fault_after=1))
    events = resp_events(client, text=RESP_FORMAT)
    for event in events:
        EVENT_CLASSES[event.type].model_validate(wire(event))
    kinds = [e.type for e in events]
    assert "response.output_text.delta" not in kinds
    assert events[3].type == "response.content_part.added" and events[3].part.type == "refusal"
    refusal = "I'm sorry, I can't help with that."
    # fault_after does not cut a refusal short.
    assert "".join(resp_deltas(events, "response.refusal.delta")) == refusal
    assert kinds[-4:] == [
        "response.refusal.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert events[-4].refusal == refusal
    message = events[-1].response.output[0]
    assert message.type == "message" and message.content[0].refusal == refusal


# -- the wire --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("keepalive", "crlf"), [(True, False), (False, True), (True, True)])
def test_keepalive_comments_and_crlf_parse_the_same(make: Any, keepalive: bool, crlf: bool) -> None:
    _, plain = make(DOC)
    _, odd = make(DOC, keepalive=keepalive, crlf=crlf)
    for kw in [{"response_format": CHAT_FORMAT}, {"tools": CHAT_TOOLS, "tool_choice": CHAT_FORCE}]:
        expected, got = chat_chunks(plain, **kw), chat_chunks(odd, **kw)
        assert chat_content(got) == chat_content(expected) and chat_arguments(got) == chat_arguments(expected)
        reasons = [c.choices[0].finish_reason for c in got]
        assert len(got) == len(expected) and reasons == [c.choices[0].finish_reason for c in expected]
    plain_events = [(e.type, e.sequence_number) for e in resp_events(plain, text=RESP_FORMAT)]
    odd_events = resp_events(odd, text=RESP_FORMAT)
    assert [(e.type, e.sequence_number) for e in odd_events] == plain_events
    assert odd_events[-1].response.output_text == DOC_JSON


def test_chunk_sizes_stay_within_the_given_sizes_and_follow_the_seed(make: Any) -> None:
    def cuts(seed: int, sizes: tuple[int, ...]) -> list[int]:
        _, client = make(IDEAS * 20, seed=seed, chunk_sizes=sizes)
        content = chat_content(chat_chunks(client, response_format={"type": "json_object"}))
        # JSON mode only writes objects: a list comes in the envelope unspool asks for
        assert "".join(content) == json.dumps({"result": IDEAS * 20})
        return [len(d) for d in content]

    first = cuts(7, (2, 5, 9))
    assert set(first[:-1]) == {2, 5, 9} and 1 <= first[-1] <= 9
    assert cuts(7, (2, 5, 9)) == first
    assert cuts(8, (2, 5, 9)) != first
    assert set(cuts(0, (3,))[:-1]) == {3}


def test_the_same_server_cuts_every_request_the_same_way(make: Any) -> None:
    _, client = make(DOC)
    chat = chat_content(chat_chunks(client, response_format=CHAT_FORMAT))
    assert chat_content(chat_chunks(client, response_format=CHAT_FORMAT)) == chat
    assert resp_deltas(resp_events(client, text=RESP_FORMAT)) == chat


def test_non_ascii_deltas_arrive_whole(make: Any) -> None:
    text = "😀ü✓" * 50 + "\u2028\x85\u2029"
    _, client = make(Reply(text=text), chunk_sizes=(1, 2))
    content = chat_content(chat_chunks(client))
    assert "".join(content) == text and all(1 <= len(d) <= 2 for d in content)


@pytest.mark.parametrize("endpoint", ["chat", "responses"])
def test_client_disconnects_are_counted(make: Any, endpoint: str) -> None:
    server, client = make(LONG_DOC, delay=0.01)
    stream: Any
    if endpoint == "chat":
        stream = client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    else:
        stream = client.responses.create(model="m", input="x", stream=True)
    for i, _ in enumerate(stream):
        if i == 5:
            break
    stream.close()
    assert server.wait_for_disconnects(1)
    assert server.disconnects == 1 and server.completed == 0
    assert not server.wait_for_disconnects(2, timeout=0.05)
    # The server goes on serving (a non-stream answer is not slowed down by `delay`).
    done = client.chat.completions.create(model="m", messages=MESSAGES, response_format=CHAT_FORMAT)
    assert done.choices[0].message.content == json.dumps(LONG_DOC)


def test_many_concurrent_async_streams(make: Any) -> None:
    server, _ = make(IDEAS)
    expected = json.dumps({"items": IDEAS})
    fmt: Any = {"type": "json_schema", "json_schema": {"name": "list", "schema": ENVELOPE}}
    text: Any = {"format": {"type": "json_schema", "name": "list", "schema": ENVELOPE}}

    async def run() -> list[str]:
        async with AsyncOpenAI(base_url=server.base_url, api_key="anything", max_retries=0) as client:

            async def one(i: int) -> str:
                if i % 2:
                    events = await client.responses.create(
                        model="m",
                        input="x",
                        stream=True,
                        text=text,
                    )
                    return "".join([e.delta async for e in events if e.type == "response.output_text.delta"])
                chunks = await client.chat.completions.create(
                    model="m", messages=MESSAGES, stream=True, response_format=fmt
                )
                return "".join([c.choices[0].delta.content or "" async for c in chunks if c.choices])

            return await asyncio.gather(*(one(i) for i in range(50)))

    assert asyncio.run(run()) == [expected] * 50
    assert server.completed == 50 and len(server.requests) == 50


def test_requests_are_recorded_and_replies_served_in_order(make: Any) -> None:
    replies = [Reply(document={"n": 1}), Reply(text="two"), Reply(document={"n": 3})]
    server, client = make(replies=replies)
    texts = []
    for _ in range(4):
        texts.append("".join(chat_content(chat_chunks(client, response_format={"type": "json_object"}))))
    with pytest.raises(openai.NotFoundError):
        client.models.list()
    texts.append(client.responses.create(model="other", input="hello", text=RESP_FORMAT).output_text)
    assert texts == ['{"n": 1}', "two", '{"n": 3}', '{"n": 3}', '{"n": 3}']
    assert [r["path"] for r in server.requests] == ["/v1/chat/completions"] * 4 + [
        "/v1/models",
        "/v1/responses",
    ]
    body = server.requests[0]["body"]
    assert body["model"] == "gpt-test" and body["messages"] == MESSAGES and body["stream"] is True
    assert server.requests[4]["body"] is None
    assert (
        server.requests[5]["body"]["input"] == "hello" and server.requests[5]["body"]["text"] == RESP_FORMAT
    )


def test_unknown_paths_get_an_openai_shaped_404(make: Any) -> None:
    _, client = make(DOC)
    with pytest.raises(openai.NotFoundError) as info:
        client.post("/embeddings", body={"model": "m", "input": "x"}, cast_to=object)
    body = info.value.body
    assert isinstance(body, dict) and set(body) == {"message", "type", "param", "code"}


def test_stop_ends_idle_keepalive_connections_quickly() -> None:
    server = ReplayServer(DOC).start()
    with OpenAI(base_url=server.base_url, api_key="anything", max_retries=0) as client:
        assert "".join(chat_content(chat_chunks(client, response_format=CHAT_FORMAT))) == DOC_JSON
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 1.0
        with pytest.raises(openai.APIConnectionError):
            chat_chunks(client)
    server.stop()  # stopping twice is fine
    with pytest.raises(RuntimeError):
        _ = server.base_url


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError):
        Reply()
    with pytest.raises(ValueError):
        Reply(document=1, text="1")
    with pytest.raises(ValueError):
        Reply(document=1, fault="explode")
    with pytest.raises(ValueError):
        Reply(document=1, fault_after=-1)
    with pytest.raises(TypeError):
        Reply(document={1, 2})
    with pytest.raises(TypeError):
        ReplayServer()
    with pytest.raises(TypeError):
        ReplayServer(DOC, replies=[Reply(document=DOC)])
    with pytest.raises(ValueError):
        ReplayServer(replies=[])
    with pytest.raises(ValueError):
        ReplayServer(DOC, chunk_sizes=(0, 2))
    # A None document is a real JSON document, given as a Reply.
    assert Reply(document=None).document is None


def test_command_line_serves_a_document(tmp_path: Any) -> None:
    path = tmp_path / "doc.json"
    path.write_text(DOC_JSON, encoding="utf-8")
    command = [sys.executable, "-m", "unspool.testing", "--port", "0", "--document", str(path)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            base_url = proc.stdout.readline().strip()
            assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
            with OpenAI(base_url=base_url, api_key="anything", max_retries=0) as client:
                assert "".join(chat_content(chat_chunks(client, response_format=CHAT_FORMAT))) == DOC_JSON
        finally:
            proc.terminate()


@pytest.mark.parametrize("path", ["/chat/completions", "/responses"])
@pytest.mark.parametrize("crlf", [False, True])
def test_no_data_line_is_ever_empty(path: str, crlf: bool) -> None:
    import urllib.request

    body = {"model": "m", "stream": True, "stream_options": {"include_usage": True}, "messages": MESSAGES}
    if path == "/responses":
        body = {"model": "m", "stream": True, "input": MESSAGES}
    with ReplayServer(Reply(text='{"a": ""}\n\n\n'), keepalive=True, crlf=crlf, chunk_sizes=(1,)) as server:
        payload, headers = json.dumps(body).encode(), {"Content-Type": "application/json"}
        request = urllib.request.Request(server.base_url + path, data=payload, headers=headers)
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read().decode()
    lines = raw.split("\r\n" if crlf else "\n")
    data = [line for line in lines if line.startswith("data:")]
    assert len(data) > 10
    assert all(line.removeprefix("data:").strip() for line in data)
    assert ("\r\n" in raw) == crlf


def run_command_line(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "unspool.testing", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=30)


def test_command_line_on_a_busy_port_is_a_one_line_error(tmp_path: Any) -> None:
    import socket

    path = tmp_path / "doc.json"
    path.write_text(DOC_JSON, encoding="utf-8")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = run_command_line("--port", str(port), "--document", str(path))
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        f"python -m unspool.testing: error: cannot listen on 127.0.0.1:{port}: Address already in use\n"
    )


def test_command_line_with_a_missing_or_broken_document_is_a_one_line_error(tmp_path: Any) -> None:
    missing = tmp_path / "missing.json"
    done = run_command_line("--port", "0", "--document", str(missing))
    assert (done.returncode, done.stdout) == (2, "")
    assert (
        done.stderr == f"python -m unspool.testing: error: cannot read {missing}: No such file or directory\n"
    )
    broken = tmp_path / "broken.json"
    broken.write_text('{"title": ', encoding="utf-8")
    done = run_command_line("--port", "0", "--document", str(broken))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith(f"python -m unspool.testing: error: {broken} is not a JSON document: ")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
