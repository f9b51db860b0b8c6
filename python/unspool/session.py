"""One structured OpenAI call: attempts, retries, outcomes (`Session`), driven by thin sync and async shells.

`Session` never does I/O. A shell opens the SDK's stream with `Session.begin()`, hands it every chunk or
event (`take`), and calls `end()` when the stream stops; the session decides whether to retry and what
the call's outcome is. Everything a shell holds is the SDK stream it has open.
"""

from __future__ import annotations

import ssl
import sys
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator
from types import TracebackType
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from ._core import WireReader
from .errors import (
    ContentFilterError,
    IncompleteOutputError,
    JSONDecodeError,
    RefusalError,
    RetryError,
    WireError,
)
from .plan import MISSING
from .schema import ResponseSchema, item_schema, response_schema
from .stream import Progress, same
from .wire import API, Calls, Mode, Reply, Wire

__all__ = ["AsyncStructuredStream", "Session", "StructuredStream"]

T = TypeVar("T")


# What a root shows before anything of it has arrived.
_NOTHING: tuple[Any, ...] = (None, [], {}, "")


class _Stop(Exception):
    """The attempt must stop now (bad JSON, or `fail_fast` and a part closed invalid)."""


def feedback(error: BaseException) -> str:
    """What the next attempt is told about the last one's output."""
    return (
        "Your previous answer was not valid for the requested schema:\n"
        f"{error}\n"
        "Answer again with the complete, corrected JSON."
    )


