"""Partial objects: `Partial[T]` classes and the fast construction of their instances.

A partial instance is made without validation: every value in it is either closed-and-validated or an
open string/container, so validators have nothing to check yet (they run when the object closes).
"""

from __future__ import annotations

import copy
import datetime
import decimal
import enum
import uuid
from collections.abc import Callable
from typing import Any, Generic, TypeVar, get_args, get_origin

from pydantic import BaseModel

__all__ = [
    "Partial",
    "SharedSet",
    "forget_partial_class",
    "is_complete",
    "partial_class",
    "shown_before_arrival",
    "slot_setters",
]

T = TypeVar("T")

_classes: dict[type[BaseModel], type[BaseModel]] = {}


class SharedSet(set):  # type: ignore[type-arg]
    """The `model_fields_set` the stream puts in every partial object of a model (one set, to keep the
    snapshots cheap); a partial object's `model_fields_set` becomes a set of its own when first read."""

    __slots__ = ()


def _own_dict(obj: Any) -> dict[str, Any]:
    """Gives a partial object a copy of its `__dict__` (the stream then no longer refills it, see
    `__setattr__` below) and returns it."""
    d = dict(obj.__dict__)
    object.__setattr__(obj, "__dict__", d)
    return d


class _OwnFieldsSet:
    """`__pydantic_fields_set__` of partial classes: each partial object gets its own set, as pydantic
    gives each instance, when it is first read (or written through `model_fields_set`)."""

    __slots__ = ("slot",)

    def __init__(self, slot: Any) -> None:
        self.slot = slot  # BaseModel's own slot, which the core sets directly (see `slot_setters`)

    def __get__(self, obj: Any, cls: Any = None) -> Any:
        if obj is None:
            return self
        fields_set = self.slot.__get__(obj, cls)
        if type(fields_set) is SharedSet:
            fields_set = set(fields_set)
            _own_dict(obj)
            self.slot.__set__(obj, fields_set)
        return fields_set

    def __set__(self, obj: Any, value: Any) -> None:
        self.slot.__set__(obj, value)


class _FreshDefault:
    """A field whose value before it arrives is mutable (a default list, a default model, an empty
    list field...): the stream shows one `shared` object in every partial object of the model, and
    reading the field gives the partial object a value of its own first (`make()`: a new copy of the
    default, or a new call of its `default_factory`, as pydantic gives each instance). So a consumer who
    changes it changes neither later snapshots, nor other streams, nor the model's own default."""

    __slots__ = ("name", "shared", "make")

    def __init__(self, name: str, shared: Any, make: Callable[[], Any]) -> None:
        self.name = name
        self.shared = shared
        self.make = make

    def __get__(self, obj: Any, cls: Any = None) -> Any:
        if obj is None:  # the class has no attribute of that name (as pydantic leaves it)
            raise AttributeError(self.name)
        try:
            value = obj.__dict__[self.name]
        except KeyError:
            raise AttributeError(self.name) from None
        if value is self.shared:
            value = _own_dict(obj)[self.name] = self.make()
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.name] = value

    def __delete__(self, obj: Any) -> None:
        try:
            del obj.__dict__[self.name]
        except KeyError:
            raise AttributeError(self.name) from None


# Values a consumer cannot change in place: shown as they are, with no `_FreshDefault`.
_IMMUTABLE = (
    type(None), bool, int, float, complex, str, bytes, range, type, enum.Enum,
    decimal.Decimal, datetime.date, datetime.time, datetime.timedelta, datetime.timezone, uuid.UUID,
)  # fmt: skip


def _immutable(value: Any) -> bool:
    if isinstance(value, _IMMUTABLE):
        return True
    if type(value) in (tuple, frozenset):
        return all(_immutable(v) for v in value)
    return False


def shown_before_arrival(cls: type, name: str, value: Any, make: Callable[[], Any]) -> Any:
    """What field `name` of partial class `cls` shows before its value arrives: `value`, a fresh value
    of the field's (`make()`), if it cannot be changed in place; else the one object that partial
    objects share until they are read (see `_FreshDefault`)."""
    if _immutable(value):
        return value
    known = cls.__dict__.get(name)
    if isinstance(known, _FreshDefault):
        return known.shared
    setattr(cls, name, _FreshDefault(name, value, make))
    return value


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

    # `dict(p)` reads fields as attribute access does (see `_FreshDefault`).
    def __iter__(self) -> Any:
        cls: Any = type(self)
        model: Any = cls.__mro__[1]
        for name, value in model.__iter__(self):
            yield name, getattr(self, name) if isinstance(cls.__dict__.get(name), _FreshDefault) else value

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
        found.append(
            next(
                base.__dict__[name]
                for base in cls.__mro__
                if name in base.__dict__ and not isinstance(base.__dict__[name], _OwnFieldsSet)
            )
        )
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
            "__iter__": _PartialMixin.__iter__,
            **{name: None for name in annotations},
        }
        meta: Any = type(model)
        cls = meta(model.__name__, (model, _PartialMixin), ns)
        slot = next(
            base.__dict__["__pydantic_fields_set__"]
            for base in cls.__mro__
            if "__pydantic_fields_set__" in base.__dict__
        )
        cls.__pydantic_fields_set__ = _OwnFieldsSet(slot)  # type: ignore[assignment,unused-ignore]
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
