"""How each mode asks for a response model on each OpenAI API, and where the JSON text comes back.

Requests are plain keyword dicts for the SDK's own `create`; replies are read from the SDK's typed
chunks and events with attribute reads only, because the SDK already spends ~180 µs per chunk.
"""

from __future__ import annotations

import json
from enum import Enum
from typing import Any

from ._core import Parser
from .errors import JSONDecodeError
from .schema import ResponseSchema, SchemaError

__all__ = ["API", "CHAT", "RESPONSES", "Calls", "Mode", "Reply", "Wire"]


class Mode(str, Enum):
    """How the response model is asked for."""

    JSON_SCHEMA = "json_schema"  # Structured Outputs with a strict schema
    TOOLS = "tools"  # one forced function tool; the JSON is its arguments
    JSON = "json"  # JSON mode (`json_object`) with the schema in a system message
    MD_JSON = "md_json"  # plain text with the schema in the prompt; fences and prose tolerated

    @property
    def lenient(self) -> bool:
        return self is Mode.MD_JSON


class Wire(str, Enum):
    """How a stream's body is read."""

    RUST = "rust"  # the body's bytes straight into the core's SSE reader (`_core.WireReader`)
    SDK = "sdk"  # the SDK's own typed chunks and events, one Python object each


# What `_core.WireReader.feed` gives, one tuple per item (see `_core.pyi`).
TEXT, ARGS, ITEM, REFUSAL, FINISH, ID, USAGE, ERROR, DONE = range(9)


class Reply:
    """What one attempt's answer said beside its JSON text (filled in as chunks arrive)."""

    __slots__ = ("id", "usage", "finish_reason", "refusal", "request", "call", "calls")

    def __init__(self, request: Any = None, calls: Calls | None = None) -> None:
        self.request = request  # the HTTP request, for errors the API reports inside the stream
        self.id: str | None = None
        self.usage: Any = None
        self.finish_reason: str | None = None
        self.refusal: str | None = None
        self.call: int | None = None  # Responses: the output index of the function call being read
        self.calls = calls  # `each_call_is_item`: every function call, each one element of the array

    def refused(self, delta: str) -> None:
        self.refusal = (self.refusal or "") + delta


# What JSON counts as whitespace (`str.strip()` would take any Unicode space).
_JSON_SPACE = " \t\n\r"


class _Call:
    """One function call of `Calls`."""

    __slots__ = ("parser", "pending", "done", "started")

    def __init__(self) -> None:
        self.parser: Parser | None = Parser()  # only to know when the arguments' JSON value ends
        self.pending: list[str] = []  # arguments that arrived and were not given out yet
        self.done = False  # the arguments are a whole JSON value
        self.started = False  # its text (after its `[` or `,`) was given out