class Session:
    """The state of one call across its attempts; see the module docstring."""

    def __init__(
        self,
        api: API,
        mode: Mode | str,
        response_model: Any,
        kwargs: dict[str, Any],
        *,
        max_retries: int = 0,
        fail_fast: bool = False,
        min_interval: float | None = None,
        context: Any = None,
        strict: bool | None = None,
        each_call_is_item: bool = False,
        wire: Wire | str = Wire.RUST,
    ) -> None:
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, not {max_retries}")
        self.api = api
        self.mode = Mode(mode)
        # How a streamed body is read: its bytes by the core (`WireReader`), or the SDK's events.
        self.wire = Wire(wire)
        self.reader: Any = None
        # `each_call_is_item`: the request asks for one item per tool call (`schema` is the item's), and
        # the engine reads the calls' arguments joined into one array (see `wire.Calls`).
        self.each_call_is_item = bool(each_call_is_item)
        if self.each_call_is_item:
            if self.mode is not Mode.TOOLS:
                raise ValueError(
                    "each_call_is_item=True reads each tool call as one item of the list: it needs "
                    f'mode="tools", not mode="{self.mode.value}"'
                )
            self.schema: ResponseSchema = item_schema(response_model)
            self.enveloped = False
            self._model = response_model  # what the engine streams
        else:
            self.schema = response_schema(response_model)
            self.enveloped = self.schema.uses_envelope(self.mode)
            self._model = self.schema.model if self.enveloped else self.schema.root
        # Before anything of the root shows (an envelope's or the array's `[]`), nothing is worth a yield.
        self._hold_empty = self.enveloped or self.each_call_is_item
        self.kwargs = kwargs
        # A schema the mode cannot ask for (or a keyword that contradicts it) raises now, not on iteration.
        self.api.request(kwargs, self.schema, self.mode, False, self.each_call_is_item)
        self.max_retries = max_retries
        self.fail_fast = fail_fast
        self._progress_options: dict[str, Any] = {
            "min_interval": min_interval,
            "context": context,
            "strict": strict,
        }
        self.attempt = 0
        self.failures: list[BaseException] = []
        self.running = True
        self.reply = self._reply()
        self.progress: Progress[Any] = self._progress()
        self.outcome: BaseException | None = None
        self.final: Any = None
        self._failed: BaseException | None = None

    def _reply(self) -> Reply:
        return Reply(calls=Calls() if self.each_call_is_item else None)

    def _progress(self) -> Progress[Any]:
        return Progress(
            self._model,
            self.mode.lenient,
            unwrap=self.schema.unwrap if self.enveloped else same,
            list_level=1 if self.enveloped else 0,
            **self._progress_options,
        )

    # What the shells read.
    def show(self) -> Any:
        return self.progress._show(self.progress._engine.partial)

    def new_items(self) -> list[Any]:
        return self.progress._new_items()

    # The attempt's life.
    def begin(self, stream: bool) -> dict[str, Any]:
        """Starts the next attempt; returns the SDK `create` keywords for it."""
        self.attempt += 1
        if self.attempt > 1:
            given = self.progress._given
            self.progress = self._progress()
            self.progress._given = given  # `items()` gives each position once, across attempts
        self.reply = self._reply()
        self._failed = None
        use_reader = stream and self.wire is Wire.RUST
        self.reader = WireReader(self.api.wire_name) if use_reader else None  # type: ignore[arg-type]
        return self.api.request(self.kwargs, self.schema, self.mode, stream, self.each_call_is_item)

    def take(self, event: Any) -> bool:
        """One SDK chunk or event, or with the Rust wire the bytes of one network read; True if the
        partial object changed. Raises `_Stop` to end the attempt.

        Any other exception (a validator's own, raised through pydantic as `validate_json` raises it)
        ends the stream: `get_final_response()` raises it again, as `unspool.stream` does.
        """
        try:
            return self._take(event)
        except _Stop:
            raise
        except Exception as e:
            self._conclude(e)
            raise

    def _read(self, event: Any) -> str | None:
        reader = self.reader
        if reader is None:
            return self.api.read(event, self.reply, self.mode)
        try:
            items = reader.feed(event)
        except ValueError as e:
            raise WireError(f"the {self.api.name} stream could not be read: {e}", **self._kept()) from e
        return self.api.read_items(items, self.reply, self.mode) or None if items else None

    def _take(self, event: Any) -> bool:
        progress = self.progress
        try:
            text = self._read(event)
            if text is None:
                return False
            changed = progress._feed(text) is not MISSING
        except JSONDecodeError as e:
            self._failed = e
            raise _Stop from None
        if self.fail_fast and progress.errors:
            self._failed = progress.errors[0]
            raise _Stop
        if not changed:
            return False
        if self._hold_empty and progress._shown is None:
            # The root opened but shows nothing yet (`[]` of a list root): not worth a yield.
            partial = progress._engine.partial
            if (self.schema.unwrap(partial) if self.enveloped else partial) in _NOTHING:
                return False
        return progress._due()

    def take_whole(self, response: Any) -> None:
        """A non-streamed response, as one chunk."""
        try:
            text = self.api.read_whole(response, self.reply, self.mode)
            self.progress._feed(text)
        except JSONDecodeError as e:
            self._failed = e

    def end(self) -> bool:
        """The attempt's stream stopped: decides retry or outcome. True if the final state must be yielded."""
        reply, progress = self.reply, self.progress
        failure, show = self._failed, False
        if failure is None and self.reader is not None:
            try:
                self.reader.finish()  # a body that ended in an event it cannot read says so now
            except ValueError as e:
                error = WireError(f"the {self.api.name} stream could not be read: {e}", **self._kept())
                self._conclude(error)
                raise error from e
        if failure is None:
            if reply.refusal is not None:
                return self._conclude(RefusalError(reply.refusal, usage=reply.usage))
            if reply.finish_reason == "content_filter":
                message = "the provider's content filter stopped the output"
                return self._conclude(ContentFilterError(message, **self._kept()))
            try:
                if reply.calls is not None:
                    # The calls held back, and the array's `]` unless the output was cut short.
                    rest = reply.calls.close(complete=reply.finish_reason != "length")
                    if rest:
                        progress._feed(rest)
                show = progress._end()
            except JSONDecodeError as e:
                failure = e
            else:
                if isinstance(cut := progress._failure, IncompleteOutputError):
                    if reply.finish_reason == "length":
                        cut.args = (f"the output hit the token limit (finish_reason 'length'): {cut}",)
                    cut.partial, cut.usage = self._kept()["partial"], reply.usage
                    return self._conclude(cut)
                if progress._failure is None:
                    self.final = progress._final
                    self.running = False
                    return show
                failure = progress._failure  # a ValidationError: `_end` raises any other error
                if self.enveloped and isinstance(failure, ValidationError):
                    failure = self.schema.unwrap_error(failure)
        self.failures.append(failure)
        if self.attempt <= self.max_retries:
            self.kwargs = self.api.retry(self.kwargs, progress.text, feedback(failure))
            return False
        if isinstance(failure, JSONDecodeError) and not self.max_retries:
            self._conclude(failure)  # `get_final_response()` raises it again
            raise failure  # the stream itself was bad: raised from the iteration, as `unspool.stream` does
        if self.max_retries:
            failure = RetryError(self.failures, **self._kept())
        self._conclude(failure)
        return show

    def _kept(self) -> dict[str, Any]:
        engine = self.progress._engine
        partial = self.schema.unwrap(engine.partial) if self.enveloped else engine.partial
        return {"partial": partial, "text": self.progress.text, "usage": self.reply.usage}

    def _conclude(self, outcome: BaseException) -> bool:
        self.outcome = outcome
        self.running = False
        return False

    def abandon(self) -> None:
        """The caller stopped early (break, close, an exception): the output is incomplete."""
        if self.running:
            self._conclude(
                IncompleteOutputError("the stream was closed before the output was complete", **self._kept())
            )

    def result(self) -> Any:
        if self.outcome is not None:
            raise self.outcome
        return self.final


