"""An OpenAI-compatible HTTP server on loopback that replays a JSON document as streamed deltas.

It is the offline stand-in for the OpenAI API in tests, demos and benchmarks: the official ``openai``
SDK talks to it over real HTTP and gets the real wire formats of Chat Completions and Responses, cut
into token-sized deltas, with faults on demand::

    from openai import OpenAI
    from unspool.testing import ReplayServer, Reply

    with ReplayServer({"title": "Note Ninja"}) as server:
        client = OpenAI(base_url=server.base_url, api_key="anything", max_retries=0)
        ...

    ReplayServer(replies=[Reply(document=doc, fault="drop", fault_after=5), Reply(document=doc)])
    ReplayServer(Reply(calls=[doc0, doc1], call_order="shuffled"))  # several function calls, interleaved

``python -m unspool.testing --document FILE.json`` runs one in the foreground.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import secrets
import socket
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Final

from .schema import ENVELOPE_KEY

__all__ = ["ReplayServer", "Reply", "main"]

_FAULTS: Final = frozenset({"drop", "error", "length", "refusal", "content_filter", "http_error"})
# How the deltas of several function calls follow each other: "sequential" is what the OpenAI API does.
_CALL_ORDERS: Final = ("sequential", "round_robin", "reversed", "shuffled")

_CHAT_PATH: Final = "/v1/chat/completions"
_RESPONSES_PATH: Final = "/v1/responses"

# Long enough that the sizes never visibly repeat in a short document; a prime so they never line up
# with a document's own structure.
_SIZE_CYCLE: Final = 1009
_CLIENT_GONE: Final = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)
# A reused encoder: `json.dumps(s, ensure_ascii=False)` would build a new encoder for every delta.
_dumps: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_PROSE_BEFORE: Final = "Here is the JSON you asked for:\n\n```json\n"
_PROSE_AFTER: Final = "\n```\n\nLet me know if you would like any changes."


class _Missing:
    """The type of the `Reply.document` default: no document was given."""

    def __repr__(self) -> str:
        return "MISSING"


_MISSING: Final = _Missing()


@dataclass(frozen=True)
class Reply:
    """One answer of the server: a document (or raw text, or several function calls), optionally broken
    by a fault."""

    document: Any = _MISSING  # any JSON-able value; shaped to the request (envelope, markdown fence)
    text: str | None = None  # or text, sent exactly as given
    fault: str | None = None  # "drop", "error", "length", "refusal", "content_filter" or "http_error"
    fault_after: int | None = None  # deltas sent before the fault; None: half of them
    refusal: str = "I'm sorry, I can't help with that."
    status: int = 500  # the HTTP status of fault="http_error"
    message: str = "The server had an error while processing your request."  # of "error", "http_error"
    # Or several function calls, one per document (each shaped to the tool's parameters)...
    calls: Sequence[Any] | None = None
    # ...or one per text, its arguments exactly as given.
    call_texts: Sequence[str] | None = None
    # How the calls' deltas follow each other: "sequential" (as the OpenAI API sends them: one call's
    # arguments, then the next's), "round_robin", "reversed" (the last call's first), or "shuffled"
    # (interleaved at random, by the server's seed). Each call's own deltas stay in their order.
    call_order: str = "sequential"
    _json: str = field(init=False, repr=False, compare=False, default="")
    _calls_json: tuple[str, ...] | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        if self.fault is not None and self.fault not in _FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}; expected one of {sorted(_FAULTS)}")
        has_document = self.document is not _MISSING
        given = [has_document, self.text is not None, self.calls is not None, self.call_texts is not None]
        if sum(given) > 1:
            raise ValueError("Reply takes one of document=, text=, calls= or call_texts=")
        # An error status or a refusal never shows the answer, so it need not be given.
        if not any(given) and self.fault not in ("http_error", "refusal"):
            raise ValueError("Reply needs document=, text=, calls= or call_texts=")
        if self.fault_after is not None and self.fault_after < 0:
            raise ValueError("fault_after must be >= 0")
        if not 400 <= self.status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        if self.call_order not in _CALL_ORDERS:
            raise ValueError(f"unknown call_order {self.call_order!r}; expected one of {list(_CALL_ORDERS)}")
        if has_document:
            # Serialize once, now, so that a document that is not JSON fails where it was written.
            object.__setattr__(self, "_json", json.dumps(self.document, ensure_ascii=False))
        if self.calls is not None:
            if isinstance(self.calls, (str, bytes, dict)):
                raise TypeError("calls= takes a sequence of documents, one per function call")
            object.__setattr__(self, "calls", tuple(self.calls))
            texts = tuple(json.dumps(d, ensure_ascii=False) for d in self.calls)
            object.__setattr__(self, "_calls_json", texts)
        if self.call_texts is not None:
            if isinstance(self.call_texts, (str, bytes)) or not all(
                isinstance(t, str) for t in self.call_texts
            ):
                raise TypeError("call_texts= takes a sequence of strings, one per function call")
            object.__setattr__(self, "call_texts", tuple(self.call_texts))

    @property
    def _makes_calls(self) -> bool:
        return (self.calls is not None or self.call_texts is not None) and self.fault != "refusal"


class ReplayServer:
    """An OpenAI-compatible server on loopback that streams its replies as token-sized deltas."""

    def __init__(
        self,
        reply: Any = None,
        *,
        replies: Sequence[Reply] | None = None,
        chunk_sizes: Sequence[int] = (1, 2, 3, 4, 5, 6),
        delay: float = 0.0,
        seed: int = 0,
        keepalive: bool = False,
        crlf: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if (reply is None) == (replies is None):
            raise TypeError("pass exactly one of reply or replies=")
        given = [reply] if replies is None else list(replies)
        if not given:
            raise ValueError("replies= is empty")
        self._replies = [r if isinstance(r, Reply) else Reply(document=r) for r in given]
        sizes = list(chunk_sizes)
        if not sizes or any(not isinstance(s, int) or s < 1 for s in sizes):
            raise ValueError("chunk_sizes must be positive integers")
        if delay < 0:
            raise ValueError("delay must be >= 0")
        rng = random.Random(seed)
        self._sizes = tuple(rng.choice(sizes) for _ in range(_SIZE_CYCLE))
        self._seed = seed
        self.delay = delay
        self.keepalive = keepalive
        self._eol = "\r\n" if crlf else "\n"
        self.host = host
        self.port = port
        self.requests: list[dict[str, Any]] = []
        self.disconnects = 0
        self.completed = 0
        self._answered = 0
        self._cond = threading.Condition()
        self._connections: set[socket.socket] = set()
        self._stopping = False
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """The URL to pass to ``OpenAI(base_url=...)``."""
        if self._httpd is None:
            raise RuntimeError("the server is not started")
        host, port = self._httpd.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        return f"http://[{host}]:{port}/v1" if ":" in host else f"http://{host}:{port}/v1"

    def start(self) -> ReplayServer:
        """Bind and serve on a background thread."""
        if self._httpd is not None:
            raise RuntimeError("the server is already started")
        server_class = _Server6 if ":" in self.host else _Server
        httpd = server_class((self.host, self.port), _Handler)
        httpd.replay = self
        self._stopping = False
        self._httpd = httpd
        # A short poll interval keeps stop() fast: shutdown() waits for the loop to notice.
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="unspool-replay", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and end open connections."""
        httpd, thread = self._httpd, self._thread
        if httpd is None or thread is None:
            return
        self._stopping = True
        httpd.shutdown()
        # Idle keep-alive connections would keep their threads blocked on a read forever.
        with self._cond:
            open_connections = list(self._connections)
        for conn in open_connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        httpd.server_close()
        thread.join()
        self._httpd = None
        self._thread = None

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def wait_for_disconnects(self, n: int = 1, timeout: float = 5.0) -> bool:
        """Wait until at least `n` streams were closed by the client; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self.disconnects >= n, timeout)

    # -- used by the handler threads ---------------------------------------------------------------

    def _record(self, path: str, body: Any, answers: bool) -> Reply:
        with self._cond:
            self.requests.append({"path": path, "body": body})
            reply = self._replies[min(self._answered, len(self._replies) - 1)]
            if answers:
                self._answered += 1
            return reply

    def _completed(self) -> None:
        with self._cond:
            self.completed += 1

    def _disconnected(self, counted_complete: bool) -> None:
        with self._cond:
            if counted_complete:
                self.completed -= 1
            if not self._stopping:
                self.disconnects += 1
            self._cond.notify_all()

    def _cut(self, text: str, start: int = 0) -> list[str]:
        """`text` as deltas, their sizes taken from the cycle at `start` on."""
        sizes, n = self._sizes, len(self._sizes)
        deltas: list[str] = []
        at = 0
        while at < len(text):
            size = sizes[(start + len(deltas)) % n]
            deltas.append(text[at : at + size])
            at += size
        return deltas


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Tests open thousands of streams at once; the default backlog of 5 would refuse some, and 512
    # overflowed at 2,000. (The kernel caps it at net.core.somaxconn, 4096 by default since Linux 5.4.)
    request_queue_size = 8192
    replay: ReplayServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that goes away is normal here, not worth a traceback.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class _Server6(_Server):
    address_family = socket.AF_INET6


@dataclass
class _Plan:
    """What one request gets: the reply, the shape of the answer and its deltas."""

    reply: Reply
    model: str
    tool: str | None  # the forced function's name: the answer is its arguments
    deltas: list[str]  # the answer (the refusal, for fault="refusal") cut into deltas
    sent: int  # deltas sent before the fault
    prompt_tokens: int
    item_id: str = ""  # Responses: the output item's id
    call_id: str = field(default_factory=lambda: _new_id("call_"))
    # Several function calls (`Reply.calls`, `Reply.call_texts`): each one, and what is sent of them,
    # in order: ("added", call, ""), ("delta", call, delta), ("done", call, "").
    calls: list[_PlannedCall] | None = None
    steps: list[tuple[str, int, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.item_id:
            self.item_id = _new_id("msg_" if self.tool is None or self.fault == "refusal" else "fc_")

    @property
    def fault(self) -> str | None:
        return self.reply.fault

    @property
    def text(self) -> str:
        return "".join(self.deltas[: self.sent])


@dataclass
class _PlannedCall:
    """One of several function calls: its ids, and what is sent of it."""

    text: str = ""  # the arguments sent
    added: bool = False  # it was announced (Chat: its first chunk; Responses: `output_item.added`)
    done: bool = False  # its arguments were all sent
    call_id: str = field(default_factory=lambda: _new_id("call_"))
    item_id: str = field(default_factory=lambda: _new_id("fc_"))


def _new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(12)


def _forced_tool(body: dict[str, Any], chat: bool) -> tuple[str | None, Any]:
    """The function the request forces, and its parameters schema."""
    tools = body.get("tools")
    choice = body.get("tool_choice")
    if not isinstance(tools, list) or not tools:
        return None, None
    name: Any = None
    if isinstance(choice, dict) and choice.get("type") == "function":
        name = choice.get("function", {}).get("name") if chat else choice.get("name")
    elif choice == "required" and len(tools) == 1:
        # With one tool, "required" forces it as surely as naming it.
        name = tools[0].get("function", {}).get("name") if chat else tools[0].get("name")
    if not isinstance(name, str):
        return None, None
    for tool in tools:
        spec = tool.get("function", {}) if chat else tool
        if isinstance(spec, dict) and spec.get("name") == name:
            return name, spec.get("parameters")
    return name, None


def _call_tool(body: dict[str, Any], chat: bool) -> tuple[str | None, Any]:
    """The function several calls call: the forced one, else the request's first function tool."""
    name, parameters = _forced_tool(body, chat)
    if name is not None:
        return name, parameters
    for tool in body.get("tools") or []:
        spec = tool.get("function") if chat and isinstance(tool, dict) else tool
        if isinstance(tool, dict) and tool.get("type") == "function" and isinstance(spec, dict):
            if isinstance(spec.get("name"), str):
                return spec["name"], spec.get("parameters")
    return None, None