class Calls:
    """Several function calls read as the elements of one JSON array, in call order (`each_call_is_item`).

    A call is keyed where the API puts it: Chat's `index`, Responses' `output_index`; the keys give the
    order. `add(key, piece)` takes a piece of a call's arguments and returns the text to read now: `[`,
    the first call's arguments, `,`, the second's, ... A call's text is given out once every key before
    it is settled: a call whose arguments are a whole JSON value (each call's own parser tells), or a
    key `skip` named (a Responses output item that is no function call). So pieces may arrive in any
    order, calls interleaved: those of a call whose turn has not come wait here. `close(True)` gives out
    what is left, in key order, whole or not, and the closing `]`. The text read is
    `'[' + ','.join(arguments) + ']'`, with one exception: what a call sends after its JSON value ended,
    once a later call's text was given out, cannot go where it belongs; it is left out if it is
    whitespace, and raises `JSONDecodeError` if not (the array could not be JSON).
    """

    __slots__ = ("_calls", "_skipped", "_next", "_opened", "_last")

    def __init__(self) -> None:
        self._calls: dict[int, _Call] = {}
        self._skipped: set[int] = set()
        self._next = 0  # the first key not settled
        self._opened = False  # the `[` was given out
        self._last: _Call | None = None  # the call whose text was given out last

    def add(self, key: int, piece: str) -> str:
        """A piece of the arguments of call `key` (`""` registers the call); returns the text to read now."""
        call = self._calls.get(key)
        if call is None:
            call = self._calls[key] = _Call()
        if call.done:
            if call is self._last:
                return piece  # still where it belongs: whitespace is read, anything else is an error there
            if piece.strip(_JSON_SPACE) and call.parser is not None:
                try:
                    call.parser.feed(piece)
                except JSONDecodeError as e:
                    raise JSONDecodeError(
                        f"the arguments of tool call {key} go on after their JSON value: {e.msg}",
                        e.pos,
                        e.lineno,
                        e.colno,
                        excerpt=e.excerpt,
                        byte_pos=e.byte_pos,
                    ) from None
            return ""
        if piece and call.parser is not None:
            try:
                call.parser.feed(piece)
            except JSONDecodeError:
                call.parser = None  # never whole: what is wrong is raised where the array reads it
            else:
                call.done = call.parser.complete
        if call is self._last and not call.done:
            return piece  # the common case: more of the call being read
        if piece:
            call.pending.append(piece)
        return self._release() if key == self._next else ""

    def skip(self, key: int) -> str:
        """Output index `key` holds no function call; returns the text to read now."""
        if key in self._calls:
            return ""
        self._skipped.add(key)
        return self._release() if key == self._next else ""

    def _release(self) -> str:
        out: list[str] = []
        while True:
            key = self._next
            if key in self._skipped:
                self._next += 1
                continue
            call = self._calls.get(key)
            if call is None:
                break
            if call.pending:
                self._give(call, out)
            if not call.done:
                break
            self._next += 1
        return "".join(out)

    def _give(self, call: _Call, out: list[str]) -> None:
        """Gives out what `call` holds, after its `[` or `,` if it is the first of it."""
        if not call.started:
            out.append("," if self._opened else "[")
            self._opened = call.started = True
        out += call.pending
        call.pending.clear()
        self._last = call

    def close(self, complete: bool) -> str:
        """The answer ended: the text left to read. Unless `complete` (it was cut short), nothing: the
        calls held back stay out, and the array stays open."""
        if not complete or self._next < 0:
            return ""
        out: list[str] = []
        for key in sorted(k for k in self._calls if k >= self._next):
            self._give(self._calls[key], out)
        out.append("]" if self._opened else "[]")
        self._opened = True
        self._calls.clear()  # all given out: a second `close` (or a late piece) adds nothing
        self._next = -1
        return "".join(out)


def _instructions(rs: ResponseSchema, mode: Mode) -> str:
    schema = rs.schema if rs.uses_envelope(mode) else rs.plain
    text = json.dumps(schema, ensure_ascii=False)
    if mode is Mode.MD_JSON:
        return f"Answer with one JSON value that matches this JSON schema, in a ```json fenced block:\n{text}"
    return f"Answer with one JSON object that matches this JSON schema:\n{text}"


def _tool(rs: ResponseSchema) -> dict[str, Any]:
    return {"name": rs.name, "description": f"Return the {rs.name} answer.", "parameters": rs.schema}


def _item_tool(rs: ResponseSchema) -> dict[str, Any]:
    """The tool of `each_call_is_item`: one element of the answer per call."""
    about = f"One {rs.name} of the answer: call this once for each {rs.name}, in order."
    return {"name": rs.name, "description": about, "parameters": rs.schema}


def _own_tools(kwargs: dict[str, Any], mode: Mode, items: bool = False) -> None:
    if mode is Mode.TOOLS and ("tools" in kwargs or "tool_choice" in kwargs):
        raise ValueError(
            'mode="tools" sends the response model as the one tool the model must call; '
            'pass tools of your own with mode="json_schema" (or "json"/"md_json") instead'
        )
    if items and kwargs.get("parallel_tool_calls", True) is False:
        raise ValueError(
            "each_call_is_item=True asks for one tool call per item, in parallel: "
            "it cannot be sent with parallel_tool_calls=False"
        )