class _Shell(Generic[T]):
    """What both shells show of their session."""

    _session: Session

    @property
    def partial(self) -> Any:
        """The last partial object yielded."""
        return self._session.progress.partial

    @property
    def text(self) -> str:
        """All JSON text the current attempt received."""
        return self._session.progress.text

    @property
    def errors(self) -> list[Any]:
        """Validation errors of parts that closed invalid in the current attempt."""
        return self._session.progress.errors

    @property
    def usage(self) -> Any:
        """The token usage the API reported for the latest attempt (None until it does)."""
        return self._session.reply.usage

    @property
    def finish_reason(self) -> str | None:
        """Why the latest attempt's output ended: 'stop', 'length', 'content_filter', 'tool_calls', ..."""
        return self._session.reply.finish_reason

    @property
    def response_id(self) -> str | None:
        """The API's id of the latest attempt's response."""
        return self._session.reply.id

    @property
    def attempt(self) -> int:
        """Which attempt is streaming (1 for the first; 0 before the request is sent)."""
        return self._session.attempt


def _openai() -> Any:
    import openai

    return openai


def _transport_errors(response: Any) -> tuple[type[Exception], tuple[type[BaseException], ...]]:
    """The timeout and the transport errors of the HTTP library `response` comes from (the SDK's
    `httpx`, or its successor `httpx2`: both name them alike)."""
    lib = sys.modules[type(response).__module__.partition(".")[0]]
    return lib.TimeoutException, (lib.RequestError, ssl.SSLError)


class _Body:
    """A streamed body read as bytes, one piece per network read, for the core's `WireReader`. The SDK
    still sends the request (auth, retries, timeouts, status errors: `with_streaming_response`)."""

    def __init__(self, manager: Any) -> None:
        self._manager = manager
        self.response = manager.__enter__().http_response  # the httpx response
        self._reading: Any = None

    def __iter__(self) -> Iterator[bytes]:
        self._reading = self._read()
        return self._reading  # type: ignore[no-any-return]

    def _read(self) -> Iterator[bytes]:
        timeout, failed = _transport_errors(self.response)
        try:
            yield from self.response.iter_bytes()
        except timeout as e:  # what the SDK's own stream raises for these
            raise _openai().APITimeoutError(request=self.response.request) from e
        except failed as e:
            raise _openai().APIConnectionError(request=self.response.request) from e

    def close(self) -> None:
        if self._reading is not None:
            self._reading.close()
        self._manager.__exit__(None, None, None)


class _AsyncBody:
    """`_Body`, async."""

    def __init__(self, manager: Any, response: Any) -> None:
        self._manager = manager
        self.response = response
        self._reading: Any = None

    @classmethod
    async def open(cls, manager: Any) -> _AsyncBody:
        return cls(manager, (await manager.__aenter__()).http_response)

    def __aiter__(self) -> AsyncIterator[bytes]:
        # Kept, to be closed on this loop (an async generator left to the collector is closed later,
        # on whatever loop is running then, or not at all).
        self._reading = self._read()
        return self._reading  # type: ignore[no-any-return]

    async def _read(self) -> AsyncIterator[bytes]:
        timeout, failed = _transport_errors(self.response)
        try:
            async for data in self.response.aiter_bytes():
                yield data
        except timeout as e:
            raise _openai().APITimeoutError(request=self.response.request) from e
        except failed as e:
            raise _openai().APIConnectionError(request=self.response.request) from e

    async def close(self) -> None:
        if self._reading is not None:
            await self._reading.aclose()
        await self._manager.__aexit__(None, None, None)


