from collections.abc import Callable
from typing import Any, Final, Literal, final

from pydantic import BaseModel

__all__ = [
    "HIDDEN",
    "LATER",
    "DictLevel",
    "InnerFrame",
    "ListLevel",
    "Member",
    "ModelLevel",
    "Parser",
    "RootModelLevel",
    "WireReader",
    "WireStreamError",
    "build_partial",
    "parse_partial",
    "same_partial",
    "shortcuts",
    "__version__",
]
__version__: str

# What `closed` returns for a member that closed invalid: `InnerFrame.take_in` leaves it out.
HIDDEN: object
# What `closed` returns for a member shown only once its object closes: `InnerFrame.take_in` leaves it out.
LATER: object

# The partial layer's records (see `unspool.plan`): one level of a snapshot's open path each, and the
# innermost frame the core takes scalar members in for. Checked when made (TypeError on a wrong type).
@final
class ModelLevel:
    def __new__(
        cls,
        model: type[BaseModel],
        shown: dict[str, Any],
        done: dict[str, Any],
        open_name: str | None,
        not_null: tuple[str, ...],
        fields_set: set[str],
        setters: tuple[Any, ...],
        marker: Any,
        /,
    ) -> ModelLevel: ...
    @property
    def cls(self) -> type[BaseModel]: ...
    @property
    def shown(self) -> dict[str, Any]: ...
    @property
    def done(self) -> dict[str, Any]: ...
    @property
    def open_name(self) -> str | None: ...
    @property
    def not_null(self) -> tuple[str, ...]: ...
    @property
    def fields_set(self) -> set[str]: ...
    @property
    def setters(self) -> tuple[Any, ...]: ...
    @property
    def marker(self) -> Any: ...

@final
class ListLevel:
    def __new__(cls, done: list[Any], /) -> ListLevel: ...
    @property
    def done(self) -> list[Any]: ...

@final
class DictLevel:
    def __new__(cls, done: dict[str, Any], open_key: Any, /) -> DictLevel: ...
    @property
    def done(self) -> dict[str, Any]: ...
    @property
    def open_key(self) -> Any: ...

@final
class RootModelLevel:
    def __new__(
        cls, model: type[BaseModel], fields_set: set[str], setters: tuple[Any, ...], /
    ) -> RootModelLevel: ...
    @property
    def cls(self) -> type[BaseModel]: ...
    @property
    def fields_set(self) -> set[str]: ...
    @property
    def setters(self) -> tuple[Any, ...]: ...

@final
class Member:
    def __new__(
        cls,
        name: str | None,
        as_is: tuple[type, ...],
        streams_text: bool,
        node: Any,
        /,
        limit: int | None = None,
    ) -> Member: ...
    @property
    def name(self) -> str | None: ...
    @property
    def as_is(self) -> tuple[type, ...]: ...
    @property
    def streams_text(self) -> bool: ...
    @property
    def limit(self) -> int | None: ...
    @property
    def node(self) -> Any: ...

@final
class InnerFrame:
    def __new__(
        cls,
        frame: Any,
        raw: dict[str, Any] | list[Any],
        done: dict[str, Any] | list[Any],
        n: int,
        closed: Callable[[Any, Any], Any],
        /,
        *,
        fields: dict[str, Member] | None = None,
        item: Member | None = None,
    ) -> InnerFrame: ...
    @property
    def frame(self) -> Any: ...
    @property
    def raw(self) -> dict[str, Any] | list[Any]: ...
    @property
    def done(self) -> dict[str, Any] | list[Any]: ...
    @property
    def n(self) -> int: ...
    @property
    def fields(self) -> dict[str, Member] | None: ...
    @property
    def item(self) -> Member | None: ...
    @property
    def closed(self) -> Callable[[Any, Any], Any]: ...
    def take_in(self, total: int, strict: bool) -> None: ...

@final
class Parser:
    """A resumable JSON parser that keeps the partial value as Python objects."""

    def __new__(cls, *, lenient: bool = False, max_depth: int = 1024) -> Parser: ...
    def feed(self, chunk: str | bytes, /) -> bool: ...
    def finish(self) -> Any: ...
    @property
    def value(self) -> Any: ...
    @property
    def open_path(self) -> tuple[str | int, ...] | None: ...
    @property
    def complete(self) -> bool: ...
    @property
    def depth(self) -> int: ...
    @property
    def restarts(self) -> int: ...
    # The partial layer's hooks (see `unspool.engine`); not part of the parser's public API.
    @property
    def _value(self) -> Any: ...
    @property
    def _containers(self) -> int: ...
    def _snapshot(self, text: bool) -> Any: ...
    def _hook(self, parts: list[str | bytes], settle: Callable[[], Any], unchanged: Any) -> None: ...
    def _follow(
        self,
        specs: list[ModelLevel | ListLevel | DictLevel | RootModelLevel],
        text: bool,
        hold: bool,
        fast: InnerFrame | None = None,
        limit: int | None = None,
    ) -> None: ...
    @property
    def _touched(self) -> bool: ...
    @property
    def _partial(self) -> Any: ...
    @_partial.setter
    def _partial(self, value: Any) -> None: ...
    def _step(self, chunk: str | bytes) -> Any: ...
    def _take_repeated(self) -> list[dict[str, Any]]: ...