def _check_strict(rs: ResponseSchema, mode: Mode) -> None:
    if mode is Mode.JSON_SCHEMA and rs.strict_error is not None:
        raise SchemaError(
            f"strict Structured Outputs cannot express {rs.name}: it has {rs.strict_error}. "
            'Use mode="tools" (a non-strict function schema), "json" or "md_json".'
        )


class API:
    """One OpenAI API's request shape and stream events (see `CHAT` and `RESPONSES`)."""

    name = ""

    def request(
        self, kwargs: dict[str, Any], rs: ResponseSchema, mode: Mode, stream: bool, items: bool = False
    ) -> dict[str, Any]:
        """The SDK `create` keywords; with `items` (`each_call_is_item`), `rs` is the schema of one item."""
        raise NotImplementedError

    def read(self, event: Any, reply: Reply, mode: Mode) -> str | None:
        """One stream chunk/event: records what it says in `reply`; returns its JSON text, if any."""
        raise NotImplementedError

    def read_whole(self, response: Any, reply: Reply, mode: Mode) -> str:
        """A non-streamed response: records it in `reply`; returns its JSON text."""
        raise NotImplementedError

    # The Rust wire: what the core's `WireReader` read from one network read of the body.
    wire_name = ""

    def read_items(self, items: list[tuple[Any, ...]], reply: Reply, mode: Mode) -> str:
        """The items of one read: records what they say in `reply`; returns their JSON text ('' if none).

        The same as `read` gives for the SDK's events, item for item (an `error` raises the SDK's own
        `APIError`); the usage becomes the SDK's own type once, when it arrives.
        """
        tools = mode is Mode.TOOLS
        calls = reply.calls
        out: list[str] = []
        for item in items:
            kind = item[0]
            if kind == TEXT:
                if not tools:
                    out.append(item[1])
            elif kind == ARGS:
                if not tools:
                    continue
                if calls is not None:
                    out.append(calls.add(item[1], item[2]))
                else:
                    if reply.call is None:
                        reply.call = item[1]
                    if item[1] == reply.call:  # the first call only
                        out.append(item[2])
            elif kind == ITEM:
                if calls is not None:
                    out.append(calls.add(item[1], "") if item[2] else calls.skip(item[1]))
            elif kind == REFUSAL:
                reply.refused(item[1])
            elif kind == FINISH:
                reply.finish_reason = item[1]
            elif kind == ID:
                reply.id = item[1]
            elif kind == USAGE:
                reply.usage = self.usage(item[1])
            elif kind == ERROR:
                message = item[1] or "an error occurred during streaming"
                raise self.error(message, json.loads(item[2]), reply.request)
        return "".join(out)

    def usage(self, raw: str) -> Any:
        """The SDK's own usage object for the JSON text `raw`."""
        raise NotImplementedError

    def retry(self, kwargs: dict[str, Any], output: str, feedback: str) -> dict[str, Any]:
        """The next attempt's keywords: the conversation so far, the output, and what was wrong with it."""
        raise NotImplementedError

    def error(self, message: str, body: Any, request: Any) -> Exception:
        import openai

        return openai.APIError(message, request, body=body)