class StructuredStream(_Shell[T]):
    """Iterate for partial objects; `get_final_response()` for the validated result.

    The request is sent on first iteration.
    """

    def __init__(self, create: Callable[..., Any], session: Session, raw: Callable[..., Any]) -> None:
        self._create = create
        self._raw = raw  # the SDK's `with_streaming_response.create`: its body's bytes, for `Wire.RUST`
        self._session = session
        self._http: Any = None
        self._live: Any = None  # the running loop, closed before another one starts

    def _run(self, every: bool) -> Generator[Any, None, None]:
        """Yields each partial to show; with `every`, also `None` after every other chunk."""
        s = self._session
        try:
            while s.running:
                if self._http is None:
                    kwargs = s.begin(stream=True)
                    if s.reader is not None:
                        self._http = _Body(self._raw(**kwargs))
                    else:
                        self._http = self._create(**kwargs)
                    s.reply.request = self._http.response.request
                take, show = s.take, s.show
                try:
                    for event in self._http:
                        if take(event):
                            yield show()
                        elif every:
                            yield None
                except _Stop:
                    pass
                self._close_http()
                if s.end():
                    yield s.progress.partial
        finally:
            self._close_http()
            s.abandon()

    def _close_http(self) -> None:
        http, self._http = self._http, None
        if http is not None:
            http.close()

    def _restart(self, every: bool) -> Generator[Any, None, None]:
        """A new loop over the stream, after closing the one left by an earlier `break`, if any."""
        if self._live is not None:
            self._live.close()
        run = self._live = self._run(every)
        return run

    def __iter__(self) -> Iterator[T]:
        run = self._restart(False)
        try:
            yield from run
        finally:
            run.close()  # a `break` closes the HTTP response now, not when the generator is collected

    def items(self) -> Iterator[Any]:
        """Each element of a list root, once, validated, as soon as it closes."""
        run = self._restart(True)
        try:
            for _ in run:
                yield from self._session.new_items()
        finally:
            run.close()
        yield from self._session.new_items()

    def get_final_response(self) -> T:
        """Consumes what is left and returns the fully validated object (or raises what went wrong)."""
        for _ in self:
            pass
        final: T = self._session.result()
        return final

    def close(self) -> None:
        """Closes the HTTP response now; the output counts as incomplete if it was."""
        self._close_http()
        self._session.abandon()

    def __enter__(self) -> StructuredStream[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncStructuredStream(_Shell[T]):
    """`async for` partial objects; `await get_final_response()` for the validated result."""

    def __init__(self, create: Callable[..., Any], session: Session, raw: Callable[..., Any]) -> None:
        self._create = create
        self._raw = raw  # the SDK's `with_streaming_response.create`: its body's bytes, for `Wire.RUST`
        self._session = session
        self._http: Any = None
        self._live: Any = None  # the running loop, closed before another one starts

    async def _run(self, every: bool) -> AsyncGenerator[Any, None]:
        """Yields each partial to show; with `every`, also `None` after every other chunk."""
        s = self._session
        try:
            while s.running:
                if self._http is None:
                    kwargs = s.begin(stream=True)
                    if s.reader is not None:
                        self._http = await _AsyncBody.open(self._raw(**kwargs))
                    else:
                        self._http = await self._create(**kwargs)
                    s.reply.request = self._http.response.request
                take, show = s.take, s.show
                try:
                    async for event in self._http:
                        if take(event):
                            yield show()
                        elif every:
                            yield None
                except _Stop:
                    pass
                await self._close_http()
                if s.end():
                    yield s.progress.partial
        finally:
            await self._close_http()
            s.abandon()

    async def _close_http(self) -> None:
        http, self._http = self._http, None
        if http is not None:
            await http.close()

    async def _restart(self, every: bool) -> AsyncGenerator[Any, None]:
        """A new loop over the stream; one left by a plain `break` is only closed when the event loop
        gets to it, so it is closed here first."""
        if self._live is not None:
            await self._live.aclose()
        run = self._live = self._run(every)
        return run

    async def __aiter__(self) -> AsyncIterator[T]:
        run = await self._restart(False)
        try:
            async for partial in run:
                yield partial
        finally:
            await run.aclose()

    async def items(self) -> AsyncIterator[Any]:
        """Each element of a list root, once, validated, as soon as it closes."""
        run = await self._restart(True)
        try:
            async for _ in run:
                for item in self._session.new_items():
                    yield item
        finally:
            await run.aclose()
        for item in self._session.new_items():
            yield item

    async def get_final_response(self) -> T:
        """Consumes what is left and returns the fully validated object (or raises what went wrong)."""
        async for _ in self:
            pass
        final: T = self._session.result()
        return final

    async def aclose(self) -> None:
        """Closes the HTTP response now; the output counts as incomplete if it was."""
        await self._close_http()
        self._session.abandon()

    async def __aenter__(self) -> AsyncStructuredStream[T]:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