class WireStreamError(ValueError):
    """The event stream is not what the OpenAI API sends: invalid UTF-8, or a needed event whose JSON is
    bad. The message says what and where; `byte_pos` is the stream offset of the bad byte, `event` the
    event's type (None for invalid UTF-8)."""

    byte_pos: int
    event: str | None

@final
class WireReader:
    """Reads an OpenAI event stream, Chat Completions (`"chat"`) or Responses (`"responses"`), fed as
    the bytes of each network read, into what a structured-output stream needs.

    `feed` returns the items of the events the read completes, in stream order, each a tuple whose
    first element is its kind:

    - `(TEXT, text)`: output text. Chat: choice 0's `delta.content`; Responses:
      `response.output_text.delta`.
    - `(ARGS, key, text)`: a piece of a function call's arguments. Chat: each of choice 0's
      `delta.tool_calls`, keyed by its `index`, and given with text `""` the first time a key appears
      (so the call is known before its arguments come); Responses: `response.function_call_arguments.delta`,
      keyed by its `output_index`.
    - `(ITEM, key, is_call)`: Responses `response.output_item.added`: its `output_index`, and whether
      it is a function call.
    - `(REFUSAL, text)`: refusal text (Chat `delta.refusal`; Responses `response.refusal.delta`).
    - `(FINISH, reason)`: why the output ended, in Chat's words. Chat: choice 0's `finish_reason` as
      sent (`"stop"`, `"length"`, `"content_filter"`, `"tool_calls"` when a function was called...);
      Responses: `"stop"` for `response.completed` (function calls too), and for
      `response.incomplete` `"length"` (`max_output_tokens`), `"content_filter"`, any other reason as
      sent, or `"incomplete"` without one.
    - `(ID, id)`: the response's id, when it differs from the last one given.
    - `(USAGE, json)`: the JSON text of a `usage` object (Chat: a chunk's, with
      `stream_options.include_usage`; Responses: the finished response's).
    - `(ERROR, message, body_json)`: an error the API reported in the stream, for which the SDK raises
      `APIError(message, request, body=json.loads(body_json))`. Chat: a chunk with an `error` member
      (body: that member); Responses: the `error` event (body: the whole event) and
      `response.failed` (body: `response.error`, or `"null"`; followed by `DONE`). Nothing after it is
      read.
    - `(DONE,)`: the end: Chat's `data: [DONE]`; Responses after `response.completed`, `.incomplete`
      or `.failed`. Nothing after it is read.

    Within one read, consecutive TEXT items are merged into one, and so are consecutive REFUSAL items
    and consecutive ARGS of one key. A lone surrogate escape in text (`"\ud83d"`) reads as U+FFFD.
    """

    TEXT: Final = 0
    ARGS: Final = 1
    ITEM: Final = 2
    REFUSAL: Final = 3
    FINISH: Final = 4
    ID: Final = 5
    USAGE: Final = 6
    ERROR: Final = 7
    DONE: Final = 8
    def __new__(cls, api: Literal["chat", "responses"], /) -> WireReader: ...
    def feed(self, data: bytes, /) -> list[tuple[Any, ...]]:
        """The items of the events this read completes (see the class). Bad input raises
        `WireStreamError`, unless items came before it in this read: they are returned, and the next call
        raises it."""
    def finish(self) -> None:
        """The end of the body. An event cut short is dropped, as the SDK drops it (`cut` tells);
        raises `WireStreamError` for bad input not raised yet. What is fed after it is not read."""
    @property
    def api(self) -> Literal["chat", "responses"]: ...
    @property
    def bytes_read(self) -> int: ...
    @property
    def ended(self) -> bool:
        """DONE or ERROR was read: the bytes after it are not."""
    @property
    def cut(self) -> bool:
        """`finish()` found the body cut inside an event."""

def parse_partial(text: str | bytes, *, lenient: bool = False) -> Any: ...
def build_partial(
    specs: list[ModelLevel | ListLevel | DictLevel | RootModelLevel], child: Any | None
) -> Any: ...
def same_partial(a: Any, b: Any, /, exact: bool = False) -> bool: ...
def shortcuts() -> tuple[str, ...]: ...
def _first_room() -> int: ...
