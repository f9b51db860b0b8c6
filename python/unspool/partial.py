"""Partial objects: `Partial[T]` classes and the fast construction of their instances.

A partial instance is made without validation: every value in it is either closed-and-validated or an
open string/container, so validators have nothing to check yet (they run when the object closes).
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar, get_args, get_origin

from pydantic import BaseModel

__all__ = ["Partial", "is_complete", "partial_class"]

T = TypeVar("T")

_classes: dict[type[BaseModel], type[BaseModel]] = {}
_new = object.__new__
_set_dict = BaseModel.__dict__["__dict__"].__set__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__


class _PartialMixin:
    """Marks partial classes; `_unspool_done` holds the names of fields whose value has closed."""

    __slots__ = ()


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
            **{name: None for name in annotations},
        }
        meta: Any = type(model)
        cls = meta(model.__name__, (model, _PartialMixin), ns)
        _classes[model] = cls
    return cls


def make_partial(cls: type[BaseModel], values: dict[str, Any], done: frozenset[str]) -> Any:
    """An instance of the partial class `cls` holding `values`, made without validation (~0.5 µs)."""
    obj = _new(cls)
    _set_dict(obj, values)
    _set_fields_set(obj, set(values))
    _set_extra(obj, None)
    _set_private(obj, None)
    cls._unspool_done.__set__(obj, done)  # type: ignore[attr-defined]
    return obj


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
    return field in obj._unspool_done  # type: ignore[attr-defined]