class _Chat(API):
    name = "chat.completions"
    wire_name = "chat"

    def usage(self, raw: str) -> Any:
        from openai.types import CompletionUsage

        return CompletionUsage.model_validate_json(raw)

    def request(
        self, kwargs: dict[str, Any], rs: ResponseSchema, mode: Mode, stream: bool, items: bool = False
    ) -> dict[str, Any]:
        _check_strict(rs, mode)
        _own_tools(kwargs, mode, items)
        out = dict(kwargs)
        messages = list(out.pop("messages", None) or [])
        if mode is Mode.JSON_SCHEMA:
            out["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": rs.name, "schema": rs.schema, "strict": True},
            }
        elif items:
            # "required", not the function by name: naming it makes the model call it once.
            out["tools"] = [{"type": "function", "function": {**_item_tool(rs), "strict": rs.strict}}]
            out["tool_choice"] = "required"
            out["parallel_tool_calls"] = True
        elif mode is Mode.TOOLS:
            out["tools"] = [{"type": "function", "function": {**_tool(rs), "strict": rs.strict}}]
            out["tool_choice"] = {"type": "function", "function": {"name": rs.name}}
            out["parallel_tool_calls"] = False  # one call, one JSON value
        else:
            if mode is Mode.JSON:
                out["response_format"] = {"type": "json_object"}
            messages.insert(0, {"role": "system", "content": _instructions(rs, mode)})
        out["messages"] = messages
        if stream:
            out["stream"] = True
            # Usage comes only when asked for; the caller's other stream options stay.
            out["stream_options"] = {"include_usage": True, **(out.get("stream_options") or {})}
        return out

    def read(self, event: Any, reply: Reply, mode: Mode) -> str | None:
        reply.id = event.id
        if event.usage is not None:
            reply.usage = event.usage
        for choice in event.choices:
            if choice.index == 0:  # with `n > 1` the other choices are other answers
                break
        else:
            return None
        if choice.finish_reason is not None:
            reply.finish_reason = choice.finish_reason
        delta = choice.delta
        if delta.refusal:
            reply.refused(delta.refusal)
        if mode is Mode.TOOLS:
            calls = delta.tool_calls
            if reply.calls is not None:
                if not calls:
                    return None
                add = reply.calls.add
                got = [add(c.index or 0, (c.function.arguments or "") if c.function else "") for c in calls]
                return "".join(got) or None
            if calls and calls[0].index == 0 and calls[0].function is not None:
                return calls[0].function.arguments or None
            return None
        return delta.content or None

    def read_whole(self, response: Any, reply: Reply, mode: Mode) -> str:
        reply.id, reply.usage = response.id, response.usage
        choice = response.choices[0]
        reply.finish_reason = choice.finish_reason
        message = choice.message
        if message.refusal:
            reply.refused(message.refusal)
        if mode is Mode.TOOLS:
            calls = message.tool_calls or []
            if reply.calls is not None:
                add = reply.calls.add
                return "".join(
                    add(i, str(c.function.arguments or ""))
                    for i, c in enumerate(calls)
                    if c.type == "function"
                )
            return str(calls[0].function.arguments or "") if calls else ""
        return message.content or ""

    def retry(self, kwargs: dict[str, Any], output: str, feedback: str) -> dict[str, Any]:
        messages = list(kwargs.get("messages") or [])
        messages += [{"role": "assistant", "content": output}, {"role": "user", "content": feedback}]
        return {**kwargs, "messages": messages}


# Why a Responses answer ended short, in Chat's words (so `finish_reason` reads the same on both APIs).
_INCOMPLETE = {"max_output_tokens": "length", "content_filter": "content_filter"}


