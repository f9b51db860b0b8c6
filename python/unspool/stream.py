"""`unspool.stream` / `unspool.astream`: thin sync and async loops around one `Engine`."""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from .engine import Engine
from .errors import IncompleteOutputError, JSONDecodeError, OutputLimitError
from .plan import MISSING

__all__ = ["AsyncStream", "Progress", "Stream", "astream", "stream"]

T = TypeVar("T")


def same(value: Any) -> Any:
    """What `Progress` shows when nothing is unwrapped."""
    return value


class Progress(Generic[T]):
    """One stream's state beside its engine: pacing, the last yield, `items()` bookkeeping, the outcome.

    `unwrap` maps what the engine makes to what users see (the OpenAI layer streams non-object roots
    inside an envelope object); `list_level` is how deep the list that `items()` walks sits.
    """

    def __init__(
        self,
        response_model: Any,
        lenient: bool,
        min_interval: float | None,
        *,
        unwrap: Callable[[Any], Any] = same,
        list_level: int = 0,
        max_chars: int | None = None,
        **validation: Any,
    ) -> None:
        if max_chars is not None and max_chars < 0:
            raise ValueError(f"max_chars must be 0 or more, not {max_chars}")
        self._engine = Engine(response_model, lenient=lenient, **validation)
        self._min_interval = min_interval
        self._max_chars = max_chars
        self._chars = 0  # characters read so far (counted only with `max_chars`)
        self._unwrap = unwrap
        self._list_level = list_level
        self._last_yield = float("-inf")  # the first change always shows
        self._shown: Any = None  # the engine's partial last yielded (before `unwrap`)
        self._yielded: Any = None
        self._items_seen = 0
        self._given: set[int] = set()  # indices `items()` gave (shared by the attempts of one call)
        # Lenient mode: the engine's false starts seen here, and the indices given from the list now open
        # (a false start's are given again from the list that replaces it).
        self._restarts = 0
        self._given_here: set[int] = set()
        self._ended = False
        self._final: Any = None
        self._failure: Exception | None = None

    @property
    def text(self) -> str:
        """All text received so far."""
        return self._engine.text

    @property
    def partial(self) -> Any:
        """The last partial object yielded."""
        return self._yielded

    @property
    def errors(self) -> list[Any]:
        """Validation errors of parts that closed invalid (they stay visible unvalidated)."""
        return self._engine.errors

    def _stepper(self) -> Callable[[str | bytes], Any]:
        """What feeds a chunk and returns the partial to yield now (then pass it to `_show`), or MISSING."""
        if self._max_chars is not None:
            return self._capped
        if self._min_interval is None:
            return self._engine.feed  # the common case: no Python layer in between
        return self._paced

    def _capped(self, chunk: str | bytes) -> Any:
        """`feed` under `max_chars`: the part of `chunk` within the limit is read, then
        `OutputLimitError` is raised (and raised again by `get_final_response()`)."""
        assert self._max_chars is not None
        if self._failure is not None:
            raise self._failure
        n = _chars(chunk)
        room = self._max_chars - self._chars
        if n <= room:
            self._chars += n
            partial = self._engine.feed(chunk)
            return partial if partial is not MISSING and self._due() else MISSING
        if room > 0:
            self._engine.feed(_first_chars(chunk, room))
            self._chars += room
        self._ended = True
        self._show(self._engine.partial)  # what arrived within the limit is `partial`
        self._failure = OutputLimitError(self._max_chars, partial=self._yielded, text=self._engine.text)
        raise self._failure

    def _feed(self, chunk: str | bytes) -> Any:
        """`feed`, for the paths that are not per-token hot (`items()`, the OpenAI layer): text nested
        deeper than pydantic takes is kept, not raised (see `Engine.refused`)."""
        try:
            if self._max_chars is not None:
                return self._capped(chunk)
            return self._engine.feed(chunk)
        except JSONDecodeError as e:
            return self._refused(e)

    def _refused(self, error: JSONDecodeError) -> Any:
        """MISSING if `feed` raised `error` for text nested deeper than pydantic takes (kept, not
        raised: see `Engine.refused`); else raises it again."""
        if self._engine.refused(error):
            return MISSING
        raise error

    def _paced(self, chunk: str | bytes) -> Any:
        partial = self._engine.feed(chunk)
        return partial if partial is not MISSING and self._due() else MISSING

    def _due(self) -> bool:
        """Whether a change may show now, `min_interval` after the last one shown."""
        if self._min_interval is None:
            return True
        now = time.monotonic()
        if now - self._last_yield < self._min_interval:
            return False
        self._last_yield = now
        return True

    def _show(self, partial: Any) -> Any:
        """Takes the engine's `partial` as the one yielded, and returns it as users see it."""
        self._shown = partial
        self._yielded = self._unwrap(partial)
        return self._yielded

    def _end(self) -> bool:
        """Ends the input; True if the final state still has to be yielded (then see `partial`).

        A final validation error, or `IncompleteOutputError` (the chunks ended before the JSON value
        did), is kept for `get_final_response()`: iteration shows what arrived and ends normally.
        """
        self._ended = True
        try:
            self._final = self._unwrap(self._engine.finish())
        except (ValidationError, IncompleteOutputError) as e:
            self._failure = e
        except Exception as e:  # raised now, and again by every later `get_final_response()`
            self._failure = e
            raise
        partial = self._engine.partial
        if self._shown is partial and not (partial is None and self._failure is None):
            return False
        if partial is None and self._failure is not None:
            return False  # lenient mode: a false start was dropped and nothing valid replaced it
        # (A final value of None is yielded too: the engine never yields None before its end.)
        self._show(partial)
        return True

    def _result(self) -> Any:
        if not self._ended:
            self._end()
        if self._failure is not None:
            raise self._failure
        return self._final

    def _new_items(self) -> list[Any]:
        engine = self._engine
        if engine._restarts != self._restarts:
            # A false start was dropped (lenient mode): what it gave cannot be taken back, but the list
            # read now is another one, given from its start.
            self._restarts = engine._restarts
            self._items_seen = 0
            self._given -= self._given_here
            self._given_here.clear()
        final = engine._final
        level = self._list_level
        if final is not MISSING and isinstance(done := self._unwrap(final), list):
            pass
        elif len(engine.frames) > level and isinstance(engine.frames[level].done, list):
            done = engine.frames[level].done
        else:
            return []
        out = []
        for i in range(self._items_seen, len(done)):
            if id(done[i]) not in engine.invalid and i not in self._given:
                self._given.add(i)
                self._given_here.add(i)
                out.append(done[i])
        self._items_seen = len(done)
        return out


