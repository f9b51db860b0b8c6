"""`unspool._core.WireReader` on the raw bodies `unspool.testing.ReplayServer` streams over real HTTP.

Each body is read in several chunkings (whole, byte by byte, the network's own reads, fixed and
seeded random sizes): the items must be the same once merged, and must say what a reference reader
says: the SDK's own SSE decoder, `json.loads` of each event, and the fields `unspool.wire` reads.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import pytest
from openai._streaming import SSEDecoder
from openai.types import CompletionUsage
from openai.types.responses import ResponseUsage
from shared_dir import import_or_skip
from unspool._core import WireReader, WireStreamError
from unspool.testing import ReplayServer, Reply

httpx = import_or_skip("httpx", "httpx (the `test` extra) fetches the raw event streams")

TEXT, ARGS, ITEM, REFUSAL, FINISH, ID, USAGE, ERROR, DONE = range(9)

DOC: dict[str, Any] = {
    "title": "Note Ninja",
    "tags": ["notes", "speed", "ünïcödé ✓", "emoji 😀", 'quote " and \\ backslash', "line\nbreak"],
    "score": 4.5,
    "done": False,
    "owner": None,
}
DOCS = [DOC, {"items": [{"title": f"Idea {i} 🚀", "blurb": "日本 " * 20} for i in range(40)]}, [1, 2]]
SCHEMA = {"type": "object", "properties": {"title": {"type": "string"}, "tags": {"type": "array"}}}
MESSAGES = [{"role": "user", "content": "Give me a JSON document."}]
CHAT_FORMAT = {"type": "json_schema", "json_schema": {"name": "doc", "schema": SCHEMA}}
RESP_FORMAT = {"format": {"type": "json_schema", "name": "doc", "schema": SCHEMA}}
CHAT_TOOLS = [{"type": "function", "function": {"name": "emit", "parameters": SCHEMA}}]
CHAT_FORCE = {"type": "function", "function": {"name": "emit"}}
RESP_TOOLS = [{"type": "function", "name": "emit", "parameters": SCHEMA, "strict": False}]
RESP_FORCE = {"type": "function", "name": "emit"}


def dumps(doc: Any) -> str:
    return json.dumps(doc, ensure_ascii=False)


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[ReplayServer] = []

    def start(reply: Any = None, **kw: Any) -> ReplayServer:
        server = ReplayServer(reply, **kw).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def request(api: str, tools: bool = False, **extra: Any) -> dict[str, Any]:
    if api == "chat":
        body: dict[str, Any] = {"model": "m", "messages": MESSAGES, "stream": True}
        body.update(
            {"tools": CHAT_TOOLS, "tool_choice": CHAT_FORCE} if tools else {"response_format": CHAT_FORMAT}
        )
        body["stream_options"] = {"include_usage": True}
    else:
        body = {"model": "m", "input": "Give me a JSON document.", "stream": True}
        body.update({"tools": RESP_TOOLS, "tool_choice": RESP_FORCE} if tools else {"text": RESP_FORMAT})
    return {**body, **extra}


def fetch(server: ReplayServer, api: str, body: dict[str, Any]) -> tuple[bytes, list[bytes]]:
    """The raw event stream of one request, whole and as the network's reads (a cut body ends there)."""
    path = "/chat/completions" if api == "chat" else "/responses"
    reads: list[bytes] = []
    with httpx.Client(timeout=10) as client, client.stream("POST", server.base_url + path, json=body) as r:
        assert r.status_code == 200
        try:
            for data in r.iter_bytes():
                reads.append(data)
        except httpx.RemoteProtocolError:
            pass  # fault="drop": the body is cut short
    return b"".join(reads), reads


def chunkings(body: bytes, reads: list[bytes]) -> Iterator[list[bytes]]:
    yield [body]
    yield reads
    yield [body[i : i + 1] for i in range(len(body))]
    for size in (7, 64, 16 * 1024):
        yield [body[i : i + size] for i in range(0, len(body), size)]
    rng = random.Random(len(body))
    cuts = sorted(rng.sample(range(1, len(body)), min(50, len(body) - 1)))
    yield [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]


