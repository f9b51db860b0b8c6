from collections.abc import Callable
from typing import Any, final

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

def parse_partial(text: str | bytes, *, lenient: bool = False) -> Any: ...
def build_partial(
    specs: list[ModelLevel | ListLevel | DictLevel | RootModelLevel], child: Any | None
) -> Any: ...
def same_partial(a: Any, b: Any, /, exact: bool = False) -> bool: ...
def shortcuts() -> tuple[str, ...]: ...
def _first_room() -> int: ...