class Stream(Progress[T]):
    """Iterate for partial objects; `get_final_response()` for the validated result."""

    def __init__(self, chunks: Iterable[str | bytes], response_model: Any, **kw: Any) -> None:
        super().__init__(response_model, **kw)
        self._chunks = iter(chunks)

    def __iter__(self) -> Iterator[T]:
        step = self._stepper()
        for chunk in self._chunks:
            try:
                partial = step(chunk)
            except JSONDecodeError as e:
                partial = self._refused(e)
            if partial is not MISSING:
                # `_show(partial)` inlined (these streams unwrap nothing): a call per yield was ~5% of a
                # Catalog stream.
                self._shown = self._yielded = partial
                yield partial
        if not self._ended and self._end():
            yield self._yielded

    def items(self) -> Iterator[Any]:
        """Each element of a list root, once, validated, as soon as it closes."""
        for chunk in self._chunks:
            self._feed(chunk)
            yield from self._new_items()
        if not self._ended:
            self._end()
        yield from self._new_items()

    def get_final_response(self) -> T:
        """Consumes what is left and returns the fully validated object."""
        for _ in self:
            pass
        final: T = self._result()
        return final


class AsyncStream(Progress[T]):
    """`async for` partial objects; `await get_final_response()` for the validated result."""

    def __init__(self, chunks: AsyncIterable[str | bytes], response_model: Any, **kw: Any) -> None:
        super().__init__(response_model, **kw)
        self._chunks = chunks.__aiter__()

    async def __aiter__(self) -> AsyncIterator[T]:
        step = self._stepper()
        async for chunk in self._chunks:
            try:
                partial = step(chunk)
            except JSONDecodeError as e:
                partial = self._refused(e)
            if partial is not MISSING:
                # `_show(partial)` inlined (these streams unwrap nothing): a call per yield was ~5% of a
                # Catalog stream.
                self._shown = self._yielded = partial
                yield partial
        if not self._ended and self._end():
            yield self._yielded

    async def items(self) -> AsyncIterator[Any]:
        async for chunk in self._chunks:
            self._feed(chunk)
            for item in self._new_items():
                yield item
        if not self._ended:
            self._end()
        for item in self._new_items():
            yield item

    async def get_final_response(self) -> T:
        async for _ in self:
            pass
        final: T = self._result()
        return final


def stream(
    chunks: Iterable[str | bytes],
    response_model: Any = None,
    *,
    lenient: bool = False,
    min_interval: float | None = None,
    context: Any = None,
    strict: bool | None = None,
    max_depth: int | None = None,
    max_chars: int | None = None,
) -> Stream[Any]:
    """Partial objects of `response_model` from any iterable of text chunks."""
    return Stream(
        chunks,
        response_model,
        lenient=lenient,
        min_interval=min_interval,
        context=context,
        strict=strict,
        max_depth=max_depth,
        max_chars=max_chars,
    )


def astream(
    chunks: AsyncIterable[str | bytes],
    response_model: Any = None,
    *,
    lenient: bool = False,
    min_interval: float | None = None,
    context: Any = None,
    strict: bool | None = None,
    max_depth: int | None = None,
    max_chars: int | None = None,
) -> AsyncStream[Any]:
    """Like `stream`, from an async iterable of text chunks."""
    return AsyncStream(
        chunks,
        response_model,
        lenient=lenient,
        min_interval=min_interval,
        context=context,
        strict=strict,
        max_depth=max_depth,
        max_chars=max_chars,
    )


# UTF-8 continuation bytes: a bytes chunk has one character per byte that is not one of these.
_CONTINUATION = bytes(range(0x80, 0xC0))


def _chars(chunk: str | bytes) -> int:
    return len(chunk) if isinstance(chunk, str) else len(chunk.translate(None, _CONTINUATION))


def _first_chars(chunk: str | bytes, n: int) -> str | bytes:
    """The first `n` characters of `chunk` (of a bytes chunk: up to the start of its `n+1`th)."""
    if isinstance(chunk, str):
        return chunk[:n]
    starts = 0
    for i, b in enumerate(chunk):
        if not 0x80 <= b < 0xC0:
            if starts == n:
                return chunk[:i]
            starts += 1
    return chunk