def _requested_format(body: dict[str, Any], chat: bool) -> tuple[bool, Any]:
    """Whether the request asks for JSON output, and the schema it gives."""
    if chat:
        fmt = body.get("response_format")
        inner = fmt.get("json_schema", {}) if isinstance(fmt, dict) else {}
    else:
        text = body.get("text")
        fmt = text.get("format") if isinstance(text, dict) else None
        inner = fmt
    if not isinstance(fmt, dict) or fmt.get("type") not in ("json_schema", "json_object"):
        return False, None
    if fmt.get("type") == "json_object":
        # JSON mode only ever writes an object: a document that is not one comes in unspool's envelope.
        return True, _JSON_MODE
    return True, inner.get("schema") if isinstance(inner, dict) else None


_JSON_MODE = {"type": "object", "properties": {ENVELOPE_KEY: {}}}


def _envelope_key(schema: Any) -> str | None:
    """K, when the schema is an object with exactly the one property K."""
    if not isinstance(schema, dict) or schema.get("type", "object") != "object":
        return None
    props = schema.get("properties")
    if isinstance(props, dict) and len(props) == 1:
        key = next(iter(props))
        return key if isinstance(key, str) else None
    return None


def _prompt_schema(body: dict[str, Any], chat: bool) -> dict[str, Any] | None:
    """The JSON schema a system message (or `instructions`) gives, as a model would read it there."""
    given = body.get("messages") if chat else body.get("input")
    texts = [m.get("content") for m in given or [] if isinstance(m, dict) and m.get("role") == "system"]
    texts.append(body.get("instructions"))
    decoder = json.JSONDecoder()
    for text in texts:
        if not isinstance(text, str) or "{" not in text:
            continue
        try:
            found, _ = decoder.raw_decode(text, text.index("{"))
        except ValueError:
            continue
        if isinstance(found, dict):
            return found
    return None