class _Responses(API):
    name = "responses"
    wire_name = "responses"

    def usage(self, raw: str) -> Any:
        from openai.types.responses import ResponseUsage

        return ResponseUsage.model_validate_json(raw)

    def request(
        self, kwargs: dict[str, Any], rs: ResponseSchema, mode: Mode, stream: bool, items: bool = False
    ) -> dict[str, Any]:
        _check_strict(rs, mode)
        _own_tools(kwargs, mode, items)
        out = dict(kwargs)
        messages = out.pop("messages", None)
        given = out.pop("input", messages)
        convo = [{"role": "user", "content": given}] if isinstance(given, str) else list(given or [])
        if mode is Mode.JSON_SCHEMA:
            fmt = {"type": "json_schema", "name": rs.name, "schema": rs.schema, "strict": True}
            out["text"] = {**(out.get("text") or {}), "format": fmt}
        elif items:
            # "required", not the function by name: naming it makes the model call it once.
            out["tools"] = [{"type": "function", **_item_tool(rs), "strict": rs.strict}]
            out["tool_choice"] = "required"
            out["parallel_tool_calls"] = True
        elif mode is Mode.TOOLS:
            out["tools"] = [{"type": "function", **_tool(rs), "strict": rs.strict}]
            out["tool_choice"] = {"type": "function", "name": rs.name}
            out["parallel_tool_calls"] = False
        else:
            if mode is Mode.JSON:
                out["text"] = {**(out.get("text") or {}), "format": {"type": "json_object"}}
            convo.insert(0, {"role": "system", "content": _instructions(rs, mode)})
        out["input"] = convo
        if stream:
            out["stream"] = True
        return out

    def read(self, event: Any, reply: Reply, mode: Mode) -> str | None:
        kind = event.type
        if kind == "response.output_text.delta":
            return event.delta if mode is not Mode.TOOLS else None
        if kind == "response.function_call_arguments.delta":
            if mode is not Mode.TOOLS:
                return None
            if reply.calls is not None:
                return reply.calls.add(event.output_index, event.delta) or None
            if reply.call is None:
                reply.call = event.output_index
            return event.delta if event.output_index == reply.call else None  # the first call only
        if kind == "response.output_item.added":
            if reply.calls is not None:  # which output indices are calls, and which are not
                if event.item.type == "function_call":
                    return reply.calls.add(event.output_index, "") or None
                return reply.calls.skip(event.output_index) or None
        elif kind == "response.refusal.delta":
            reply.refused(event.delta)
        elif kind == "response.created":
            reply.id = event.response.id
        elif kind in ("response.completed", "response.incomplete"):
            self._ended(event.response, reply)
        elif kind == "response.failed":
            err = event.response.error
            body = err.model_dump() if err is not None else None
            raise self.error(err.message if err else "the response failed", body, reply.request)
        elif kind == "error":
            message = event.message or "an error occurred during streaming"
            raise self.error(message, event.model_dump(), reply.request)
        return None

    def _ended(self, response: Any, reply: Reply) -> None:
        reply.id = response.id
        reply.usage = response.usage
        if response.status == "incomplete":
            reason = getattr(response.incomplete_details, "reason", None)
            reply.finish_reason = _INCOMPLETE.get(reason or "", reason or "incomplete")
        else:
            reply.finish_reason = "stop"

    def read_whole(self, response: Any, reply: Reply, mode: Mode) -> str:
        self._ended(response, reply)
        parts: list[str] = []
        if mode is Mode.TOOLS and reply.calls is not None:
            calls = reply.calls
            for i, item in enumerate(response.output):
                is_call = item.type == "function_call"
                parts.append(calls.add(i, item.arguments) if is_call else calls.skip(i))
            return "".join(parts)
        for item in response.output:
            if item.type == "function_call" and mode is Mode.TOOLS:
                if not parts:  # the first call only
                    parts.append(item.arguments)
            elif item.type == "message" and mode is not Mode.TOOLS:
                for c in item.content:
                    if c.type == "output_text":
                        parts.append(c.text)
                    elif c.type == "refusal":
                        reply.refused(c.refusal)
        return "".join(parts)

    def retry(self, kwargs: dict[str, Any], output: str, feedback: str) -> dict[str, Any]:
        given = kwargs.get("input", kwargs.get("messages"))
        items = [{"role": "user", "content": given}] if isinstance(given, str) else list(given or [])
        items += [{"role": "assistant", "content": output}, {"role": "user", "content": feedback}]
        rest = {k: v for k, v in kwargs.items() if k != "messages"}
        return {**rest, "input": items}


CHAT: API = _Chat()
RESPONSES: API = _Responses()
