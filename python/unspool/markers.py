"""Markers for `Annotated[...]` fields that change how a field streams."""

from __future__ import annotations

__all__ = ["Done", "NotNull"]


class _Marker:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"unspool.{self._name}"


Done = _Marker("Done")
"""`Annotated[X, Done]`: the field appears only once its whole value has arrived and validated."""

NotNull = _Marker("NotNull")
"""`Annotated[X, NotNull]`: the enclosing object is held back until this field has a value."""