def _answer_text(reply: Reply, structured: bool, schema: Any) -> str:
    if reply.text is not None:
        return reply.text
    if reply.document is _MISSING:
        return ""
    return _shaped(reply.document, reply._json, structured, schema)


def _shaped(document: Any, text: str, structured: bool, schema: Any) -> str:
    """A document (`text`, its JSON) as the request asks for it."""
    if schema is _JSON_MODE:
        key = None if isinstance(document, dict) else ENVELOPE_KEY
    else:
        key = _envelope_key(schema)
    if key is not None and not (isinstance(document, dict) and key in document):
        return json.dumps({key: document}, ensure_ascii=False)
    if not structured:
        # A plain prompt gets what a model writes: prose around a fenced block.
        return _PROSE_BEFORE + text + _PROSE_AFTER
    return text


def _call_steps(per_call: list[list[str]], order: str, seed: int) -> list[tuple[str, int, str]]:
    """The steps of several calls (see `_Plan.steps`) in `order`; each call's own stay in theirs."""
    own = [
        [("added", i, ""), *(("delta", i, d) for d in deltas), ("done", i, "")]
        for i, deltas in enumerate(per_call)
    ]
    if order == "sequential":
        return [step for steps in own for step in steps]
    if order == "reversed":
        return [step for steps in reversed(own) for step in steps]
    rng = random.Random(seed)
    live = [i for i, steps in enumerate(own) if steps]
    heads = [0] * len(own)
    out: list[tuple[str, int, str]] = []
    turn = 0
    while live:
        if order == "round_robin":
            at = turn % len(live)
            turn += 1
        else:
            at = rng.randrange(len(live))
        i = live[at]
        out.append(own[i][heads[i]])
        heads[i] += 1
        if heads[i] == len(own[i]):
            del live[at]
            turn -= order == "round_robin"  # the next call moved into this place
    return out


