"""Exceptions raised by unspool."""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "ContentFilterError",
    "IncompleteOutputError",
    "JSONDecodeError",
    "OutputLimitError",
    "RefusalError",
    "RetryError",
    "WireError",
]


class JSONDecodeError(json.JSONDecodeError):
    """The input cannot be JSON (or ended before the value did).

    ``pos`` counts characters (code points) from the start of all input fed, ``lineno`` and ``colno`` are
    1-based; ``byte_pos`` is the same place in bytes of UTF-8. ``excerpt`` (also ``doc``: the parser keeps no
    copy of the whole document) is the input just before the error and a little after it.
    """

    def __init__(
        self, msg: str, pos: int, lineno: int, colno: int, *, excerpt: str = "", byte_pos: int | None = None
    ) -> None:
        where = f"line {lineno} column {colno} (char {pos})"
        near = f" near {excerpt!r}" if excerpt else ""
        ValueError.__init__(self, f"{msg}: {where}{near}")
        self.msg = msg
        self.doc = excerpt
        self.pos = pos
        self.lineno = lineno
        self.colno = colno
        self.excerpt = excerpt
        self.byte_pos = pos if byte_pos is None else byte_pos

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild,
            (type(self), self.msg, self.pos, self.lineno, self.colno, self.excerpt, self.byte_pos),
        )


def _rebuild(
    cls: type[JSONDecodeError], msg: str, pos: int, lineno: int, colno: int, excerpt: str, byte_pos: int
) -> JSONDecodeError:
    return cls(msg, pos, lineno, colno, excerpt=excerpt, byte_pos=byte_pos)


class IncompleteOutputError(ValueError):
    """The output ended before its JSON value did (cut short, or the stream stopped).

    ``partial`` is the last partial object, ``text`` all text received, ``usage`` the token usage when the
    API reported it.
    """

    def __init__(self, message: str, *, partial: Any = None, text: str = "", usage: Any = None) -> None:
        super().__init__(message)
        self.partial = partial
        self.text = text
        self.usage = usage


class OutputLimitError(ValueError):
    """The output went past ``max_chars`` characters: nothing past the limit was read.

    ``limit`` is the limit, ``partial`` the last partial object, ``text`` the first ``limit`` characters.
    """

    def __init__(self, limit: int, *, partial: Any = None, text: str = "") -> None:
        super().__init__(
            f"the output is longer than max_chars={limit} characters (the first {limit} were read)"
        )
        self.limit = limit
        self.partial = partial
        self.text = text


class RefusalError(Exception):
    """The model refused to answer; ``refusal`` is its refusal text."""

    def __init__(self, refusal: str, *, usage: Any = None) -> None:
        super().__init__(f"the model refused: {refusal}")
        self.refusal = refusal
        self.usage = usage


class ContentFilterError(Exception):
    """The provider's content filter stopped the output; ``partial`` and ``text`` keep what arrived."""

    def __init__(self, message: str, *, partial: Any = None, text: str = "", usage: Any = None) -> None:
        super().__init__(message)
        self.partial = partial
        self.text = text
        self.usage = usage


class RetryError(Exception):
    """Every attempt failed; ``errors`` holds each attempt's error, in order, ``text`` the last output."""

    def __init__(
        self, errors: list[BaseException], *, partial: Any = None, text: str = "", usage: Any = None
    ):
        summary = "; ".join(
            f"attempt {i}: {type(e).__name__}: {str(e).splitlines()[0]}" for i, e in enumerate(errors, 1)
        )
        super().__init__(f"{len(errors)} attempts failed ({summary})")
        self.errors = errors
        self.partial = partial
        self.text = text
        self.usage = usage


class WireError(ValueError):
    """The stream's body could not be read as the API's Server-Sent Events (broken framing, invalid
    UTF-8, or an event the stream needs whose JSON is malformed); the message names it and where.
    ``partial`` and ``text`` keep what arrived before it."""

    def __init__(self, message: str, *, partial: Any = None, text: str = "", usage: Any = None) -> None:
        super().__init__(message)
        self.partial = partial
        self.text = text
        self.usage = usage