def merged(items: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Consecutive TEXT (REFUSAL, ARGS of one key) items merged, as one read merges them."""
    out: list[tuple[Any, ...]] = []
    for item in items:
        last = out[-1] if out else None
        if last and last[0] == item[0] and item[0] in (TEXT, REFUSAL):
            out[-1] = (item[0], last[1] + item[1])
        elif last and last[0] == item[0] == ARGS and last[1] == item[1]:
            out[-1] = (ARGS, item[1], last[2] + item[2])
        else:
            out.append(item)
    return out


def read(api: str, chunks: list[bytes]) -> tuple[list[tuple[Any, ...]], bool]:
    reader = WireReader(api)
    items: list[tuple[Any, ...]] = []
    for chunk in chunks:
        got = reader.feed(chunk)
        assert got == merged(got), "one read's items are merged"
        items += got
    reader.finish()
    assert reader.bytes_read == sum(map(len, chunks))
    assert reader.feed(b"data: [DONE]\n\n") == []  # finished: not read
    return merged(items), reader.cut


def read_all_ways(api: str, body: bytes, reads: list[bytes]) -> list[tuple[Any, ...]]:
    """The items of `body`, the same in every chunking, and what the reference reader reads."""
    whole, cut = read(api, [body])
    assert not cut
    for chunks in chunkings(body, reads):
        assert read(api, chunks) == (whole, False), [len(c) for c in chunks][:20]
    assert same_json(whole) == same_json(reference(api, body))
    return whole


def reference(api: str, body: bytes) -> list[tuple[Any, ...]]:
    """The items, from the SDK's SSE decoder and `json.loads`, read as `unspool.wire` reads the SDK's
    chunks and events."""
    out: list[tuple[Any, ...]] = []
    last_id = None
    calls: set[int] = set()

    def id_(value: str | None) -> None:
        nonlocal last_id
        if value is not None and value != last_id:
            out.append((ID, value))
            last_id = value

    for sse in SSEDecoder().iter_bytes(iter([body])):
        if sse.data.startswith("[DONE]"):
            out.append((DONE,))
            break
        data = json.loads(sse.data)
        if isinstance(data, dict) and data.get("error"):
            out.append((ERROR, data["error"]["message"], json.dumps(data["error"])))
            break
        if api == "chat":
            id_(data.get("id"))
            choice = next((c for c in data.get("choices") or [] if c.get("index", 0) == 0), None)
            if choice is not None:
                delta = choice.get("delta") or {}
                if delta.get("content"):
                    out.append((TEXT, delta["content"]))
                if delta.get("refusal"):
                    out.append((REFUSAL, delta["refusal"]))
                for call in delta.get("tool_calls") or []:
                    key, text = call.get("index", 0), (call.get("function") or {}).get("arguments") or ""
                    if key not in calls or text:
                        out.append((ARGS, key, text))
                        calls.add(key)
                if choice.get("finish_reason") is not None:
                    out.append((FINISH, choice["finish_reason"]))
            if data.get("usage") is not None:
                out.append((USAGE, json.dumps(data["usage"])))
            continue
        kind = data["type"]
        if kind == "response.output_text.delta":
            out.append((TEXT, data["delta"]))
        elif kind == "response.refusal.delta":
            out.append((REFUSAL, data["delta"]))
        elif kind == "response.function_call_arguments.delta":
            out.append((ARGS, data["output_index"], data["delta"]))
        elif kind == "response.output_item.added":
            out.append((ITEM, data["output_index"], data["item"]["type"] == "function_call"))
        elif kind == "response.created":
            id_(data["response"]["id"])
        elif kind in ("response.completed", "response.incomplete"):
            response = data["response"]
            id_(response["id"])
            if response["usage"] is not None:
                out.append((USAGE, json.dumps(response["usage"])))
            reason = (response["incomplete_details"] or {}).get("reason")
            finish = "stop" if kind == "response.completed" else reason or "incomplete"
            out.append((FINISH, {"max_output_tokens": "length"}.get(finish, finish)))
            out.append((DONE,))
            break
        elif kind == "response.failed":
            error = data["response"]["error"]
            out.append((ERROR, error["message"] if error else "the response failed", json.dumps(error)))
            out.append((DONE,))
            break
        elif kind == "error":
            out.append((ERROR, data["message"], sse.data))
            break
    return merged(out)


def same_json(items: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """USAGE and ERROR bodies compared as JSON (the reference writes them again; the reader gives them
    as sent)."""
    return [
        (k, json.loads(rest[0]))
        if k == USAGE
        else (k, rest[0], json.loads(rest[1]))
        if k == ERROR
        else (k, *rest)
        for k, *rest in items
    ]


def joined(items: list[tuple[Any, ...]], kind: int) -> str:
    return "".join(item[-1] for item in items if item[0] == kind)


# --------------------------------------------------------------------------------------------------


def test_kind_codes() -> None:
    codes = [WireReader.TEXT, WireReader.ARGS, WireReader.ITEM, WireReader.REFUSAL, WireReader.FINISH]
    codes += [WireReader.ID, WireReader.USAGE, WireReader.ERROR, WireReader.DONE]
    assert codes == list(range(9))
    assert WireReader("chat").api == "chat" and WireReader("responses").api == "responses"
    with pytest.raises(ValueError, match="chat"):
        WireReader("completions")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        WireReader("chat").feed("data: x\n\n")  # type: ignore[arg-type]


def check_text_stream(api: str, items: list[tuple[Any, ...]], text: str) -> None:
    assert joined(items, TEXT) == text
    kinds = [i[0] for i in items]
    if api == "chat":
        assert kinds == [ID, TEXT, FINISH, USAGE, DONE]
        CompletionUsage.model_validate_json(items[3][1])
    else:
        assert kinds == [ID, ITEM, TEXT, USAGE, FINISH, DONE]
        assert items[1] == (ITEM, 0, False)
        ResponseUsage.model_validate_json(items[3][1])
    assert (FINISH, "stop") in items
    prefix = "chatcmpl-" if api == "chat" else "resp_"
    assert items[0][1].startswith(prefix)


@pytest.mark.parametrize("api", ["chat", "responses"])
@pytest.mark.parametrize("doc", DOCS, ids=["doc", "long", "list"])
def test_text_is_the_document(serve: Any, api: str, doc: Any) -> None:
    server = serve(doc, chunk_sizes=(1, 2, 3, 5, 8))
    body, reads = fetch(server, api, request(api))
    items = read_all_ways(api, body, reads)
    check_text_stream(api, items, dumps(doc))


@pytest.mark.parametrize("api", ["chat", "responses"])
@pytest.mark.parametrize(("keepalive", "crlf"), [(True, False), (False, True), (True, True)])
def test_keepalives_and_crlf_read_the_same(serve: Any, api: str, keepalive: bool, crlf: bool) -> None:
    server = serve(DOC, keepalive=keepalive, crlf=crlf)
    body, reads = fetch(server, api, request(api))
    assert (b"\r\n" in body) == crlf and (b": keep-alive" in body) == keepalive
    check_text_stream(api, read_all_ways(api, body, reads), dumps(DOC))


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_tool_arguments_are_the_document(serve: Any, api: str) -> None:
    server = serve(DOC)
    body, reads = fetch(server, api, request(api, tools=True))
    items = read_all_ways(api, body, reads)
    assert [i for i in items if i[0] == ARGS] == [(ARGS, 0, dumps(DOC))]
    assert joined(items, TEXT) == ""
    # Chat says why the output ended as it is: "tool_calls"; Responses completes as "stop".
    assert (FINISH, "tool_calls" if api == "chat" else "stop") in items
    if api == "responses":
        assert (ITEM, 0, True) in items
    assert items[-1] == (DONE,)


@pytest.mark.parametrize("api", ["chat", "responses"])
@pytest.mark.parametrize("order", ["sequential", "round_robin", "shuffled"])
def test_several_calls_are_keyed(serve: Any, api: str, order: str) -> None:
    docs = [{"title": "Note Ninja", "n": 1}, {"title": "Think Ink ✓", "n": 2}, {"title": "x", "n": 3}]
    server = serve(Reply(calls=docs, call_order=order), seed=3)
    body, reads = fetch(server, api, request(api, tools=True, tool_choice="required"))
    items = read_all_ways(api, body, reads)
    for key, doc in enumerate(docs):
        assert "".join(i[2] for i in items if i[0] == ARGS and i[1] == key) == dumps(doc)
        if api == "responses":
            assert (ITEM, key, True) in items
    # As the API sends them, one call's arguments follow the other's.
    firsts = [next(n for n, i in enumerate(items) if i[0] == ARGS and i[1] == k) for k in range(3)]
    if order == "sequential":
        assert firsts == sorted(firsts)


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_error_fault(serve: Any, api: str) -> None:
    server = serve(Reply(document=DOC, fault="error", fault_after=5, message="overloaded"))
    body, reads = fetch(server, api, request(api))
    items = read_all_ways(api, body, reads)
    *before, (kind, message, body_json) = items
    assert (kind, message) == (ERROR, "overloaded")
    error = json.loads(body_json)
    if api == "chat":
        assert error == {
            "message": "overloaded",
            "type": "server_error",
            "param": None,
            "code": "server_error",
        }
    else:
        assert (error["type"], error["message"], error["code"]) == ("error", "overloaded", "server_error")
    assert len(joined(before, TEXT)) > 0 and dumps(DOC).startswith(joined(before, TEXT))
    assert DONE not in [i[0] for i in items]


@pytest.mark.parametrize("api", ["chat", "responses"])
@pytest.mark.parametrize("fault", ["length", "content_filter"])
def test_cut_short_faults_finish_with_their_reason(serve: Any, api: str, fault: str) -> None:
    server = serve(Reply(document=DOC, fault=fault, fault_after=6))
    body, reads = fetch(server, api, request(api))
    items = read_all_ways(api, body, reads)
    assert (FINISH, fault) in items and items[-1] == (DONE,)
    assert dumps(DOC).startswith(joined(items, TEXT)) and joined(items, TEXT) != dumps(DOC)


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_refusal_fault(serve: Any, api: str) -> None:
    server = serve(Reply(fault="refusal", refusal="I'm sorry, I can't help with that. ✋"))
    body, reads = fetch(server, api, request(api))
    items = read_all_ways(api, body, reads)
    assert joined(items, REFUSAL) == "I'm sorry, I can't help with that. ✋"
    assert joined(items, TEXT) == "" and (FINISH, "stop") in items and items[-1] == (DONE,)


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_a_dropped_stream_has_no_done(serve: Any, api: str) -> None:
    server = serve(Reply(document=DOC, fault="drop", fault_after=4))
    body, reads = fetch(server, api, request(api))
    items, cut = read(api, reads)
    assert not cut and items[-1][0] == TEXT and DONE not in [i[0] for i in items]
    assert dumps(DOC).startswith(joined(items, TEXT))
    # The body cut inside an event: the event is dropped, and `cut` says so.
    items, cut = read(api, [body[:-3]])
    assert cut and dumps(DOC).startswith(joined(items, TEXT))


def test_bad_input_raises_with_what_and_where_after_what_came_before(serve: Any) -> None:
    server = serve(DOC)
    body, _ = fetch(server, "chat", request("chat"))
    at = body.index(b"data:", 400)
    bad = body[:at] + b'data: {"id": oops}\n\n' + body[at:]
    reader = WireReader("chat")
    items = reader.feed(bad)  # the items before the error come back...
    assert dumps(DOC).startswith(joined(items, TEXT)) and joined(items, TEXT)
    with pytest.raises(WireStreamError) as info:  # ...and the error with the next call
        reader.feed(b"")
    e = info.value
    assert isinstance(e, ValueError) and e.event == "chat.completion.chunk"
    assert e.byte_pos == at + len(b'data: {"id": ')
    assert str(e) == f"bad chat.completion.chunk event at byte {e.byte_pos} of the stream: expected value"
    with pytest.raises(WireStreamError):
        reader.finish()
    # Invalid UTF-8 in the first read: raised at once.
    reader = WireReader("responses")
    with pytest.raises(WireStreamError, match="not UTF-8") as info:
        reader.feed(b"event: x\ndata: \xff\n\n")
    assert (info.value.byte_pos, info.value.event) == (15, None)
    # Cut inside a character at the end of the body.
    reader = WireReader("chat")
    assert reader.feed("data: é".encode()[:-1]) == []
    with pytest.raises(WireStreamError, match="byte 6"):
        reader.finish()


def test_nothing_is_read_after_the_end(serve: Any) -> None:
    server = serve(DOC)
    body, _ = fetch(server, "chat", request("chat"))
    reader = WireReader("chat")
    assert reader.feed(body)[-1] == (DONE,) and reader.ended
    after = b"data: {not json\n\n\xff"
    assert reader.feed(after) == []
    reader.finish()
    assert reader.bytes_read == len(body) + len(after)


def test_items_match_the_sdk_across_modes(serve: Any) -> None:
    # The reference reader (the SDK's decoder) against the reader for both APIs and every mode at once.
    server = serve(DOCS[1], chunk_sizes=(1, 4, 9))
    for api in ("chat", "responses"):
        for tools in (False, True):
            body, reads = fetch(server, api, request(api, tools=tools))
            assert same_json(read(api, reads)[0]) == same_json(reference(api, body))