def _error_body(message: str, status: int) -> dict[str, Any]:
    if status == 429:
        kind, code = "requests", "rate_limit_exceeded"
    elif status >= 500:
        kind, code = "server_error", "server_error"
    else:
        kind, code = "invalid_request_error", None
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


class _Sink:
    """Writes SSE events as HTTP chunks, one chunk per event."""

    def __init__(self, wfile: io.BufferedIOBase, replay: ReplayServer) -> None:
        self._write = wfile.write
        self._replay = replay
        self._eol = replay._eol
        self._end_of_event = self._eol * 2
        self._delay = replay.delay
        self._keepalive = self._chunk((": keep-alive" + self._eol * 2).encode()) if replay.keepalive else b""
        self.ended = False

    @staticmethod
    def _chunk(payload: bytes) -> bytes:
        return b"%x\r\n%b\r\n" % (len(payload), payload)

    def data(self, data: str, last: bool = False) -> None:
        """Send a `data:` only event (Chat Completions)."""
        self._send(("data: " + data + self._end_of_event).encode(), last)

    def event(self, name: str, data: str, last: bool = False) -> None:
        """Send an event with a name (Responses)."""
        self._send(("event: " + name + self._eol + "data: " + data + self._end_of_event).encode(), last)

    def _send(self, payload: bytes, last: bool) -> None:
        if self._keepalive:
            self._write(self._keepalive)
        chunk = self._chunk(payload)
        if last:
            # Counted before the client can see the end, so that `completed` is up to date as soon as
            # the client has read the whole stream; the last event and the end of the body go together.
            self.ended = True
            self._replay._completed()
            chunk += b"0\r\n\r\n"
        self._write(chunk)

    def pause(self) -> None:
        if self._delay:
            time.sleep(self._delay)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Many small writes: Nagle's algorithm would hold each event back waiting for an ACK.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        with self.server.replay._cond:
            self.server.replay._connections.add(self.connection)

    def finish(self) -> None:
        with self.server.replay._cond:
            self.server.replay._connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    # -- plumbing ----------------------------------------------------------------------------------

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return None
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send_json(self, status: int, obj: Any) -> None:
        data = json.dumps(obj, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _not_found(self) -> None:
        self._read_body()
        path = self.path.split("?", 1)[0]
        self.server.replay._record(path, None, answers=False)
        self._send_json(404, _error_body(f"Unknown request URL: {self.command} {path}.", 404))

    do_GET = do_PUT = do_PATCH = do_DELETE = _not_found

    def do_POST(self) -> None:
        replay = self.server.replay
        path = self.path.split("?", 1)[0]
        raw = self._read_body()
        if raw is None:
            self.close_connection = True
            self._send_json(411, _error_body("A Content-Length is required.", 411))
            return
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        known = path in (_CHAT_PATH, _RESPONSES_PATH)
        reply = replay._record(path, body, answers=known)
        if not known:
            self._send_json(404, _error_body(f"Unknown request URL: POST {path}.", 404))
            return
        if not isinstance(body, dict):
            self._send_json(400, _error_body("The body must be a JSON object.", 400))
            return
        if reply.fault == "http_error":
            self._send_json(reply.status, _error_body(reply.message, reply.status))
            return
        if reply._makes_calls and (reply.calls or reply.call_texts):
            if _call_tool(body, chat=path == _CHAT_PATH)[0] is None:
                message = "The reply makes function calls, but the request declares no function tool."
                self._send_json(400, _error_body(message, 400))
                return
        plan = self._plan(reply, body, chat=path == _CHAT_PATH)
        if body.get("stream") is not True:
            self._answer_whole(plan, body, chat=path == _CHAT_PATH)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        sink = _Sink(self.wfile, replay)
        try:
            if path == _CHAT_PATH:
                self._chat_stream(plan, body, sink)
            else:
                self._responses_stream(plan, body, sink)
        except _CLIENT_GONE:
            self.close_connection = True
            replay._disconnected(counted_complete=sink.ended)
            return
        if not sink.ended:
            # "drop": return without the last chunk and close, so the body is cut short.
            self.close_connection = True

    def _plan(self, reply: Reply, body: dict[str, Any], chat: bool) -> _Plan:
        if reply._makes_calls:
            calls = self._plan_calls(reply, body, chat)
            if calls is not None:
                return calls
            body = {k: v for k, v in body.items() if k not in ("tools", "tool_choice")}  # no call: a message
            reply = Reply(text="", fault=reply.fault, fault_after=reply.fault_after, message=reply.message)
        tool, parameters = _forced_tool(body, chat)
        structured, schema = _requested_format(body, chat)
        if tool is not None:
            structured, schema = True, parameters
        elif schema is None or schema is _JSON_MODE:
            # JSON mode and plain prompts carry the schema in a system message, if anywhere.
            schema = _prompt_schema(body, chat) or schema
        if reply.fault == "refusal":
            deltas = self.server.replay._cut(reply.refusal)
        else:
            deltas = self.server.replay._cut(_answer_text(reply, structured, schema))
        sent = len(deltas)
        if reply.fault in ("drop", "error", "length", "content_filter"):
            sent = min(sent, len(deltas) // 2 if reply.fault_after is None else reply.fault_after)
        model = body.get("model")
        return _Plan(
            reply=reply,
            model=model if isinstance(model, str) else "replay",
            tool=tool,
            deltas=deltas,
            sent=sent,
            prompt_tokens=max(1, len(json.dumps(body)) // 4),
        )

    def _plan_calls(self, reply: Reply, body: dict[str, Any], chat: bool) -> _Plan | None:
        """Several function calls (None if the reply makes none: then it answers with an empty message)."""
        replay = self.server.replay
        name, parameters = _call_tool(body, chat)
        if reply.call_texts is not None:
            texts = list(reply.call_texts)
        else:
            texts = [
                _shaped(d, t, True, parameters)
                for d, t in zip(reply.calls or (), reply._calls_json or (), strict=True)
            ]
        if not texts:
            return None
        per_call: list[list[str]] = []
        for text in texts:  # the delta sizes go on from call to call
            per_call.append(replay._cut(text, sum(map(len, per_call))))
        steps = _call_steps(per_call, reply.call_order, replay._seed)
        deltas = [d for step, _, d in steps if step == "delta"]
        sent = len(deltas)
        if reply.fault in ("drop", "error", "length", "content_filter"):
            sent = min(sent, len(deltas) // 2 if reply.fault_after is None else reply.fault_after)
        if sent < len(deltas):  # up to the last delta sent (and whatever came before it)
            steps = steps[: [i for i, (step, _, _) in enumerate(steps) if step == "delta"][sent]]
        calls = [_PlannedCall() for _ in texts]
        for step, i, delta in steps:
            call = calls[i]
            if step == "added":
                call.added = True
            elif step == "delta":
                call.text += delta
            else:
                call.done = True
        model = body.get("model")
        return _Plan(
            reply=reply,
            model=model if isinstance(model, str) else "replay",
            tool=name,
            deltas=deltas,
            sent=sent,
            prompt_tokens=max(1, len(json.dumps(body)) // 4),
            calls=calls,
            steps=steps,
        )

    def _answer_whole(self, plan: _Plan, body: dict[str, Any], chat: bool) -> None:
        if plan.fault == "error":
            self._send_json(500, _error_body(plan.reply.message, 500))
            return
        obj = _chat_completion(plan) if chat else _response_object(plan, body, _new_id("resp_"), final=True)
        if plan.fault != "drop":
            self._send_json(200, obj)
            return
        # Announce the whole body, send half of it, and hang up.
        data = json.dumps(obj, ensure_ascii=False).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2])
        self.close_connection = True

    # -- Chat Completions --------------------------------------------------------------------------

    def _chat_stream(self, plan: _Plan, body: dict[str, Any], sink: _Sink) -> None:
        options = body.get("stream_options")
        with_usage = isinstance(options, dict) and options.get("include_usage") is True
        fields = {"id": _new_id("chatcmpl-"), "object": "chat.completion.chunk", "created": int(time.time())}
        head = _dumps({**fields, "model": plan.model})[:-1] + ',"choices":'
        usage_null = ',"usage":null' if with_usage else ""

        def chunk(delta: str, finish: str | None) -> str:
            reason = "null" if finish is None else _dumps(finish)
            choice = '{"index":0,"delta":' + delta + ',"logprobs":null,"finish_reason":' + reason + "}"
            return head + "[" + choice + "]" + usage_null + "}"

        if plan.calls is not None:
            finish = "tool_calls"
            self._chat_calls(plan, sink, chunk)
        else:
            if plan.fault == "refusal":
                first = '{"role":"assistant","content":null,"refusal":""}'
                before, after, finish = '{"refusal":', "}", "stop"
            elif plan.tool is not None:
                function = {"name": plan.tool, "arguments": ""}
                call = {"index": 0, "id": plan.call_id, "type": "function", "function": function}
                first = _dumps({"role": "assistant", "content": None, "tool_calls": [call]})
                before, after = '{"tool_calls":[{"index":0,"function":{"arguments":', "}}]}"
                finish = "tool_calls"
            else:
                first = '{"role":"assistant","content":""}'
                before, after, finish = '{"content":', "}", "stop"
            sink.data(chunk(first, None))
            # The one hot loop: everything but the delta itself is built once. (A NUL is never left raw
            # by the JSON encoder, so it cannot occur in `head`.)
            prefix, _, suffix = chunk(before + "\0" + after, None).partition("\0")
            for delta in plan.deltas[: plan.sent]:
                sink.pause()
                sink.data(prefix + _dumps(delta) + suffix)
        if plan.fault == "drop":
            return
        if plan.fault == "error":
            err = {
                "message": plan.reply.message,
                "type": "server_error",
                "param": None,
                "code": "server_error",
            }
            sink.data(_dumps({"error": err}), last=True)
            return
        if plan.fault in ("length", "content_filter"):
            finish = plan.fault
        sink.data(chunk("{}", finish))
        if with_usage:
            sink.data(head + '[],"usage":' + _dumps(_chat_usage(plan)) + "}")
        sink.data("[DONE]", last=True)

    @staticmethod
    def _chat_calls(plan: _Plan, sink: _Sink, chunk: Any) -> None:
        """Several calls as the API streams them: each call's first chunk has its index, id and name
        (the message's first chunk also its role), and the argument deltas say only their index."""
        calls = plan.calls or []
        role = True
        for step, i, delta in plan.steps:
            if step == "added":
                function = {"name": plan.tool, "arguments": ""}
                call = {"index": i, "id": calls[i].call_id, "type": "function", "function": function}
                head: dict[str, Any] = {"role": "assistant", "content": None} if role else {}
                sink.data(chunk(_dumps({**head, "tool_calls": [call]}), None))
                role = False
            elif step == "delta":
                if role:
                    sink.data(chunk('{"role":"assistant","content":null}', None))
                    role = False
                sink.pause()
                arguments = '{"arguments":' + _dumps(delta) + "}"
                sink.data(
                    chunk('{"tool_calls":[{"index":' + str(i) + ',"function":' + arguments + "}]}", None)
                )
        if role:
            sink.data(chunk('{"role":"assistant","content":null}', None))

    # -- Responses ---------------------------------------------------------------------------------

    def _responses_stream(self, plan: _Plan, body: dict[str, Any], sink: _Sink) -> None:
        rid = _new_id("resp_")
        seq = 0

        def send(kind: str, last: bool = False, **fields: Any) -> None:
            nonlocal seq
            sink.event(kind, _dumps({"type": kind, "sequence_number": seq, **fields}), last)
            seq += 1

        created = int(time.time())
        send("response.created", response=_response_object(plan, body, rid, final=False, created=created))
        send("response.in_progress", response=_response_object(plan, body, rid, final=False, created=created))
        if plan.calls is not None:
            self._responses_calls(plan, body, rid, created, send, sink)
            return
        send("response.output_item.added", output_index=0, item=_output_item(plan, final=False))
        where: dict[str, Any] = {"item_id": plan.item_id, "output_index": 0}
        if plan.tool is None or plan.fault == "refusal":
            where["content_index"] = 0
            send("response.content_part.added", **where, part=_content_part(plan, final=False))
        if plan.fault == "refusal":
            kind, extra = "response.refusal.delta", ""
        elif plan.tool is not None:
            kind, extra = "response.function_call_arguments.delta", ""
        else:
            kind, extra = "response.output_text.delta", ',"logprobs":[]'
        # The one hot loop: everything but the delta and the sequence number is pre-built.
        prefix = '{"type":' + _dumps(kind) + ',"sequence_number":'
        middle = "," + _dumps(where)[1:-1] + ',"delta":'
        suffix = extra + "}"
        for delta in plan.deltas[: plan.sent]:
            sink.pause()
            sink.event(kind, prefix + str(seq) + middle + _dumps(delta) + suffix)
            seq += 1
        if plan.fault == "drop":
            return
        if plan.fault == "error":
            send("error", last=True, code="server_error", message=plan.reply.message, param=None)
            return
        if plan.fault == "refusal":
            send("response.refusal.done", **where, refusal=plan.text)
        elif plan.tool is not None:
            send("response.function_call_arguments.done", **where, arguments=plan.text)
        else:
            send("response.output_text.done", **where, text=plan.text, logprobs=[])
        if "content_index" in where:
            send("response.content_part.done", **where, part=_content_part(plan, final=True))
        send("response.output_item.done", output_index=0, item=_output_item(plan, final=True))
        final = _response_object(plan, body, rid, final=True, created=created)
        send(
            "response.incomplete" if final["status"] == "incomplete" else "response.completed",
            last=True,
            response=final,
        )

    @staticmethod
    def _responses_calls(
        plan: _Plan, body: dict[str, Any], rid: str, created: int, send: Any, sink: _Sink
    ) -> None:
        """Several calls as the API streams them: each an output item of its own (its output index is
        its place among the calls), added, its argument deltas, its arguments done, the item done."""
        calls = plan.calls or []
        for step, i, delta in plan.steps:
            call = calls[i]
            if step == "added":
                send(
                    "response.output_item.added", output_index=i, item=_call_item(plan, i, "", "in_progress")
                )
            elif step == "delta":
                sink.pause()
                send(
                    "response.function_call_arguments.delta",
                    item_id=call.item_id,
                    output_index=i,
                    delta=delta,
                )
            else:
                send(
                    "response.function_call_arguments.done",
                    item_id=call.item_id,
                    output_index=i,
                    arguments=call.text,
                )
                send(
                    "response.output_item.done",
                    output_index=i,
                    item=_call_item(plan, i, call.text, "completed"),
                )
        if plan.fault == "drop":
            return
        if plan.fault == "error":
            send("error", last=True, code="server_error", message=plan.reply.message, param=None)
            return
        for i, call in enumerate(calls):  # cut short ("length", "content_filter"): what was open ends
            if call.added and not call.done:
                send(
                    "response.function_call_arguments.done",
                    item_id=call.item_id,
                    output_index=i,
                    arguments=call.text,
                )
                send(
                    "response.output_item.done",
                    output_index=i,
                    item=_call_item(plan, i, call.text, "incomplete"),
                )
        final = _response_object(plan, body, rid, final=True, created=created)
        send(
            "response.incomplete" if final["status"] == "incomplete" else "response.completed",
            last=True,
            response=final,
        )


def _call_item(plan: _Plan, i: int, arguments: str, status: str) -> dict[str, Any]:
    call = (plan.calls or [])[i]
    return {
        "id": call.item_id,
        "type": "function_call",
        "status": status,
        "call_id": call.call_id,
        "name": plan.tool,
        "arguments": arguments,
    }


def _chat_usage(plan: _Plan) -> dict[str, int]:
    return {
        "prompt_tokens": plan.prompt_tokens,
        "completion_tokens": plan.sent,
        "total_tokens": plan.prompt_tokens + plan.sent,
    }


def _chat_completion(plan: _Plan) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None, "annotations": []}
    finish = "stop"
    if plan.fault == "refusal":
        message["refusal"] = plan.text
    elif plan.calls is not None:
        message["tool_calls"] = [
            {"id": c.call_id, "type": "function", "function": {"name": plan.tool, "arguments": c.text}}
            for c in plan.calls
            if c.added
        ]
        finish = "tool_calls"
    elif plan.tool is not None:
        function = {"name": plan.tool, "arguments": plan.text}
        message["tool_calls"] = [{"id": plan.call_id, "type": "function", "function": function}]
        finish = "tool_calls"
    else:
        message["content"] = plan.text
    if plan.fault in ("length", "content_filter"):
        finish = plan.fault
    return {
        "id": _new_id("chatcmpl-"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": plan.model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": _chat_usage(plan),
    }


def _item_status(plan: _Plan, final: bool) -> str:
    if not final:
        return "in_progress"
    return "incomplete" if plan.fault in ("length", "content_filter") else "completed"


def _content_part(plan: _Plan, final: bool) -> dict[str, Any]:
    text = plan.text if final else ""
    if plan.fault == "refusal":
        return {"type": "refusal", "refusal": text}
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _output_item(plan: _Plan, final: bool) -> dict[str, Any]:
    status = _item_status(plan, final)
    if plan.tool is not None and plan.fault != "refusal":
        return {
            "id": plan.item_id,
            "type": "function_call",
            "status": status,
            "call_id": plan.call_id,
            "name": plan.tool,
            "arguments": plan.text if final else "",
        }
    content = [_content_part(plan, final=True)] if final else []
    return {
        "id": plan.item_id,
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": content,
    }


def _output(plan: _Plan) -> list[dict[str, Any]]:
    if plan.calls is None:
        return [_output_item(plan, final=True)]
    return [
        _call_item(plan, i, c.text, "completed" if c.done else "incomplete")
        for i, c in enumerate(plan.calls)
        if c.added
    ]


def _response_object(
    plan: _Plan,
    body: dict[str, Any],
    rid: str,
    final: bool,
    created: int | None = None,
) -> dict[str, Any]:
    status = "in_progress"
    incomplete = None
    if final:
        status = "completed"
        if plan.fault in ("length", "content_filter"):
            status = "incomplete"
            incomplete = {"reason": "max_output_tokens" if plan.fault == "length" else "content_filter"}
    tools = []
    for tool in body.get("tools") or []:
        if isinstance(tool, dict) and tool.get("type") == "function":
            # The SDK's FunctionTool wants `strict`, which a request may leave out.
            tool = {"strict": None, "parameters": None, **tool}
        tools.append(tool)
    text = body.get("text") if isinstance(body.get("text"), dict) else {"format": {"type": "text"}}
    usage = None
    if final:
        usage = {
            "input_tokens": plan.prompt_tokens,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": plan.sent,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": plan.prompt_tokens + plan.sent,
        }
    created_at = int(time.time()) if created is None else created
    return {
        "id": rid,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "background": False,
        "completed_at": int(time.time()) if status == "completed" else None,
        "error": None,
        "incomplete_details": incomplete,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "metadata": body.get("metadata") or {},
        "model": plan.model,
        "output": _output(plan) if final else [],
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": {"effort": None, "summary": None},
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": text,
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": tools,
        "top_p": body.get("top_p", 1.0),
        "truncation": body.get("truncation", "disabled"),
        "usage": usage,
        "user": None,
    }


def _fail(message: str) -> int:
    """One line on stderr, worded as argparse words its own errors; returns the exit status."""
    print(f"python -m unspool.testing: error: {message}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run a server in the foreground until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m unspool.testing",
        description="Serve an OpenAI-compatible API on loopback that streams the given document.",
    )
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--document", metavar="FILE", help="a JSON file to stream")
    what.add_argument("--text", metavar="FILE", help="a text file to stream verbatim")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds between deltas")
    parser.add_argument("--chunk-sizes", default="1,2,3,4,5,6", help="delta sizes, e.g. 1,2,3")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        sizes = [int(s) for s in args.chunk_sizes.split(",") if s.strip()]
    except ValueError:
        parser.error("--chunk-sizes takes integers separated by commas")
    path = args.document if args.document is not None else args.text
    try:
        with open(path, encoding="utf-8") as f:
            reply = Reply(document=json.load(f)) if args.document is not None else Reply(text=f.read())
    except OSError as e:
        return _fail(f"cannot read {path}: {e.strerror or e}")
    except ValueError as e:  # not JSON, or not UTF-8
        return _fail(f"{path} is not {'a JSON document' if args.document is not None else 'UTF-8 text'}: {e}")
    try:
        server = ReplayServer(
            reply, chunk_sizes=sizes, delay=args.delay, seed=args.seed, host=args.host, port=args.port
        )
    except ValueError as e:
        parser.error(str(e))
    try:
        server.start()
    except (OSError, OverflowError) as e:  # in use, not ours to bind, no such address; a port past 65535
        return _fail(f"cannot listen on {args.host}:{args.port}: {getattr(e, 'strerror', None) or e}")
    try:
        print(server.base_url, flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
