"""The streaming engine: text chunks in, partial objects of the response model out.

It walks only the open path the core parser reports. Children that closed since the last chunk are
validated once, with their own type, and reused from then on; each snapshot is rebuilt along the open
path only, sharing every closed subtree with earlier snapshots.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter, ValidationError

from ._core import Parser
from .errors import IncompleteOutputError
from .plan import MISSING, Frame, Node, Validation, compile_plan

__all__ = ["Engine"]


class Engine(Validation):
    """Feeds chunks to the core parser and keeps the partial object of `response_model` up to date."""

    def __init__(
        self, response_model: Any, *, lenient: bool = False, context: Any = None, strict: bool | None = None
    ) -> None:
        self.response_model = response_model
        self.plan: Node = compile_plan(response_model)
        self.parser = Parser(lenient=lenient)
        self.errors: list[ValidationError] = []
        self.invalid: set[int] = set()
        self.context = context
        self.strict = strict
        self.frames: list[Frame] = []
        self._closed: dict[int, Frame] = {}
        self._parts: list[str] = []
        self._final: Any = MISSING
        self.partial: Any = None

    @property
    def text(self) -> str:
        if len(self._parts) > 1:
            self._parts[:] = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    # Validation: closing a child reuses its frame when it had one.
    def closed(self, node: Node, raw: Any) -> Any:
        frame = self._closed.pop(id(raw), None)
        if frame is not None and frame.raw is raw:
            return frame.node.finish(frame, self)
        if type(raw) in (list, dict):
            frame = node.frame(raw, None)
            if frame is not None:
                return frame.node.finish(frame, self)
        return node.close(raw, self)

    def feed(self, chunk: str | bytes) -> bool:
        """Feeds one chunk; True if the partial object visibly changed (then see `partial`)."""
        self._parts.append(chunk if isinstance(chunk, str) else chunk.decode("utf-8", "replace"))
        if not self.parser.feed(chunk) or self._final is not MISSING:
            return False
        return self._update()

    def _update(self) -> bool:
        parser = self.parser
        root = parser.value
        if parser.complete:
            for f in self.frames:
                self._closed[id(f.raw)] = f
            self.frames = []
            self._final = self.closed(self.plan, root)
            self._closed.clear()
            snap = self._final
        else:
            path = parser.open_path
            if path is None:  # a top-level scalar still being read
                return False
            snap = self._walk(root, path)
            if snap is MISSING:
                snap = None
        if snap == self.partial and type(snap) is type(self.partial):
            return False
        self.partial = snap
        return True

    def _walk(self, root: Any, path: tuple[Any, ...]) -> Any:
        old = self.frames
        frames: list[Frame] = []
        node = self.plan
        raw = root
        depth = len(path)
        i = 0
        while type(raw) in (dict, list):
            open_key = path[i] if i < depth else None
            f = old[i] if i < len(old) else None
            if f is None or f.raw is not raw or (i and f.node is not node and not _same_kind(f, node)):
                f = node.frame(raw, open_key)
                if f is None:  # not shown while open (an atom, or a union not yet decided)
                    break
            frames.append(f)
            if i >= depth:
                break
            node = f.node.child(f, open_key)
            raw = raw[open_key]
            i += 1
        kept = {id(f) for f in frames}
        for f in old:
            if id(f) not in kept:
                self._closed[id(f.raw)] = f
        self.frames = frames
        for k in range(len(frames) - 1, -1, -1):
            frames[k].node.sync(frames[k], path[k] if k < depth else None, self)
        self._closed.clear()
        # Build the snapshot from the innermost open value out.
        if len(frames) == depth and depth and type(raw) is str:
            child = node.open_text(raw)
        elif not frames and type(raw) is str:
            child = node.open_text(raw)
        else:
            child = MISSING
        if len(frames) < depth and type(raw) is not str:
            child = MISSING
        for k in range(len(frames) - 1, -1, -1):
            f = frames[k]
            child = f.node.snapshot(f, path[k] if k < depth else None, child)
        return child

    def finish(self) -> Any:
        """Ends the input: the fully validated object, or raises (see `Stream.get_final_response`)."""
        if self._final is MISSING:
            try:
                self.parser.finish()
            except ValueError as e:
                raise IncompleteOutputError(
                    f"the output ended before the JSON value did: {e}", partial=self.partial, text=self.text
                ) from e
            self._update()
        if self.errors or self._final is MISSING:
            # Exactly pydantic's error for the whole document.
            TypeAdapter(self.response_model).validate_python(
                self.parser.value, context=self.context, strict=self.strict
            )
        return self._final


def _same_kind(frame: Frame, node: Node) -> bool:
    return getattr(frame.node, "inner", None) is node
