"""The streaming engine: text chunks in, partial objects of the response model out.

It walks only the open path the core parser reports. Children that closed since the last chunk are
validated once, with their own type, and reused from then on; each snapshot is rebuilt along the open
path only, sharing every closed subtree with earlier snapshots.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter, ValidationError

from ._core import InnerFrame, ModelLevel, Parser, same_partial
from .errors import IncompleteOutputError
from .plan import (
    HIDDEN,
    MISSING,
    Frame,
    Level,
    ListNode,
    ModelNode,
    Node,
    UnionNode,
    Validation,
    compile_plan,
    holds_back,
    json_text,
)

__all__ = ["Engine"]

_TOUCHED: Any = (MISSING,)  # an open path no walk can match
_SNAPSHOT: Any = object()  # `_update`'s "the frames moved on: snapshot them"

# The deepest nesting `TypeAdapter(T).validate_json` takes: its JSON parser refuses a 202nd container
# inside 201 open ones ("Invalid JSON: recursion limit exceeded", a `json_invalid` ValidationError).
# The engine's parser stops there too (see `refused`), and `finish` raises pydantic's own error.
MAX_DEPTH = 201
_DEPTH_ERROR = f"Nesting deeper than max_depth={MAX_DEPTH}"
# Closing a subtree validates it recursively, a few Python frames per level: above this many levels
# the recursion limit is raised for the time it takes (see `_settle`), so deep values never raise
# RecursionError.
_DEEP = 60
_FRAMES_PER_LEVEL = 8


class Engine(Validation):
    """Feeds chunks to the core parser and keeps the partial object of `response_model` up to date."""

    def __init__(
        self,
        response_model: Any,
        *,
        lenient: bool = False,
        context: Any = None,
        strict: bool | None = None,
        max_depth: int | None = None,
    ) -> None:
        # No model: plain JSON values stream (and nothing is validated).
        self.response_model = Any if response_model is None else response_model
        if max_depth is not None and not 1 <= max_depth <= MAX_DEPTH:
            raise ValueError(
                f"max_depth must be from 1 to {MAX_DEPTH} (pydantic's JSON parser refuses deeper nesting), "
                f"not {max_depth}"
            )
        self.plan: Node = compile_plan(self.response_model)
        self._holds = holds_back(self.plan)  # whether any object of the plan has a NotNull field
        # Below pydantic's own limit, nesting past `max_depth` is bad input: `feed` raises
        # `JSONDecodeError` (see `refused`).
        self.parser = Parser(lenient=lenient, max_depth=max_depth or MAX_DEPTH)
        self._too_deep = False  # the text nests deeper than pydantic takes (see `refused`)
        self._raised = False  # the recursion limit is raised for a deep settle
        self._lenient = lenient
        self.errors: list[ValidationError] = []
        self.invalid: set[int] = set()
        self.context = context
        self.strict = strict
        self.frames: list[Frame] = []
        self._closed: dict[int, Frame] = {}
        self._parts: list[str | bytes] = []
        self._final: Any = MISSING
        # The core takes each chunk (`_step`): it snapshots the common case itself, and calls `_settle`
        # when the structure moved on.
        self.parser._hook(self._parts, self._settle, MISSING)
        # `feed(chunk)`: the new partial object, or MISSING if nothing visible changed.
        self.feed: Callable[[str | bytes], Any] = self.parser._step
        # The open path as last seen, its snapshot specs, and whether the open
        # string shows (and whether a NotNull object could hold the snapshot back).
        self._path: Any = None
        self._containers = -1  # the core's container count when the frames were last brought in line
        self._specs: list[Level] = []
        self._text = False
        self._may_hold = False
        # The open string's `max_length` (see `Node.max_length`), and what went past its limit while
        # open: hidden from then on, its error recorded once (see `_over_limit`).
        self._limit: int | None = None
        self._past: set[int] = set()  # ids of open lists and dicts
        self._past_text: Node | None = None  # the node of the open string
        self._bounded = False  # whether an open list or dict has a `max_length`
        self._restarts = 0  # lenient mode: the parser's false starts taken in (see `_restart`)

    @property
    def partial(self) -> Any:
        """The latest partial object (None before anything shows)."""
        return self.parser._partial

    @partial.setter
    def partial(self, value: Any) -> None:
        self.parser._partial = value

    @property
    def text(self) -> str:
        parts = self._parts
        if len(parts) == 1 and isinstance(parts[0], str):
            return parts[0]
        if all(isinstance(p, str) for p in parts):
            joined = "".join(p for p in parts if isinstance(p, str))
        else:  # bytes may cut a character: join before decoding
            raw = b"".join(p if isinstance(p, bytes) else p.encode() for p in parts)
            joined = raw.decode("utf-8", "replace")
        parts[:] = [joined]
        return joined

    # Validation: closing a child reuses its frame when it had one.
    def closed(self, node: Node, raw: Any) -> Any:
        if (node is self._past_text and type(raw) is str) or (self._past and id(raw) in self._past):
            # It went past its limit while open: hidden since, its error recorded then.
            self._past_text = None
            self._past.discard(id(raw))
            errors = len(self.errors)
            value = self._closed_value(node, raw)
            del self.errors[errors:]
            return HIDDEN if value is not HIDDEN else value
        return self._closed_value(node, raw)

    def _closed_value(self, node: Node, raw: Any) -> Any:
        frame = self._closed.pop(id(raw), None)
        if frame is None or frame.raw is not raw:
            frame = node.frame(raw, None) if type(raw) in (list, dict) else None
            if frame is None:
                return node.close(raw, self)
        if frame.node is node or not isinstance(node, UnionNode) or len(node.members) == 1:
            return frame.node.finish(frame, self)
        # A plain union streamed as the first member that fit the keys so far; the whole value is
        # the union's to decide, as pydantic's smart mode does (another member may fit it better).
        return node.close(raw, self)

    def refused(self, error: Exception) -> bool:
        """True if `error`, raised by `feed`, says the text nests deeper than pydantic's JSON parser takes:
        then nothing deeper is shown, later chunks are only kept as text, and `finish` raises pydantic's
        own error for the text (`ValidationError`, `json_invalid`), exactly as `validate_json` would."""
        if isinstance(error, ValueError) and str(getattr(error, "msg", "")).startswith(_DEPTH_ERROR):
            self._too_deep = True
        return self._too_deep

    def _settle(self) -> Any:
        """The structure moved on: takes in what closed; the new partial, or MISSING if it shows the same."""
        if self._lenient and self.parser.restarts != self._restarts:
            self._restart()
        levels = self.parser._containers - self._containers + len(self.frames)
        if levels > _DEEP and not self._raised:
            # What closed may be a deep subtree, validated recursively: room for it on the stack.
            limit = sys.getrecursionlimit()
            raised = limit + levels * _FRAMES_PER_LEVEL
            sys.setrecursionlimit(raised)
            self._raised = True
            try:
                return self._settle()
            finally:
                self._raised = False
                if sys.getrecursionlimit() == raised:  # (unless another thread changed it since)
                    sys.setrecursionlimit(limit)
        repeated = self.parser._take_repeated()
        if repeated:
            # A key came again in these dicts: its earlier member was removed and the later value
            # added at the end, so what was taken in is out of date. Their frames take every member in
            # again (rare: a closed container among them is validated again from its text).
            ids = {id(d) for d in repeated}
            for f in self.frames:
                if id(f.raw) in ids:
                    f.n = 0
                    f.done.clear()
                    f.open_key = MISSING
            self._path = _TOUCHED
        if self.parser._touched and self.frames:
            # The core moved the innermost frame on by itself (see `_fast`): its open member and specs
            # as recorded here are out of date, so they are remade.
            self._path = _TOUCHED
            self.frames[-1].open_key = MISSING
        snap = self._update()
        self.parser._follow(self._specs, self._text, self._may_hold, self._fast(), self._limit)
        if snap is _SNAPSHOT:  # built from the levels just handed over, read once
            snap = self.parser._snapshot(self._text)
        if snap is MISSING or snap is self.partial:
            return MISSING
        # A part that closed as it was shown changes nothing visible; but the final is yielded whenever
        # the last partial held partial objects (they become finished instances: `is_complete` changes).
        if same_partial(snap, self.partial, snap is self._final):
            return MISSING
        self.partial = snap
        return snap

    def _restart(self) -> None:
        """Lenient mode: the parser dropped a false start (a `{`/`[` of prose that was not JSON, see
        `Parser.restarts`) and its partial value with it. Everything taken in from it goes too (frames,
        validation errors, the partial shown: `partial` is None until a later candidate shows); what
        is open now, if anything, is walked afresh. (A discard is a structural change, so the core
        calls `_settle` for it.)"""
        self._restarts = self.parser.restarts
        self.frames = []
        self._closed.clear()
        self.errors.clear()
        self.invalid.clear()
        self._path = None
        self._containers = -1  # (over-counts the levels `_settle` makes room for: only room to spare)
        self._specs = []
        self._text = False
        self._may_hold = False
        self._limit = None
        self._past.clear()
        self._past_text = None
        self._bounded = False
        self.partial = None

    def _fast(self) -> InnerFrame | None:
        """The innermost frame, for the core to take in members that close in it as scalars by itself
        (calling `closed` for those that need validating)."""
        if self.strict or not self.frames:
            return None  # strict mode validates every value as JSON
        f = self.frames[-1]
        node = f.node
        if type(node) is ModelNode:
            return InnerFrame(f, f.raw, f.done, f.n, self.closed, fields=node.fast_fields)
        if type(node) is ListNode and node.max_length is None:  # (a bounded one is counted here)
            return InnerFrame(f, f.raw, f.done, f.n, self.closed, item=node.item_member)
        return None

    def _update(self) -> Any:
        parser = self.parser
        if parser.complete:
            for f in self.frames:
                self._closed[id(f.raw)] = f
            self.frames = []
            self._final = self.closed(self.plan, parser._value)
            self._closed.clear()
            self._text = False
            # A root that closed invalid itself is hidden: the last partial stays (`finish` raises).
            snap = self._final if self._final is not HIDDEN else MISSING
        else:
            path = parser.open_path
            if path is None:  # a top-level scalar still being read
                return MISSING
            root = parser._value
            self._walk(root, path)
            if self._limit is not None or self._bounded:
                self._over_limit(root, path)
            snap = _SNAPSHOT
        return snap

    def _walk(self, root: Any, path: tuple[Any, ...]) -> None:
        """Brings the frames and their specs in line with the open path, taking in what closed."""
        containers = self.parser._containers
        if containers != self._containers:
            # A container opened or closed: the frames themselves change.
            self._containers = containers
            self._rewalk(root, path)
            return
        # The same containers are open, so the frames are current and only their members moved on.
        frames = self.frames
        inner = len(frames) - 1  # path length of the innermost open container
        if path == self._path:
            # Same open value: only take in what closed inside the open containers.
            synced = False
            for k, kept in enumerate(frames):
                open_key = path[k] if k < len(path) else None
                if len(kept.raw) - (open_key is not None) > kept.n:
                    kept.node.sync(kept, open_key, self)
                    kept.specs = kept.node.specs(kept, open_key)
                    synced = True
            self._closed.clear()
            if synced:
                self._specs = [spec for f in frames for spec in f.specs]
            return
        depth = len(path)
        if self._path is None or inner < 0 or depth - inner not in (0, 1):
            self._rewalk(root, path)
            return
        f = frames[-1]
        key = path[-1] if depth > inner else None
        value = f.raw[key] if key is not None else None
        if type(value) in (dict, list):
            # An open container that had no frame: it can show now (a tagged union's tag just closed).
            self._rewalk(root, path)
            return
        # The innermost container moves on to its next member (the common slow case: a field ends, the
        # next one starts): a string, or nothing visible yet.
        self._path = path
        if len(f.raw) - (key is not None) > f.n:
            f.node.sync(f, key, self)
            self._closed.clear()
        cut = len(self._specs) - len(f.specs)
        f.open_key = key
        f.specs = f.node.specs(f, key)
        self._specs = self._specs[:cut] + f.specs
        child = f.node.child(f, key)
        self._text = type(value) is str and child.streams_text and child is not self._past_text
        self._limit = child.max_length if self._text else None

    def _rewalk(self, root: Any, path: tuple[Any, ...]) -> None:
        self._path = path
        old = self.frames
        frames: list[Frame] = []
        f: Frame | None
        node = self.plan
        raw = root
        depth = len(path)
        i = kept = 0
        while type(raw) in (dict, list):
            if self._past and id(raw) in self._past:
                break  # past its limit while open: hidden
            open_key = path[i] if i < depth else None
            f = old[i] if i < len(old) else None
            if f is None or f.raw is not raw:
                f = node.frame(raw, open_key)
                if f is None:  # not shown while open (an atom, or a union not yet decided)
                    break
            elif kept == i:
                kept += 1
            frames.append(f)
            if i >= depth:
                break
            node = f.node.child(f, open_key)
            raw = raw[open_key]
            i += 1
        # Old frames are kept only as a prefix (a container that changed starts a new branch): the rest
        # have closed, and their parents take them in below.
        for f in old[kept:]:
            self._closed[id(f.raw)] = f
        self.frames = frames
        for k in range(len(frames) - 1, -1, -1):
            f = frames[k]
            open_key = path[k] if k < depth else None
            synced = len(f.raw) - (open_key is not None) > f.n
            if synced:
                f.node.sync(f, open_key, self)
            if synced or open_key != f.open_key or open_key is None:
                f.open_key = open_key
                f.specs = f.node.specs(f, open_key)
        self._closed.clear()
        specs: list[Level] = []
        for f in frames:
            specs += f.specs
        self._specs = specs
        self._text = (
            type(raw) is str and len(frames) == depth and node.streams_text and node is not self._past_text
        )
        self._limit = node.max_length if self._text else None
        self._bounded = any(f.node.max_length is not None for f in frames)
        self._may_hold = self._holds and any(type(s) is ModelLevel and s.not_null for s in specs)

    def _over_limit(self, root: Any, path: tuple[Any, ...]) -> None:
        """Hides an open value that went past its `max_length`: invalid from now on, whatever follows.

        Its error (pydantic's own, for the value as it stands) is recorded at once, so `fail_fast` stops
        the stream now; when the value closes, it is not recorded again.
        """
        if self._text and self._limit is not None:
            f = self.frames[-1]
            key = path[len(self.frames) - 1]
            if len(f.raw[key]) > self._limit:
                node = f.node.child(f, key)
                self._record_past(node, f.raw[key])
                self._past_text = node
                self._text = False
                self._limit = None
        for f in self.frames:
            limit = f.node.max_length
            if limit is not None and type(f.raw) in (list, dict) and len(f.raw) > limit:
                self._record_past(f.node, f.raw)
                self._past.add(id(f.raw))
                self._rewalk(root, path)  # the frames stop above it
                return

    def _record_past(self, node: Node, value: Any) -> None:
        try:
            node.adapter.validate_json(json_text(value), strict=self.strict, context=self.context)
        except ValidationError as e:
            self.errors.append(e)

    def finish(self) -> Any:
        """Ends the input: the fully validated object, or raises (see `Stream.get_final_response`)."""
        if self._too_deep:
            # pydantic refuses the text as a whole: its own error (or, were it to take it, its value).
            text = self.text
            if self._lenient:  # pydantic reads the JSON value itself: from its first bracket to its last
                starts = [i for i in (text.find("{"), text.find("[")) if i >= 0]
                text = text[min(starts, default=0) : max(text.rfind("}"), text.rfind("]")) + 1 or None]
            adapter = TypeAdapter(self.response_model)
            self._final = adapter.validate_json(text, context=self.context, strict=self.strict)
            self._too_deep = False
            return self._final
        if self._final is MISSING:
            try:
                self.parser.finish()
            except ValueError as e:
                if self._lenient and self.parser.restarts and not self.parser.depth:
                    # Every `{`/`[` was a false start: the text holds no JSON value, and the error is
                    # where the longest one broke (as `feed` raised it before false starts were
                    # skipped), not an output cut short.
                    raise
                raise IncompleteOutputError(
                    f"the output ended before the JSON value did: {e}", partial=self.partial, text=self.text
                ) from e
            self._settle()
        if self.errors or self._final is MISSING or self._final is HIDDEN:
            # Exactly pydantic's error for the whole document, as `validate_json` words it.
            text = self.text if not self._lenient else json.dumps(self.parser._value)
            adapter = TypeAdapter(self.response_model)
            # Parts failed on their own yet the whole may validate (a union member chosen early):
            # then pydantic's value is the answer.
            self._final = adapter.validate_json(text, context=self.context, strict=self.strict)
            self.partial = self._final
            self.errors.clear()  # what failed was judged against a member the whole does not take
        return self._final
