"""Partial objects: `Partial[T]` classes and the fast construction of their instances.

A partial instance is made without validation: every value in it is either closed-and-validated or an
open string/container, so validators have nothing to check yet (they run when the object closes).
"""

from __future__ import annotations

import copy
from typing import Any, Generic, TypeVar, get_args, get_origin

from pydantic import BaseModel

__all__ = ["Partial", "forget_partial_class", "is_complete", "partial_class", "slot_setters"]

T = TypeVar("T")

_classes: dict[type[BaseModel], type[BaseModel]] = {}


class _PartialMixin:
    """Marks partial classes; `_unspool_done` is `(done, n)`: the first `n` keys of `done` have closed."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        # Equal to anything of the same model that shows the same values, finished or partial (a
        # partial is a subclass, so Python asks it first even as `finished == partial`). Partials hold
        # no extra or private state; pydantic's general `__eq__` costs ~4x more, and the stream
        # compares every new snapshot with the last one.
        if not isinstance(other, type(self).__mro__[1]):
            return NotImplemented
        return bool(self.__dict__ == other.__dict__)

    __hash__ = None  # type: ignore[assignment]

    # The stream refills the objects of a snapshot nobody holds any more (see `snapshot.rs`), and it
    # takes the `__dict__` it filled to be unchanged. A change through an attribute first gives the
    # object a dict of its own, so the stream sees it and leaves the object alone.
    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, "__dict__", dict(self.__dict__))
        model: Any = type(self).__mro__[1]
        model.__setattr__(self, name, value)  # the model's own

    def __delattr__(self, name: str) -> None:
        object.__setattr__(self, "__dict__", dict(self.__dict__))
        model: Any = type(self).__mro__[1]
        model.__delattr__(self, name)

    # Copies (`copy.copy`, `copy.deepcopy`, `model_copy`) keep which fields have closed.
    def __copy__(self) -> Any:
        model: Any = type(self).__mro__[1]
        new = model.__copy__(self)
        object.__setattr__(new, "_unspool_done", self._unspool_done)  # type: ignore[attr-defined]
        return new

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Any:
        model: Any = type(self).__mro__[1]
        new = model.__deepcopy__(self, memo)
        done = copy.deepcopy(self._unspool_done, memo)  # type: ignore[attr-defined]
        object.__setattr__(new, "_unspool_done", done)
        return new


_SLOTS = (
    "__dict__",
    "__pydantic_fields_set__",
    "__pydantic_extra__",
    "__pydantic_private__",
    "_unspool_done",
)


def slot_setters(cls: type) -> tuple[Any, ...]:
    """The descriptors the core sets a partial instance's slots through (see `build_partial`)."""
    found = []
    for name in _SLOTS:
        found.append(next(base.__dict__[name] for base in cls.__mro__ if name in base.__dict__))
    return tuple(found)


def partial_class(model: type[BaseModel]) -> type[BaseModel]:
    """The partial class of `model`: a subclass whose fields all accept what streaming shows."""
    cls = _classes.get(model)
    if cls is None:
        annotations = {name: Any for name in model.model_fields}
        ns: dict[str, Any] = {
            "__slots__": ("_unspool_done",),
            "__annotations__": annotations,
            "__module__": model.__module__,
            "__qualname__": model.__qualname__,
            "__repr_name__": lambda self: model.__name__,
            "__eq__": _PartialMixin.__eq__,
            "__setattr__": _PartialMixin.__setattr__,
            "__delattr__": _PartialMixin.__delattr__,
            "__copy__": _PartialMixin.__copy__,
            "__deepcopy__": _PartialMixin.__deepcopy__,
            **{name: None for name in annotations},
        }
        meta: Any = type(model)
        cls = meta(model.__name__, (model, _PartialMixin), ns)
        _classes[model] = cls
    return cls


def forget_partial_class(model: type[BaseModel]) -> None:
    """Drops the cached partial class of `model` (see `plan.forget`)."""
    _classes.pop(model, None)


class Partial(Generic[T]):
    """`Partial[T]`: the type of what streaming `T` yields.

    For a model it is a subclass of the model (so `isinstance(p, T)` holds) whose repr reads like `T`'s;
    for `list[M]`, `dict[str, M]` and `Optional[M]` it maps over the item types.
    """

    def __class_getitem__(cls, item: Any) -> Any:
        if isinstance(item, type) and issubclass(item, BaseModel):
            return partial_class(item)
        origin, args = get_origin(item), get_args(item)
        if origin is not None and args:
            try:
                return origin[tuple(Partial.__class_getitem__(a) for a in args)]
            except TypeError:
                return item
        return item


def is_complete(obj: Any, field: str | None = None) -> bool:
    """Has this partial object (or one of its fields) closed? Values that are not partial objects are."""
    if not isinstance(obj, _PartialMixin):
        return True if field is None else not isinstance(getattr(obj, field, None), _PartialMixin)
    if field is None:
        return False
    done, n = obj._unspool_done  # type: ignore[attr-defined]
    return any(name == field for name, _ in zip(done, range(n), strict=False))
