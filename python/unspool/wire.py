"""How each mode asks for a response model on each OpenAI API, and where the JSON text comes back.

Requests are plain keyword dicts for the SDK's own `create`; replies are read from the SDK's typed
chunks and events with attribute reads only, because the SDK already spends ~180 µs per chunk.
"""

from __future__ import annotations

import json
from enum import Enum
from typing import Any

from .schema import ResponseSchema, SchemaError

__all__ = ["API", "CHAT", "RESPONSES", "Mode", "Reply"]


class Mode(str, Enum):
    """How the response model is asked for."""

    JSON_SCHEMA = "json_schema"  # Structured Outputs with a strict schema
    TOOLS = "tools"  # one forced function tool; the JSON is its arguments
    JSON = "json"  # JSON mode (`json_object`) with the schema in a system message
    MD_JSON = "md_json"  # plain text with the schema in the prompt; fences and prose tolerated

    @property
    def lenient(self) -> bool:
        return self is Mode.MD_JSON


class Reply:
    """What one attempt's answer said beside its JSON text (filled in as chunks arrive)."""

    __slots__ = ("id", "usage", "finish_reason", "refusal", "request", "call")

    def __init__(self, request: Any = None) -> None:
        self.request = request  # the HTTP request, for errors the API reports inside the stream
        self.id: str | None = None
        self.usage: Any = None
        self.finish_reason: str | None = None
        self.refusal: str | None = None
        self.call: int | None = None  # Responses: the output index of the function call being read

    def refused(self, delta: str) -> None:
        self.refusal = (self.refusal or "") + delta


def _instructions(rs: ResponseSchema, mode: Mode) -> str:
    schema = rs.schema if rs.uses_envelope(mode) else rs.plain
    text = json.dumps(schema, ensure_ascii=False)
    if mode is Mode.MD_JSON:
        return f"Answer with one JSON value that matches this JSON schema, in a ```json fenced block:\n{text}"
    return f"Answer with one JSON object that matches this JSON schema:\n{text}"


def _tool(rs: ResponseSchema) -> dict[str, Any]:
    return {"name": rs.name, "description": f"Return the {rs.name} answer.", "parameters": rs.schema}


def _own_tools(kwargs: dict[str, Any], mode: Mode) -> None:
    if mode is Mode.TOOLS and ("tools" in kwargs or "tool_choice" in kwargs):
        raise ValueError(
            'mode="tools" sends the response model as the one tool the model must call; '
            'pass tools of your own with mode="json_schema" (or "json"/"md_json") instead'
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

    def request(self, kwargs: dict[str, Any], rs: ResponseSchema, mode: Mode, stream: bool) -> dict[str, Any]:
        raise NotImplementedError

    def read(self, event: Any, reply: Reply, mode: Mode) -> str | None:
        """One stream chunk/event: records what it says in `reply`; returns its JSON text, if any."""
        raise NotImplementedError

    def read_whole(self, response: Any, reply: Reply, mode: Mode) -> str:
        """A non-streamed response: records it in `reply`; returns its JSON text."""
        raise NotImplementedError

    def retry(self, kwargs: dict[str, Any], output: str, feedback: str) -> dict[str, Any]:
        """The next attempt's keywords: the conversation so far, the output, and what was wrong with it."""
        raise NotImplementedError

    def error(self, message: str, body: Any, request: Any) -> Exception:
        import openai

        return openai.APIError(message, request, body=body)


class _Chat(API):
    name = "chat.completions"

    def request(self, kwargs: dict[str, Any], rs: ResponseSchema, mode: Mode, stream: bool) -> dict[str, Any]:
        _check_strict(rs, mode)
        _own_tools(kwargs, mode)
        out = dict(kwargs)
        messages = list(out.pop("messages", None) or [])
        if mode is Mode.JSON_SCHEMA:
            out["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": rs.name, "schema": rs.schema, "strict": True},
            }
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

    def request(self, kwargs: dict[str, Any], rs: ResponseSchema, mode: Mode, stream: bool) -> dict[str, Any]:
        _check_strict(rs, mode)
        _own_tools(kwargs, mode)
        out = dict(kwargs)
        messages = out.pop("messages", None)
        given = out.pop("input", messages)
        items = [{"role": "user", "content": given}] if isinstance(given, str) else list(given or [])
        if mode is Mode.JSON_SCHEMA:
            fmt = {"type": "json_schema", "name": rs.name, "schema": rs.schema, "strict": True}
            out["text"] = {**(out.get("text") or {}), "format": fmt}
        elif mode is Mode.TOOLS:
            out["tools"] = [{"type": "function", **_tool(rs), "strict": rs.strict}]
            out["tool_choice"] = {"type": "function", "name": rs.name}
            out["parallel_tool_calls"] = False
        else:
            if mode is Mode.JSON:
                out["text"] = {**(out.get("text") or {}), "format": {"type": "json_object"}}
            items.insert(0, {"role": "system", "content": _instructions(rs, mode)})
        out["input"] = items
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
            if reply.call is None:
                reply.call = event.output_index
            return event.delta if event.output_index == reply.call else None  # the first call only
        if kind == "response.refusal.delta":
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
