"""Helpers shared by the parser tests: exact typed equality, the "partial is a prefix" check, ways to cut
a document into chunks, and a small reference model of the partial-value contract.

The reference model (:func:`reference_partial`) is deliberately naive: it re-reads the whole prefix each
time and only has to handle *valid* strict JSON cut anywhere. It states the contract in code:

* a string is visible from its opening quote and shows every whole decoded character; an unfinished
  escape is not shown, and a high surrogate escape is not shown until the next character or escape is
  whole (it may still pair);
* a number is visible once something delimits it (never ``1`` of ``12``); at the top level it is not
  visible until then (``finish()`` completes it);
* ``true``/``false``/``null`` are visible once whole;
* a container is visible from its opening bracket; an object member appears when its value does;
* ``open_path`` is the path of the innermost visible value that is still open.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable, Iterator
from typing import Any

# ---------------------------------------------------------------------------------------------- equality


def same(a: Any, b: Any) -> bool:
    """Equality that also checks types (``1`` is not ``1.0`` nor ``True``), dict key order, float bits
    (``-0.0`` is not ``0.0``) and treats two NaNs as equal. Iterative, so deep nesting is fine."""
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        if type(x) is not type(y):
            return False
        if isinstance(x, float):
            if not (math.isnan(x) and math.isnan(y)) and struct.pack("<d", x) != struct.pack("<d", y):
                return False
        elif isinstance(x, (list, tuple)):
            if len(x) != len(y):
                return False
            stack.extend(zip(x, y, strict=True))
        elif isinstance(x, dict):
            if list(x) != list(y):
                return False
            stack.extend((x[k], y[k]) for k in x)
        elif x != y:
            return False
    return True


def assert_same(actual: Any, expected: Any, context: str = "") -> None:
    assert same(actual, expected), f"{context}\n  actual:   {actual!r}\n  expected: {expected!r}"


def is_prefix(partial: Any, final: Any) -> bool:
    """True if ``partial`` is what a parser may show of ``final`` part way through: strings are prefixes,
    containers hold the first members of the final one, all equal to the final ones except the last,
    which is itself a prefix; scalars are equal. (Meant for documents without duplicate keys: see
    :func:`has_duplicate_keys`.)"""
    if isinstance(partial, str):
        return type(final) is str and final.startswith(partial)
    if isinstance(partial, list):
        if type(final) is not list or len(partial) > len(final):
            return False
        if not partial:
            return True
        head = all(same(x, y) for x, y in zip(partial[:-1], final, strict=False))
        return head and is_prefix(partial[-1], final[len(partial) - 1])
    if isinstance(partial, dict):
        if type(final) is not dict or len(partial) > len(final):
            return False
        keys, final_keys = list(partial), list(final)
        if keys != final_keys[: len(keys)]:
            return False
        if not keys:
            return True
        head = all(same(partial[k], final[k]) for k in keys[:-1])
        return head and is_prefix(partial[keys[-1]], final[keys[-1]])
    return same(partial, final)


def has_duplicate_keys(doc: str | bytes) -> bool:
    """True if some object in the JSON ``doc`` repeats a key (then earlier values may be replaced)."""
    found = False

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal found
        found = found or len({k for k, _ in items}) != len(items)
        return dict(items)

    json.loads(doc, object_pairs_hook=pairs)
    return found


def is_root_prefix(partial: Any, final: Any) -> bool:
    """Like :func:`is_prefix`, but a root of ``None`` may also mean "nothing visible yet"."""
    return partial is None or is_prefix(partial, final)


# --------------------------------------------------------------------------------------------- chunking


def chunkings(text: str) -> Iterator[tuple[str, list[str | bytes]]]:
    """Ways to feed ``text``: whole (str and bytes), one character at a time, one byte at a time, and cut
    in two at every byte (as bytes)."""
    data = text.encode()
    yield "whole str", [text]
    yield "whole bytes", [data]
    yield "char by char", list(text)
    yield "byte by byte", [data[i : i + 1] for i in range(len(data))]
    for cut in range(1, len(data)):
        yield f"bytes cut at {cut}", [data[:cut], data[cut:]]


def basic_chunkings(text: str) -> Iterator[tuple[str, list[str | bytes]]]:
    """Whole, character by character and byte by byte (no two-way cuts)."""
    data = text.encode()
    yield "whole str", [text]
    yield "whole bytes", [data]
    yield "char by char", list(text)
    yield "byte by byte", [data[i : i + 1] for i in range(len(data))]


def decoded_prefix(data: bytes) -> str:
    """The text of a prefix of valid UTF-8, without a trailing partial character."""
    return data.decode("utf-8", errors="ignore")


# ------------------------------------------------------------------------------------- reference model

_WS = " \t\n\r"
_NUMBER_CHARS = frozenset("+-0123456789.eE")
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


class _End(Exception):
    """The prefix ended inside a token."""


class _Reference:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0
        self.root: Any = None
        self.open_path: tuple[Any, ...] | None = None
        self.complete = False

    def run(self) -> None:
        try:
            self.skip_ws()
            self.value(self.set_root, (), None)
            self.complete = True
        except _End:
            pass

    def set_root(self, v: Any) -> None:
        self.root = v

    def peek(self) -> str:
        if self.i >= len(self.s):
            raise _End
        return self.s[self.i]

    def skip_ws(self) -> None:
        while self.i < len(self.s) and self.s[self.i] in _WS:
            self.i += 1

    def value(
        self, put: Callable[[Any], None], path: tuple[Any, ...], parent: tuple[Any, ...] | None
    ) -> None:
        c = self.peek()
        if c == "{":
            self.i += 1
            d: dict[str, Any] = {}
            put(d)
            self.open_path = path
            self.skip_ws()
            if self.peek() == "}":
                self.i += 1
            else:
                while True:
                    self.skip_ws()
                    assert self.peek() == '"', self.s
                    self.i += 1
                    key = "".join(self.string_body([]))
                    self.skip_ws()
                    assert self.peek() == ":", self.s
                    self.i += 1
                    self.skip_ws()
                    self.value(lambda v, k=key: d.__setitem__(k, v), path + (key,), path)
                    self.skip_ws()
                    c = self.peek()
                    self.i += 1
                    if c == "}":
                        break
                    assert c == ",", self.s
        elif c == "[":
            self.i += 1
            lst: list[Any] = []
            put(lst)
            self.open_path = path
            self.skip_ws()
            if self.peek() == "]":
                self.i += 1
            else:
                while True:
                    self.skip_ws()
                    index = len(lst)

                    def put_item(v: Any, index: int = index) -> None:
                        if len(lst) == index:
                            lst.append(v)
                        else:
                            lst[index] = v

                    self.value(put_item, path + (index,), path)
                    self.skip_ws()
                    c = self.peek()
                    self.i += 1
                    if c == "]":
                        break
                    assert c == ",", self.s
        elif c == '"':
            self.i += 1
            self.open_path = path
            buf: list[str] = []
            put("")
            try:
                self.string_body(buf)
            finally:
                put("".join(buf))
        elif c in "-0123456789":
            j = self.i
            while j < len(self.s) and self.s[j] in _NUMBER_CHARS:
                j += 1
            if j == len(self.s):
                raise _End  # not delimited yet
            put(json.loads(self.s[self.i : j]))
            self.i = j
        else:
            for word, v in (("true", True), ("false", False), ("null", None)):
                if c == word[0]:
                    if self.i + len(word) > len(self.s):
                        raise _End
                    assert self.s[self.i : self.i + len(word)] == word, self.s
                    self.i += len(word)
                    put(v)
                    break
            else:
                raise AssertionError(f"reference model fed invalid JSON: {self.s!r}")
        self.open_path = parent

    def escape(self) -> str:
        """Reads the escape at ``self.i`` (a backslash), or raises :class:`_End` if it is not whole."""
        if self.i + 1 >= len(self.s):
            raise _End
        e = self.s[self.i + 1]
        if e == "u":
            if self.i + 6 > len(self.s):
                raise _End
            ch = chr(int(self.s[self.i + 2 : self.i + 6], 16))
            self.i += 6
            return ch
        self.i += 2
        return _ESCAPES[e]

    def string_body(self, buf: list[str]) -> list[str]:
        """Decodes a string after its opening quote into ``buf`` (whole characters only)."""
        pending = ""  # a high surrogate escape that may still pair
        while True:
            c = self.peek()
            if c == '"':
                self.i += 1
                buf.append(pending)
                return buf
            if c == "\\":
                ch = self.escape()
                if pending:
                    if "\udc00" <= ch <= "\udfff":
                        buf.append(chr(0x10000 + ((ord(pending) - 0xD800) << 10) + (ord(ch) - 0xDC00)))
                        pending = ""
                        continue
                    buf.append(pending)
                    pending = ""
                if "\ud800" <= ch <= "\udbff":
                    pending = ch
                else:
                    buf.append(ch)
            else:
                buf.append(pending)
                pending = ""
                buf.append(c)
                self.i += 1


def reference_partial(prefix: str) -> tuple[Any, tuple[Any, ...] | None, bool]:
    """``(value, open_path, complete)`` the contract requires after ``prefix`` of valid strict JSON."""
    r = _Reference(prefix)
    r.run()
    return r.root, (None if r.complete else r.open_path), r.complete
