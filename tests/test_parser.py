"""The partial-value contract of ``unspool.Parser``, strict and lenient parsing, and errors.

Every example is fed whole and one character at a time, and where bytes matter, as bytes cut at every
byte: the result must not depend on where the chunks were cut.
"""

from __future__ import annotations

import codecs
import copy
import json
import os
import pickle
import sys
from typing import Any

import pytest
import unspool
from parser_helpers import (
    assert_same,
    basic_chunkings,
    chunkings,
    decoded_prefix,
    has_duplicate_keys,
    is_root_prefix,
    reference_partial,
    same,
)
from unspool import JSONDecodeError, Parser, parse_partial


def feed_all(chunks: list[str | bytes], **options: Any) -> Parser:
    p = Parser(**options)
    for chunk in chunks:
        p.feed(chunk)
    return p


def parse(chunks: list[str | bytes], **options: Any) -> Any:
    return feed_all(chunks, **options).finish()


def raised(chunks: list[str | bytes], **options: Any) -> JSONDecodeError:
    """Feeds ``chunks`` and finishes, expecting a JSONDecodeError along the way."""
    p = Parser(**options)
    with pytest.raises(JSONDecodeError) as info:
        for chunk in chunks:
            p.feed(chunk)
        p.finish()
    return info.value


# ------------------------------------------------------------------------------------ contract examples

# (prefix, value, open_path, complete)
EXAMPLES: list[tuple[str, Any, Any, bool]] = [
    # from the contract
    ('{"a": "hel', {"a": "hel"}, ("a",), False),
    ('{"a": tr', {}, (), False),
    ('{"a": true', {"a": True}, (), False),
    ('{"a": 12', {}, (), False),
    ('{"a": 12,', {"a": 12}, (), False),
    ("[1, 2", [1], (), False),
    ('{"a": [1, {"b": "he', {"a": [1, {"b": "he"}]}, ("a", 1, "b"), False),
    ('{"a": "\\ud83d', {"a": ""}, ("a",), False),
    ('{"a": {"b": 1}', {"a": {"b": 1}}, (), False),
    ("12", None, None, False),
    ("[1]", [1], None, True),
    # nothing visible yet
    ("", None, None, False),
    (" \n\t\r", None, None, False),
    ("tru", None, None, False),
    ("-", None, None, False),
    ("-1.5e", None, None, False),
    # containers appear at their opening bracket
    ("{", {}, (), False),
    ("[", [], (), False),
    ("[[", [[]], (0,), False),
    ("[[]", [[]], (), False),
    ("[[], {", [[], {}], (1,), False),
    ("[[1, [2, [3", [[1, [2, []]]], (0, 1, 1), False),
    # object members appear once the key is whole and the value has started or is whole
    ('{"a', {}, (), False),
    ('{"a"', {}, (), False),
    ('{"a":', {}, (), False),
    ('{"a": ', {}, (), False),
    ('{"a": "', {"a": ""}, ("a",), False),
    ('{"a": "x"', {"a": "x"}, (), False),
    ('{"a": [', {"a": []}, ("a",), False),
    ('{"a": {', {"a": {}}, ("a",), False),
    ('{"a": {}', {"a": {}}, (), False),
    ('{"a": {"b', {"a": {}}, ("a",), False),
    ('{"a": nul', {}, (), False),
    ('{"a": null', {"a": None}, (), False),
    ('{"a": false,', {"a": False}, (), False),
    ('{"a": 1, "b": fals', {"a": 1}, (), False),
    # numbers appear once delimited, never cut
    ('{"a": 12 ', {"a": 12}, (), False),
    ('{"a": 12}', {"a": 12}, None, True),
    ('{"a": -', {}, (), False),
    ('{"a": 1.', {}, (), False),
    ('{"a": 1.5e', {}, (), False),
    ('{"a": 1.5e+', {}, (), False),
    ('{"a": 1.5e+3', {}, (), False),
    ("[1.5e+3\n", [1500.0], (), False),
    ("[-0.0,", [-0.0], (), False),
    ("[-0,", [0], (), False),
    ("[1, 2]", [1, 2], None, True),
    ("[12345678901234567890123,", [12345678901234567890123], (), False),
    ("12 ", 12, None, True),
    ("-0.5\t", -0.5, None, True),
    # array elements likewise
    ('[1, "a', [1, "a"], (1,), False),
    ("[1, t", [1], (), False),
    ("[1, true", [1, True], (), False),
    ("[null", [None], (), False),
    # strings grow; cut escapes are held back
    ('"', "", (), False),
    ('"ab', "ab", (), False),
    ('"ab"', "ab", None, True),
    ('{"a": "x\\', {"a": "x"}, ("a",), False),
    ('{"a": "x\\u', {"a": "x"}, ("a",), False),
    ('{"a": "x\\u00', {"a": "x"}, ("a",), False),
    ('{"a": "x\\u00e', {"a": "x"}, ("a",), False),
    ('{"a": "x\\u00e9', {"a": "xé"}, ("a",), False),
    ('{"a": "x\\n', {"a": "x\n"}, ("a",), False),
    ('{"a": "x\\"', {"a": 'x"'}, ("a",), False),
    ('{"a": "\\ud83d\\', {"a": ""}, ("a",), False),
    ('{"a": "\\ud83d\\ude0', {"a": ""}, ("a",), False),
    ('{"a": "\\ud83d\\ude00', {"a": "😀"}, ("a",), False),
    ('{"a": "\\ud83dx', {"a": "\ud83dx"}, ("a",), False),
    ('{"a": "\\ud83d\\n', {"a": "\ud83d\n"}, ("a",), False),
    ('{"a": "\\ud83d"', {"a": "\ud83d"}, (), False),
    ('{"a": "\\ude00', {"a": "\ude00"}, ("a",), False),
    ('["é😀', ["é😀"], (0,), False),
    # literals at the top level
    ("true", True, None, True),
    ("null", None, None, True),
    ("false ", False, None, True),
    # duplicate keys: the last one wins
    ('{"a": 1, "a": "x', {"a": "x"}, ("a",), False),
    ('{"a": [1], "b": 2, "a": {', {"a": {}, "b": 2}, ("a",), False),
]


@pytest.mark.parametrize(("text", "value", "path", "complete"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_contract_examples(text: str, value: Any, path: Any, complete: bool) -> None:
    for how, chunks in chunkings(text):
        p = feed_all(chunks)
        assert_same(p.value, value, f"value of {text!r} fed {how}")
        assert_same(p.open_path, path, f"open_path of {text!r} fed {how}")
        assert p.complete is complete, f"complete of {text!r} fed {how}"
    assert_same(parse_partial(text), value, "parse_partial(str)")
    assert_same(parse_partial(text.encode()), value, "parse_partial(bytes)")


# (bytes prefix, value, open_path)
BYTE_EXAMPLES = [
    (b'{"a": "\xc3', {"a": ""}, ("a",)),
    (b'{"a": "x\xc3', {"a": "x"}, ("a",)),
    (b'{"a": "x\xc3\xa9', {"a": "xé"}, ("a",)),
    (b'["\xf0', [""], (0,)),
    (b'["\xf0\x9f', [""], (0,)),
    (b'["\xf0\x9f\x98', [""], (0,)),
    (b'["\xf0\x9f\x98\x80', ["😀"], (0,)),
    (b'["\xe4\xb8', [""], (0,)),
    (b'{"\xc3', {}, ()),
]


@pytest.mark.parametrize(("data", "value", "path"), BYTE_EXAMPLES, ids=[repr(e[0]) for e in BYTE_EXAMPLES])
def test_utf8_cut_in_bytes_is_held_back(data: bytes, value: Any, path: Any) -> None:
    for chunks in ([data], [data[i : i + 1] for i in range(len(data))]):
        p = feed_all(chunks)
        assert_same(p.value, value, repr(chunks))
        assert_same(p.open_path, path, repr(chunks))
    assert_same(parse_partial(data), value)


# ----------------------------------------------------------------- every prefix against a reference model

# Valid strict JSON documents; every prefix of each is checked against parser_helpers.reference_partial.
DOCUMENTS = [
    '{"a": "hello", "b": [1, 2.5, -3e2, true, false, null], "c": {"d": {}, "e": []}}',
    '[{"k": "v"}, [[]], "", 0, -0.0, 1E+2, 0.5e-3, "x\\"y\\\\z\\/w"]',
    '{"s": "a\\u00e9b\\ud83d\\ude00c\\ud83dd\\n\\t\\u0000", "t": "\\ude00\\ud83d", '
    '"u": "\\ud83d\\ud83d\\ude00"}',
    '{"é": "ü😀中", "😀": ["ñ", {"ß": "∑"}], "k\\u00e9y": "\\u4e2d"}',
    " \n\t[ 1 , 2 ,\r\n 3 , [ ] , { } ] \n",
    '"top-level string with \\u00e9, 😀 and \\ud83d\\ude00"',
    "123456789012345678901234567890 ",
    "-1.25e-7",
    "true",
    "null",
    '{"a": {"b": {"c": [[["deep", 1, {"x": null}]]]}}}',
    '{"a": 1, "b": 2, "a": [3, {"c": "d"}], "b": "e"}',
    '[[], {}, [[]], [{}], {"": ""}, [""], [0], [-0], [1.0]]',
    '{"long": "' + "abcdefghij" * 5 + '", "n": [9007199254740993, 1.7976931348623157e308, 5e-324]}',
]


def _check_against_reference(p: Parser, prefix: str, how: str) -> None:
    value, path, complete = reference_partial(prefix)
    assert_same(p.value, value, f"value after {prefix!r} ({how})")
    assert_same(p.open_path, path, f"open_path after {prefix!r} ({how})")
    assert p.complete is complete, f"complete after {prefix!r} ({how})"


class _Nothing:
    """Stands for "nothing visible yet" (a root of None may also be a visible null)."""


NOTHING = _Nothing()


def visible(p: Parser) -> Any:
    """A deep copy of what the parser shows, or NOTHING before anything is visible."""
    if p.open_path is None and not p.complete:
        return NOTHING
    return copy.deepcopy(p.value)


def one_at_a_time(doc: str, unit: str) -> list[tuple[str | bytes, str]]:
    """`doc` fed one character or one byte at a time: each piece and the text that is whole after it."""
    if unit == "char":
        return [(ch, doc[: i + 1]) for i, ch in enumerate(doc)]
    data = doc.encode()
    return [(data[i : i + 1], decoded_prefix(data[: i + 1])) for i in range(len(data))]


@pytest.mark.parametrize("unit", ["char", "byte"])
@pytest.mark.parametrize("doc", DOCUMENTS)
def test_every_prefix_one_at_a_time(doc: str, unit: str) -> None:
    p = Parser()
    shown: Any = NOTHING
    before = ""
    for piece, prefix in one_at_a_time(doc, unit):
        changed = p.feed(piece)
        _check_against_reference(p, prefix, f"{unit} by {unit}")
        now = visible(p)
        assert changed is (not same(shown, now)), f"feed({piece!r}) after {before!r} returned {changed}"
        shown, before = now, prefix
    assert_same(p.finish(), json.loads(doc))


@pytest.mark.parametrize("doc", DOCUMENTS)
def test_every_prefix_fed_whole(doc: str) -> None:
    data = doc.encode()
    for cut in range(len(data) + 1):
        prefix = decoded_prefix(data[:cut])
        p = Parser()
        p.feed(data[:cut])
        _check_against_reference(p, prefix, "bytes prefix whole")
        assert_same(parse_partial(data[:cut]), reference_partial(prefix)[0], f"parse_partial({data[:cut]!r})")


@pytest.mark.parametrize("doc", DOCUMENTS)
def test_values_only_grow(doc: str) -> None:
    final = json.loads(doc)
    has_duplicates = has_duplicate_keys(doc)
    for how, chunks in chunkings(doc):
        p = Parser()
        previous: Any = None
        for chunk in chunks:
            p.feed(chunk)
            now = copy.deepcopy(p.value)
            if not has_duplicates:
                assert is_root_prefix(now, final), f"{now!r} is not a prefix of {final!r} ({how})"
                assert is_root_prefix(previous, now), f"{previous!r} then {now!r} ({how})"
            previous = now
        assert_same(p.finish(), final, how)
        assert_same(p.value, final, how)


def test_closed_values_are_never_modified() -> None:
    p = Parser()
    p.feed('{"a": {"b": [1, 2], "c": "x"}, "d": [')
    a = p.value["a"]
    b = a["b"]
    snapshot = copy.deepcopy(a)
    root = p.value
    for chunk in ['{"e": 1}', ", ", '"str', 'ing"', "], ", '"f": {"b": [3]}', ', "g": "y"', "}"]:
        p.feed(chunk)
        assert p.value["a"] is a
        assert p.value["a"]["b"] is b
        assert same(a, snapshot)
    final = p.finish()
    assert final is root
    assert final["a"] is a and same(a, snapshot)
    assert same(final, {"a": {"b": [1, 2], "c": "x"}, "d": [{"e": 1}, "string"], "f": {"b": [3]}, "g": "y"})


def test_closed_value_replaced_by_duplicate_key_is_not_modified() -> None:
    p = Parser()
    p.feed('{"a": {"b": 1}, ')
    a = p.value["a"]
    p.feed('"a": {"b": 2, "c": 3}}')
    assert same(a, {"b": 1})
    assert same(p.finish(), {"a": {"b": 2, "c": 3}})


# ----------------------------------------------------------------------------------------------- changed


def test_changed() -> None:
    p = Parser()
    steps: list[tuple[str | bytes, bool]] = [
        ("", False),
        ("  \n", False),
        ("[", True),
        (" ", False),
        ("1", False),
        ("2", False),
        (",", True),
        (" ", False),
        ('"', True),
        ("a", True),
        ("\\", False),
        ("u00", False),
        ("e9", True),
        ("\\ud83d", False),
        ("\\ude00", True),
        ('"', False),
        (", tr", False),
        ("ue", True),
        (", [", True),
        ("]", False),
        (", ", False),
        (b'"\xc3', True),
        (b"\xa9", True),
        (b"\xe2\x82", False),
        (b"\xac", True),
        ('"', False),
        ("]", False),
        ("  ", False),
    ]
    for chunk, expected in steps:
        assert p.feed(chunk) is expected, f"feed({chunk!r}) -> value {p.value!r}"
    assert same(p.finish(), [12, "aé😀", True, [], "é€"])


def test_changed_is_a_reference_to_true_or_false_the_caller_owns() -> None:
    # `feed` returns `True`/`False` without calling into CPython to count the reference: each result
    # held must count once, and none may be left over (a miscount frees or leaks a singleton).
    p = Parser()
    p.feed('["')
    before = sys.getrefcount(True), sys.getrefcount(False)
    held = [p.feed("ab") for _ in range(500)] + [p.feed("") for _ in range(300)]
    during = sys.getrefcount(True) - before[0], sys.getrefcount(False) - before[1]
    # From 3.12, `True` and `False` are immortal and their counts do not move.
    assert during == ((0, 0) if sys.version_info >= (3, 12) else (500, 300))
    assert held[0] is True and held[-1] is False
    del held
    assert (sys.getrefcount(True), sys.getrefcount(False)) == before


def test_changed_without_reading_value() -> None:
    # `changed` must not depend on whether `value` was read in between.
    p = Parser()
    assert p.feed('{"a": "x') is True
    assert p.feed("y") is True
    assert p.feed("\\") is False
    assert p.feed("n") is True
    assert p.feed('"') is False
    assert p.feed("}") is False
    assert same(p.value, {"a": "xy\n"})


def test_value_is_current_after_every_feed_and_read_only() -> None:
    # `value` is read straight from the parser's slot: every feed leaves it current, and a value held
    # from before shows the open string as it was then (a `str` someone holds never changes).
    p = Parser()
    p.feed('{"a": "x')
    held = p.value["a"]
    p.feed("yz")
    assert p.value == {"a": "xyz"} and held == "x"
    p.feed('", "b": "')
    assert p.value == {"a": "xyz", "b": ""}
    with pytest.raises(AttributeError):
        p.value = {}  # type: ignore[misc]
    assert p.value == {"a": "xyz", "b": ""}


# ---------------------------------------------------------------------------- the open string's `str`
#
# While nothing but its container holds the open string's `str`, feeds grow it in place (see
# rust/python/live_str.rs). These tests take the places where that could show: each one fails if the
# `str` were changed while someone could see it.


def open_str(p: Parser) -> str:
    """The open string's `str`, found through `open_path` (never held by the test between feeds)."""
    value = p.value
    for step in p.open_path or ():
        value = value[step]
    assert isinstance(value, str)
    return value


def fresh(text: str) -> str:
    """An equal `str` that shares nothing with `text` (not even an interned copy)."""
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "surrogatepass")


def test_open_string_grows_in_place_while_nothing_else_holds_it() -> None:
    import sys

    # On where it was tested (CPython 3.10 to 3.13) unless UNSPOOL_PORTABLE turns it off; elsewhere
    # strings are made anew.
    grows = "grow_str" in unspool.shortcuts()
    tested = sys.implementation.name == "cpython" and sys.version_info < (3, 14)
    assert grows == (tested and not os.environ.get("UNSPOOL_PORTABLE"))
    for doc in ['{"a": "', '["x", "', '"', '{"a": ["', '{"a": "\\u00e9 ', '{"a": "\\ud83d\\ude00 ']:
        p = Parser()
        p.feed(doc + "hello")
        first = id(open_str(p))
        text = fresh(open_str(p))
        for piece in [" there", ", general", " kenobi"]:
            p.feed(piece)
            text += piece
            assert open_str(p) == text  # (hashing it here would cache a hash, which stops growth)
        assert (id(open_str(p)) == first) == grows, doc
        assert hash(open_str(p)) == hash(fresh(text))
        del text


@pytest.mark.parametrize("lead", ["", "é", "Ω", "😀"])
def test_ascii_pieces_of_every_size_grow_strings_of_every_kind(lead: str) -> None:
    # ASCII goes into a growing `str` a word at a time, widened to its kind (1, 2 or 4 bytes a
    # character); near the end of its room it goes one character at a time, past it into a new `str`.
    p = Parser()
    p.feed('{"a": "' + lead)
    text = lead
    for i in range(400):
        piece = "abcdefgh"[: 1 + i % 8]
        p.feed(piece)
        text += piece
        assert open_str(p) == fresh(text) and len(open_str(p)) == len(text), (lead, i)
    p.feed('"}')
    assert_same(p.value, {"a": fresh(text)})


KINDS = ["a", "\\u00e9", "\\u03a9", "\\ud83d\\ude00", "\\udc00"]
# The room a new growing `str` has past its text: the fills below go around its end.
ROOM = unspool._core._first_room()


@pytest.mark.parametrize("first", KINDS)
@pytest.mark.parametrize("then", KINDS)
@pytest.mark.parametrize("spares", [False, True])
def test_strings_widen_and_outgrow_their_room(first: str, then: str, spares: bool) -> None:
    # Characters too wide for the growing `str`'s kind, or more than its room, move it: into the
    # `str` a closed string of the new kind left (`spares`: one of each kind closes first, each
    # open across a feed so that it has one), else into a new one; either way its characters are
    # copied at the new width and only the new ones decoded. Every pair of kinds (a lone low
    # surrogate among them), the move at every fill around the end of the first room.
    for fill in (0, 1, 60, ROOM - 2, ROOM - 1, ROOM, ROOM + 1, 2 * ROOM - 1, 2 * ROOM, 2 * ROOM + 40):
        p = Parser()
        doc = '{"a": ['
        p.feed(doc)
        for kind in KINDS[:4] if spares else []:
            p.feed('"' + kind)
            p.feed('", ')
            doc += '"' + kind + '", '
        doc += '"' + first
        p.feed('"' + first)
        for piece in ["x" * fill, then, "yz", then * 3, "w" * ROOM, "\\u00e8" * 30, "v" * 9]:
            p.feed(piece)
            doc += piece
            expected = json.loads(doc + '"]}')["a"][-1]
            assert open_str(p) == expected and len(open_str(p)) == len(expected), (fill, piece)
        p.feed('"]}')
        assert_same(p.value, json.loads(doc + '"]}'))


def test_growing_strings_stay_inside_their_memory() -> None:
    # A full 8-character piece landing where the room ends once put the NUL after the text one
    # character past the `str`'s memory: values still compared equal, so only an allocator that
    # checks the bytes around each block sees it. Every kind, every fill around the end of the room.
    import subprocess
    import sys

    script = """
from unspool import Parser
from unspool._core import _first_room
room = _first_room()
for lead in ("", "\\u00e9", "\\u03a9", "\\U0001f600"):
    for fill in range(room - 28, room + 24):
        for size in range(1, 9):
            p = Parser()
            p.feed('["' + lead + "x" * fill)
            text = lead + "x" * fill
            for i in range(2 * room // size + 4):
                p.feed("abcdefgh"[:size])
                text += "abcdefgh"[:size]
            assert p.value == [text], (lead, fill, size)
            del p
# Moving into a wider kind, or more room, at every fill around the end of the first room.
# (with a spare of each kind left by a string that closed, each open across a feed, or none)
for before in ([], ["a", "\\u00e9", "\\u03a9", "\\U0001f600"]):
    for lead in ("", "\\u00e9", "\\u03a9"):
        for wide in ("\\u00e9", "\\u03a9", "\\U0001f600"):
            for fill in range(room - 8, room + 8):
                p = Parser()
                p.feed("[")
                for text in before:
                    p.feed('"' + text)
                    p.feed('", ')
                p.feed('"' + lead + "x" * fill)
                p.feed(wide)
                p.feed("abcdefgh" * 40)
                assert p.value[-1] == lead + "x" * fill + wide + "abcdefgh" * 40, (lead, wide, fill)
                del p
print("ok")
"""
    env = {**os.environ, "PYTHONMALLOC": "debug"}
    run = subprocess.run(
        [sys.executable, "-X", "dev", "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr[-2000:]


@pytest.mark.parametrize(
    ("doc", "grow"),
    [
        ('{"a": "', ["abc", " def", " ghi"]),
        ('[1, "', ["abc", "\\u00e9", "\\u03a9", "\\ud83d\\ude00", " x"]),
        ('"', ["caf", "\\u00e9", " \\ud800 ", "end"]),
        ('{"a": {"b": "\\u00e9', ["\\u00e8", "x" * 300, "y" * 1000]),
    ],
)
def test_a_held_open_string_never_changes(doc: str, grow: list[str]) -> None:
    p = Parser()
    p.feed(doc)
    held: list[tuple[str, str]] = []
    for piece in grow:
        p.feed(piece)
        s = open_str(p)
        held.append((s, fresh(s)))
        # (no hashing until the end: a cached hash alone would stop it growing in place)
        for h, copy_ in held:
            assert h == copy_ and len(h) == len(copy_)
    p.feed('"')
    for h, copy_ in held:
        assert h == copy_ and hash(h) == hash(copy_)
    assert_same(p.value, parse_partial(doc + "".join(grow) + '"'))


def test_an_open_string_whose_hash_was_taken_is_not_grown_in_place() -> None:
    p = Parser()
    p.feed('{"a": "abc')
    h = hash(open_str(p))  # CPython caches it in the `str`
    p.feed("def")
    assert open_str(p) == "abcdef" and hash(open_str(p)) == hash(fresh("abcdef")) != h


def test_an_interned_open_string_is_not_grown_in_place() -> None:
    # (interning hashes the string, so the hash check alone already stops this; the core checks both)
    import sys

    p = Parser()
    p.feed('{"a": "unspool interned probe')
    sys.intern(open_str(p))
    p.feed(" grown")
    assert open_str(p) == "unspool interned probe grown"
    assert sys.intern(fresh("unspool interned probe")) == "unspool interned probe"


def test_an_open_string_whose_utf8_form_was_cached_is_not_grown_in_place() -> None:
    import ctypes

    as_utf8 = ctypes.pythonapi.PyUnicode_AsUTF8
    as_utf8.argtypes = [ctypes.py_object]
    as_utf8.restype = ctypes.c_char_p
    p = Parser()
    p.feed('{"a": "\\u00e9t\\u00e9')  # not ASCII: the UTF-8 form is kept apart, once asked for
    assert as_utf8(open_str(p)) == "été".encode()
    p.feed(" chaud")
    assert as_utf8(open_str(p)) == "été chaud".encode()


@pytest.mark.skipif(
    not hasattr(__import__("ctypes").pythonapi, "PyUnicode_AsUnicode"),
    reason="the wchar_t form of a str was removed in Python 3.12",
)
def test_an_open_string_whose_wchar_form_was_cached_is_not_grown_in_place() -> None:
    import ctypes

    as_unicode = ctypes.pythonapi.PyUnicode_AsUnicode
    as_unicode.argtypes = [ctypes.py_object]
    as_unicode.restype = ctypes.c_void_p
    for start, more in [("abc", "def"), ("\\u00e9t\\u00e9", " chaud"), ("\\ud83d\\ude00 a", " b")]:
        p = Parser()
        p.feed('{"a": "' + start)
        before = open_str(p)
        assert ctypes.wstring_at(as_unicode(before)) == before
        del before
        p.feed(more)
        now = open_str(p)
        assert ctypes.wstring_at(as_unicode(now)) == now == json.loads('"' + start + more + '"')


def test_an_open_string_a_consumer_took_out_or_replaced_is_put_back() -> None:
    p = Parser()
    p.feed('{"a": "abc')
    taken = p.value.pop("a")
    p.feed("def")
    assert taken == "abc" and p.value == {"a": "abcdef"}
    p.value["a"] = "something else"
    p.feed("ghi")
    assert p.value == {"a": "abcdefghi"}
    p.feed('"}')
    assert p.finish() == {"a": "abcdefghi"} and taken == "abc"


@pytest.mark.parametrize("text", ["abc", "d\u00e9j\u00e0", "\u65e5\u672c", "go \U0001f680"])
def test_a_closed_string_is_a_new_exact_str_not_the_one_that_grew(text: str) -> None:
    # The open string's `str` has room to grow; the closed value is a copy of just its text, so no
    # value keeps that room (the grown one stays with the parser for the next string).
    p = Parser()
    p.feed('["' + text[:1])
    p.feed(text[1:])
    grown = id(open_str(p))
    p.feed('"')
    closed = p.value[0]
    assert closed == text and type(closed) is str and id(closed) != grown
    assert hash(closed) == hash(text) and closed.isascii() == text.isascii()
    p.feed("]")
    assert p.finish() == [text]


def test_an_open_string_a_consumer_took_out_of_a_list_is_put_back() -> None:
    p = Parser()
    p.feed('[1, "abc')
    taken = p.value.pop()
    p.feed("def")
    assert taken == "abc" and p.value == [1, "abcdef"]
    p.value.clear()
    p.feed('ghi", 2')
    assert p.value == ["abcdefghi"]
    p.feed("]")
    assert p.finish() == ["abcdefghi", 2] and taken == "abc"


def _take(d: dict[str, Any]) -> Any:
    return d.pop("a")


def _take_last(d: dict[str, Any]) -> Any:
    return d.popitem()[1]


def _replace(d: dict[str, Any]) -> Any:
    held = d["a"]
    d["a"] = "other"
    return held


def _update(d: dict[str, Any]) -> Any:
    held = d["a"]
    d.update(a="other")
    return held


def _merge(d: dict[str, Any]) -> Any:
    held = d["a"]
    d |= {"a": "other"}
    return held


def _delete(d: dict[str, Any]) -> Any:
    held = d["a"]
    del d["a"]
    return held


def _clear(d: dict[str, Any]) -> Any:
    held = d["a"]
    d.clear()
    return held


@pytest.mark.parametrize("change", [_take, _take_last, _replace, _update, _merge, _delete, _clear])
@pytest.mark.parametrize("head", ["ab", "d\u00e9", "\u65e5", "\U0001f680"])
def test_an_open_string_a_consumer_changed_its_dict_around_is_never_grown(change: Any, head: str) -> None:
    # Before the open string grows in place, the parser checks that its dict still holds it: any
    # change to the dict must be seen. A `str` the consumer holds must keep its text, and the dict
    # gets the whole string back.
    p = Parser()
    p.feed('{"a": "' + head)
    p.feed("c")
    p.feed("d")
    held = change(p.value)
    # Its characters, read without caching anything on it (a hash or a UTF-8 form would stop it
    # growing in place, and hide the bug this looks for).
    before = list(held)
    p.feed("e")
    p.feed("f")
    text = head + "cdef"
    assert list(held) == before and p.value["a"] == text
    p.feed('"}')
    assert p.finish()["a"] == text and list(held) == before


def _taker(p: Parser, taken: list[str]) -> object:
    """An object whose finalizer takes the string at "b" out of the parser's root dict, and adds a
    key so that the dict's size is as before."""

    class Taker:
        def __del__(self) -> None:
            taken.append(p.value.pop("b"))
            p.value["w"] = 0

    return Taker()


@pytest.mark.parametrize("head", ["xy", "x\u00e9", "\u65e5", "\U0001f680"])
def test_a_string_a_finalizer_takes_as_it_is_stored_is_never_grown(head: str) -> None:
    # A duplicate key's new string replaces the old value, whose finalizer runs after the store and
    # takes the new string out: the parser must see that, and never grow the one held.
    p = Parser()
    p.feed('{"b": {"k": 1}, "a": 2, "b": ')
    taken: list[str] = []
    p.value["b"]["t"] = _taker(p, taken)
    p.feed('"' + head)
    assert taken == [head]
    before = list(taken[0])
    p.feed("c")
    p.feed("d")
    assert list(taken[0]) == before and p.value == {"a": 2, "w": 0, "b": head + "cd"}
    p.feed('"}')
    assert p.finish() == {"a": 2, "w": 0, "b": head + "cd"} and list(taken[0]) == before


@pytest.mark.parametrize("head", ["xy", "\u65e5"])
def test_a_string_a_consumers_key_takes_as_it_is_stored_is_never_grown(head: str) -> None:
    # A key of the consumer's own, whose comparison runs Python code when the parser stores a new
    # member with the same hash: it puts that member in first, so the parser's store replaces it, and
    # the finalizer of what it replaced takes the new string out (the dict's size ends one up, as if
    # the store had only added it). The parser must not take the dict as still holding its string.
    taken: list[str] = []
    armed = [True]

    class Key(str):
        def __eq__(self, other: object) -> bool:
            if armed and other == "b":
                armed.clear()
                p.value["b"] = [_taker(p, taken)]
            return False

        def __hash__(self) -> int:
            return hash("b")

    def members() -> list[tuple[str, Any]]:
        return sorted((str(k), v) for k, v in p.value.items())

    p = Parser()
    p.feed('{"a": 1, ')
    p.value[Key("z")] = 0
    p.feed('"b": "' + head)
    assert taken == [head]
    before = list(taken[0])
    p.feed("c")
    p.feed("d")
    assert list(taken[0]) == before
    assert members() == [("a", 1), ("b", head + "cd"), ("w", 0), ("z", 0)]
    p.feed('"}')
    p.finish()
    assert members() == [("a", 1), ("b", head + "cd"), ("w", 0), ("z", 0)] and list(taken[0]) == before


def test_an_open_string_grows_on_when_a_consumer_adds_to_its_dict() -> None:
    p = Parser()
    p.feed('{"a": "ab')
    p.feed("c")
    p.value["z"] = 1
    p.value.setdefault("y", 2)
    p.feed("d")
    p.feed("e")
    assert p.value == {"a": "abcde", "z": 1, "y": 2}
    p.feed('"}')
    assert p.finish() == {"a": "abcde", "z": 1, "y": 2}


def test_an_open_string_held_past_its_close_is_never_reused() -> None:
    # The core reuses the `str` of a closed string for the next one, unless someone kept it.
    p = Parser()
    p.feed('["abc')
    held = open_str(p)
    p.feed('", "x')
    p.feed("yz")
    assert held == "abc" and p.value == ["abc", "xyz"]
    p.feed('", "q", "r')
    assert p.value == ["abc", "xyz", "q", "r"] and held == "abc"


def test_a_parser_re_entered_during_a_feed_raises_and_keeps_its_state() -> None:
    # Python code can run inside `feed`: here the finalizer of an object a consumer put in the live
    # dict, which the document's own "z" replaces. Feeding the same parser from there must raise,
    # and leave the parser whole.
    p = Parser()
    errors: list[BaseException] = []

    class FeedsTheParserWhenFreed:
        def __del__(self) -> None:
            try:
                p.feed("0")
            except RuntimeError as e:
                errors.append(e)

    p.feed('{"a": 1, ')
    p.value["z"] = FeedsTheParserWhenFreed()
    p.feed('"z": "x", "b": [1]}')
    assert len(errors) == 1 and "in use" in str(errors[0])
    assert p.finish() == {"a": 1, "z": "x", "b": [1]}


def test_a_short_string_kept_after_a_long_one_does_not_pin_its_room() -> None:
    import gc
    import tracemalloc

    tracemalloc.start()
    try:
        p = Parser()
        p.feed('["')
        for _ in range(100):
            p.feed("x" * 1000)
        p.feed('", "y')
        kept = open_str(p)
        p.feed('"]')
        assert len(p.finish()[0]) == 100_000
        del p
        gc.collect()
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert kept == "y" and held < 50_000


def test_text_before_an_error_in_the_same_chunk_is_kept() -> None:
    for bad, shown in [("lo world\x01", "hello world"), ("lo\\q", "hello"), ('lo", x', "hello")]:
        p = Parser()
        p.feed('{"a": "hel')
        with pytest.raises(JSONDecodeError):
            p.feed(bad)
        assert p.value == {"a": shown}, bad


def test_a_repeated_key_is_one_shared_str() -> None:
    # As json.loads does: the objects of a list share their keys' str objects.
    doc = '[{"name": 1, "ключ": 2}, {"name": 3, "ключ": 4}]'
    for value in (parse_partial(doc), fed_by_character(doc)):
        first, second = (list(d) for d in value)
        assert first == second == ["name", "ключ"]
        assert first[0] is second[0] and first[1] is second[1]


def fed_by_character(doc: str) -> Any:
    p = Parser()
    for ch in doc:
        p.feed(ch)
    return p.finish()


def test_keys_that_share_a_cache_slot_stay_apart() -> None:
    # Keys of one length whose first, middle and last bytes agree land in one slot of the key cache.
    keys = [f"a{c}xb" for c in "qrstuvwxyz"] + ["é" * 2, "é" * 20, "k" * 40, "k" * 41, "\ud800"]
    doc = json.dumps([{k: i} for i, k in enumerate(keys)] * 3)
    assert fed_by_character(doc) == json.loads(doc)
    assert parse_partial(doc) == json.loads(doc)


def test_parse_partial_returns_exact_strings() -> None:
    import sys

    text = parse_partial('{"a": "' + "x" * 50)["a"]
    assert sys.getsizeof(text) == sys.getsizeof(fresh(text))


def test_changed_when_whole_document_in_one_chunk() -> None:
    assert Parser().feed("[]") is True
    assert Parser().feed("12") is False
    assert Parser().feed("12 ") is True
    assert Parser().feed('""') is True


# ------------------------------------------------------------------------------------- strict: = json.loads

VALID = [
    "0",
    "-0",
    "-0.0",
    "0.0",
    "1",
    "-1",
    "1.5",
    "1E+2",
    "1e-2",
    "2.5E-3",
    "0e0",
    "123e65",
    "1e400",
    "-1e400",
    "1e-400",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "123456789012345678901234567890123456789",
    "1.7976931348623157e308",
    "5e-324",
    "0.1",
    "9007199254740993",
    "9007199254740993.0",
    "0.30000000000000004",
    "true",
    "false",
    "null",
    '""',
    '"\\u0000\\u001f\\"\\\\\\/\\b\\f\\n\\r\\t"',
    '"\\ud83d\\ude00"',
    '"\\ud83d"',
    '"\\ude00"',
    '"\\ud83dx"',
    '"\\ud83d\\ud83d\\ude00"',
    '"\\ude00\\ud83d"',
    '"\\uDBFF\\uDFFF"',
    '"é😀中\u2028\u2029\x7f"',
    '"' + "a" * 30 + "\\n" + "b" * 30 + "\\u00e9" + "c" * 30 + '"',
    '["' + "é" * 30 + '", "' + "😀" * 30 + '"]',
    "[]",
    "{}",
    " \t\n\r[ \t\n\r1 \t\n\r, \t\n\r{ \t\n\r} \t\n\r] \t\n\r",
    '{"a": 1, "b": 2, "a": 3}',
    '{"b": 1, "a": 2}',
    '{"": "", "\\u0000": 0, "😀": [null]}',
    '[1, 1.0, -0, -0.0, true, false, null, "1", [1], {"1": 1}]',
    '{"a": [{"b": [{"c": [{"d": [[[[[[[[[[]]]]]]]]]]}]}]}]}',
    '[{"id": 1, "tags": ["x", "y"], "price": 12.50, "ok": true}, '
    '{"id": 2, "tags": [], "price": 0, "ok": false}]',
]


@pytest.mark.parametrize("doc", VALID)
def test_strict_finish_equals_json_loads(doc: str) -> None:
    expected = json.loads(doc)
    for how, chunks in chunkings(doc):
        assert_same(parse(chunks), expected, f"{doc!r} fed {how}")


def test_top_level_number_completes_at_finish() -> None:
    for how, chunks in basic_chunkings("123"):
        p = feed_all(chunks)
        assert p.value is None and p.open_path is None and not p.complete, how
        assert_same(p.finish(), 123, how)
        assert p.complete, how
        assert p.open_path is None, how
        assert_same(p.value, 123, how)


def test_trailing_whitespace_after_value_is_fine() -> None:
    p = Parser()
    p.feed("[1]")
    assert p.complete
    assert p.feed("  \n\t\r ") is False
    assert same(p.finish(), [1])


INVALID_STRICT = [
    "NaN",
    "[NaN]",
    "Infinity",
    "-Infinity",
    "[-Infinity]",
    "[1,]",
    '{"a": 1,}',
    "[1] x",
    "[1] [2]",
    "1 2",
    '"a" "b"',
    "// comment\n[1]",
    "[1 /* c */]",
    "[1] // c",
    "# c\n[1]",
    '{"a" 1}',
    "{'a': 1}",
    "{a: 1}",
    "[01]",
    "[-01]",
    "[1.]",
    "[.5]",
    "[-]",
    "[1e]",
    "[1e+]",
    "[+1]",
    "[0x10]",
    "[1_000]",
    "[1.5.2]",
    "[--1]",
    '["a\x01"]',
    '["a\nb"]',
    '["a\tb"]',
    '["\\x"]',
    '["\\U0041"]',
    '["\\u12g4"]',
    '["\\u12"]',
    "[tru]",
    "[True]",
    "[nul]",
    "[nulll]",
    "[1,,2]",
    "[,1]",
    "{,}",
    '{"a":1 "b":2}',
    '{"a":1,,"b":2}',
    "[1}",
    '{"a": 1]',
    "]",
    "}",
    "",
    "   ",
    "[",
    "{",
    '{"a"',
    '{"a":',
    '"abc',
    '"abc\\',
    '"\\ud83d',
    "[1,",
    "-",
    "1.",
    "1e",
    "1e+",
    "tru",
    "[1, 2",
    '{"a": [1, {"b": "c"}',
    "\x00",
    "'a'",
    "[1]]",
    "[1x]",
    '[1"a"]',
    "[1true]",
    '{"a":1"b":2}',
    "[1 2]",
    "[0 1]",
    "[00]",
    "[-00]",
    "[1.e1]",
    "[-0.e1]",
    "[1e5.0]",
    "[1e5e5]",
    '["a" "b"]',
    "[1:2]",
    '{"a":1:2}',
    '{"a"::1}',
    "{1:1}",
    "{null:1}",
    '["\\u00"]',
    '"\\ud83d\\u"',
    '"\\ud83d\\uZ000"',
    '{"k": "' + "😀" * 20 + '\\q"}',
]


@pytest.mark.parametrize("doc", INVALID_STRICT)
def test_strict_rejects(doc: str) -> None:
    for how, chunks in chunkings(doc):
        e = raised(chunks)
        assert isinstance(e, json.JSONDecodeError) and isinstance(e, ValueError), how


# Prefixes of valid JSON: feeding must not raise, only finish() may.
ENDED_EARLY = [
    "",
    " ",
    "[",
    "{",
    '{"a"',
    '{"a":',
    '{"a": 1',
    '{"a": 1,',
    '"abc',
    '"abc\\',
    '"abc\\u00',
    '"\\ud83d',
    "[1,",
    "-",
    "1.",
    "1e",
    "1e+",
    "tru",
    "fals",
    "[1, 2",
    '{"a": [1, {"b": "c"}',
]


@pytest.mark.parametrize("doc", ENDED_EARLY)
def test_finish_raises_on_input_that_ended_early(doc: str) -> None:
    for how, chunks in basic_chunkings(doc):
        p = Parser()
        for chunk in chunks:
            p.feed(chunk)  # must not raise: this may still become JSON
        with pytest.raises(JSONDecodeError):
            p.finish()
        assert not p.complete, how


# ------------------------------------------------------------------------------------------------ errors

# Errors at a character json.loads also points at: (document, expected pos, lineno, colno from json).
POSITIONED = [
    '{"a": x',
    '{"a": x}',
    "[1, 2,, 3]",
    '{"a" 1}',
    '{"a": 1 "b": 2}',
    "[1] x",
    "[1]\n\n  x",
    "[01]",
    '["a\x01"]',
    '{\n  "a": [1,\n  x]}',
    '["é", x]',
    '["😀😀", x]',
    '["😀",\n "é", x]',
    "\n\n\n   }",
    '{"a": 1, 2}',
    '{"😀": 1, "b" x}',
    "[12x]",
    "[1.5x]",
    "[1 2]",
    "[true false]",
    '["' + "a" * 40 + '\x01"]',
    '["' + "é" * 30 + '\n"]',
]


def _json_error(doc: str) -> json.JSONDecodeError:
    with pytest.raises(json.JSONDecodeError) as info:
        json.loads(doc)
    return info.value


@pytest.mark.parametrize("doc", POSITIONED)
def test_error_position(doc: str) -> None:
    expected = _json_error(doc)
    for how, chunks in chunkings(doc):
        e = raised(chunks)
        where = f"{doc!r} fed {how}: {e}"
        assert (e.pos, e.lineno, e.colno) == (expected.pos, expected.lineno, expected.colno), where
        assert e.byte_pos == len(doc[: expected.pos].encode()), where
        assert doc[expected.pos] in e.excerpt, where
        assert e.msg and isinstance(e.msg, str), where
        assert e.doc == e.excerpt, where


@pytest.mark.parametrize("doc", POSITIONED)
def test_error_raised_by_the_feed_that_makes_it_invalid(doc: str) -> None:
    pos = _json_error(doc).pos
    p = Parser()
    for ch in doc[:pos]:
        p.feed(ch)
    with pytest.raises(JSONDecodeError):
        p.feed(doc[pos])


def test_error_raised_by_feed_not_finish() -> None:
    p = Parser()
    p.feed('{"a": [1, 2], "b": ')
    with pytest.raises(JSONDecodeError) as info:
        p.feed('x, "c": 3}')
    assert info.value.pos == 19


def test_error_is_sticky_and_value_is_kept() -> None:
    p = Parser()
    p.feed('{"a": [1, 2], "b": "text", "c": ')
    with pytest.raises(JSONDecodeError) as first:
        p.feed("x")
    for call in (lambda: p.feed("1}"), lambda: p.feed(b"1}"), lambda: p.feed(""), p.finish, p.finish):
        with pytest.raises(JSONDecodeError) as again:
            call()
        assert (again.value.msg, again.value.pos, again.value.byte_pos) == (
            first.value.msg,
            first.value.pos,
            first.value.byte_pos,
        )
    assert same(p.value, {"a": [1, 2], "b": "text"})


def test_error_in_open_string_keeps_value() -> None:
    p = Parser()
    p.feed('["ok", "partial')
    with pytest.raises(JSONDecodeError):
        p.feed("\\q")
    assert same(p.value, ["ok", "partial"])
    with pytest.raises(JSONDecodeError):
        p.finish()


def test_finish_error_is_sticky() -> None:
    p = Parser()
    p.feed("[1, 2")
    with pytest.raises(JSONDecodeError) as first:
        p.finish()
    with pytest.raises(JSONDecodeError) as again:
        p.finish()
    assert again.value.msg == first.value.msg
    assert same(p.value, [1])


def test_error_is_a_json_decode_error() -> None:
    assert issubclass(unspool.JSONDecodeError, json.JSONDecodeError)
    with pytest.raises(json.JSONDecodeError):
        Parser().feed("[x")
    with pytest.raises(ValueError):
        Parser().feed("[x")


def test_error_fields() -> None:
    e = raised(['{\n  "key": [1, 2, x]}'])
    assert (e.pos, e.lineno, e.colno, e.byte_pos) == (18, 2, 17, 18)
    assert "2, x" in e.excerpt
    assert str(e)


def test_excerpt_shows_input_before_the_error() -> None:
    doc = '{"key": "value", "list": [1, 2, x]}'
    for how, chunks in basic_chunkings(doc):
        e = raised(chunks)
        assert "[1, 2, x" in e.excerpt, (how, e.excerpt)


@pytest.mark.parametrize("filler", ["a", "é", "中", "😀"])
@pytest.mark.parametrize("where", ["before", "after"])
def test_excerpt_is_a_piece_of_the_input(filler: str, where: str) -> None:
    # Whatever the chunking, the excerpt is text from the input, never half a character.
    doc = '["' + filler * 40 + '", x]' if where == "before" else '[x, "' + filler * 40 + '"]'
    for how, chunks in basic_chunkings(doc):
        e = raised(chunks)
        assert e.excerpt in doc, (how, e.excerpt)
        assert "x" in e.excerpt, (how, e.excerpt)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_error_pickles(protocol: int) -> None:
    e = raised(['{"é": [1, 2],\n "b": x}'])
    back = pickle.loads(pickle.dumps(e, protocol=protocol))
    assert type(back) is JSONDecodeError
    assert (back.msg, back.pos, back.lineno, back.colno, back.byte_pos, back.excerpt, back.doc) == (
        e.msg,
        e.pos,
        e.lineno,
        e.colno,
        e.byte_pos,
        e.excerpt,
        e.doc,
    )
    assert str(back) == str(e)
    assert back.args == e.args


def test_error_constructed_by_hand_pickles() -> None:
    e = JSONDecodeError("Boom", 3, 1, 4, excerpt="abcdef", byte_pos=5)
    back = pickle.loads(pickle.dumps(e))
    assert (back.msg, back.pos, back.lineno, back.colno, back.byte_pos, back.excerpt) == (
        "Boom",
        3,
        1,
        4,
        5,
        "abcdef",
    )
    assert str(back) == str(e)


# Invalid UTF-8: byte_pos is where Python's own decoder says the bad sequence starts.
INVALID_UTF8 = [
    b'["ab\xffcd"]',
    b'["\xc3\xa9\xff"]',
    b'["\xe2\x82x"]',
    b'["\xe2\x82\xe2\x82\xac"]',
    b'["\xc0\xaf"]',
    b'["\xed\xa0\x80"]',
    b'["\xf4\x90\x80\x80"]',
    b'["\x80"]',
    b'["\xf0\x9f\x98\x80\xfe"]',
    b"[1, \xff]",
    b"\xff[]",
    b'{"\xc3\x28": 1}',
]


@pytest.mark.parametrize("data", INVALID_UTF8, ids=repr)
def test_invalid_utf8(data: bytes) -> None:
    with pytest.raises(UnicodeDecodeError) as info:
        data.decode("utf-8")
    bad = info.value.start
    ways = [[data], [data[i : i + 1] for i in range(len(data))]] + [
        [data[:c], data[c:]] for c in range(1, len(data))
    ]
    for chunks in ways:
        e = raised(chunks)
        assert e.byte_pos == bad, f"{chunks!r}: {e}"
        assert e.pos == len(data[:bad].decode()), f"{chunks!r}: {e}"
    # Fed byte by byte, the error comes as soon as the bytes cannot be UTF-8: no later than Python's
    # (lax) incremental decoder notices, and not before the bad sequence starts.
    decoder = codecs.getincrementaldecoder("utf-8")()
    python_notices = next(i for i in range(len(data)) if _fails(decoder.decode, data[i : i + 1]))
    p = Parser()
    raised_at = None
    for i in range(len(data)):
        try:
            p.feed(data[i : i + 1])
        except JSONDecodeError:
            raised_at = i
            break
    assert raised_at is not None and bad <= raised_at <= python_notices, (raised_at, bad, python_notices)


def _fails(f: Any, arg: Any) -> bool:
    try:
        f(arg)
    except ValueError:
        return True
    return False


@pytest.mark.parametrize("data", [b'["\xe2\x82', b'"\xc3', b'["a", "\xf0\x9f\x98'], ids=repr)
def test_input_ending_inside_a_utf8_sequence(data: bytes) -> None:
    for chunks in ([data], [data[i : i + 1] for i in range(len(data))]):
        p = Parser()
        for chunk in chunks:
            p.feed(chunk)
        with pytest.raises(JSONDecodeError):
            p.finish()


class Text(str):
    """A `str` subclass: its characters live apart from the object, unlike a plain `str`'s."""


@pytest.mark.parametrize(
    "doc", ['{"a": "hé", "b": [1, "x"]}', '["plain ascii", 12]', '{"é Ω 😀": ["ÿ", "\\u00e9 Ωé 😀Ω"]}']
)
@pytest.mark.parametrize("size", [1, 2, 3, 7])
def test_feed_reads_any_str(doc: str, size: int) -> None:
    # A plain `str` chunk is read straight from the object, ASCII as it is and any other kind
    # encoded on the way; a subclass goes through the public API. All give the same value.
    for make in (str, Text, lambda c: Text(c).encode()):
        p = Parser()
        for i in range(0, len(doc), size):
            p.feed(make(doc[i : i + size]))
        assert p.finish() == json.loads(doc), make


@pytest.mark.parametrize("size", [4095, 4096, 4097, 20000])
def test_feed_reads_long_non_ascii_chunks(size: int) -> None:
    # Up to 4,096 characters a chunk is encoded by the core into room it keeps; a longer one goes
    # through the public API, so that one huge chunk does not pin its size for the parser's life.
    for lead in ("é", "Ω", "😀"):
        text = (lead + "ab") * (size // 3) + lead * (size % 3)
        p = Parser()
        p.feed('{"k": ["')
        p.feed(text)
        p.feed(text[::-1] + '"]}')
        assert p.finish() == {"k": [text + text[::-1]]}


@pytest.mark.parametrize("bad", ["\ud800", "é\udfff", "Ω\ud83d", "😀\udc00x", Text("\ud800")])
def test_a_str_chunk_with_a_lone_surrogate_is_refused_whole(bad: str) -> None:
    # It has no UTF-8 form: the chunk is refused as the `str` would refuse `encode()`, and the
    # parser goes on as if it had never been fed.
    p = Parser()
    p.feed('["a')
    with pytest.raises(UnicodeEncodeError):
        p.feed(bad)
    assert p.value == ["a"]
    p.feed('b"]')
    assert p.finish() == ["ab"]


@pytest.mark.parametrize("bad", [1, 1.5, None, ["[]"], {"a": 1}, object()])
def test_feed_rejects_non_text(bad: Any) -> None:
    with pytest.raises(TypeError):
        Parser().feed(bad)
    with pytest.raises(TypeError):
        parse_partial(bad)


def test_feed_takes_one_positional_chunk() -> None:
    import inspect

    assert str(inspect.signature(Parser.feed)) == "(self, chunk, /)"
    assert Parser.feed.__doc__ and "visibly changed" in Parser.feed.__doc__
    p = Parser()
    with pytest.raises(TypeError):
        p.feed(chunk="[1]")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        p.feed()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        p.feed("[1", "]")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Parser.feed(object(), "[1]")  # type: ignore[arg-type]
    assert p.value is None and p.feed("[1]") is True and p.value == [1]


# ------------------------------------------------------------------------------------------------- depth


def test_max_depth() -> None:
    assert same(parse(["[[[1]]]"], max_depth=3), [[[1]]])
    assert same(parse(['{"a": {"b": {"c": 1}}}'], max_depth=3), {"a": {"b": {"c": 1}}})
    for doc, pos in (("[[[[1]]]]", 3), ('{"a": {"b": {"c": {"d": 1}}}}', 18), ('[{"a": [{', 8)):
        for how, chunks in basic_chunkings(doc):
            p = Parser(max_depth=3)
            with pytest.raises(JSONDecodeError) as info:
                for chunk in chunks:
                    p.feed(chunk)
            assert info.value.pos == pos, (doc, how, info.value)


def test_default_max_depth() -> None:
    assert Parser().feed("[" * 1024) is True
    with pytest.raises(JSONDecodeError):
        Parser().feed("[" * 1025)
    depth = 1024
    value = parse(["[" * depth + "]" * depth])
    for _ in range(depth - 1):
        assert type(value) is list and len(value) == 1
        value = value[0]
    assert value == []


@pytest.mark.parametrize("what", ["str", "bytes", "byte by byte", "parse_partial"])
def test_100000_open_brackets_is_an_error_not_a_crash(what: str) -> None:
    doc = "[" * 100_000
    with pytest.raises(JSONDecodeError) as info:
        if what == "str":
            Parser().feed(doc)
        elif what == "bytes":
            Parser().feed(doc.encode())
        elif what == "byte by byte":
            p = Parser()
            for _ in range(100_000):
                p.feed(b"[")
        else:
            parse_partial(doc)
    assert info.value.pos == 1024


def test_deep_nesting_within_a_large_max_depth() -> None:
    depth = 100_000
    p = Parser(max_depth=depth)
    p.feed("[" * depth)
    p.feed("]" * depth)
    value = p.finish()
    for _ in range(depth - 1):
        assert type(value) is list and len(value) == 1
        value = value[0]
    assert value == []


# ----------------------------------------------------------------------------------------------- lenient

LENIENT = [
    ('Here is the JSON:\n```json\n{"a": [1, 2,],}\n```\nHope it helps!', {"a": [1, 2]}),
    ("[1] trailing {garbage", [1]),
    ('He said "hi": {"a": 1} and then {"b": 2}', {"a": 1}),
    ("The answer is 42: [42]", [42]),
    ('{"a": "line\nbreak\ttab\x01"}', {"a": "line\nbreak\ttab\x01"}),
    ("[1, 2, 3,]", [1, 2, 3]),
    ('{"a": {"b": [],},}', {"a": {"b": []}}),
    ('[{"x": 1,},]', [{"x": 1}]),
    ('   {"a": 1}   ', {"a": 1}),
    ("```\n[true, false, null]\n```", [True, False, None]),
    ("[1]] extra", [1]),
    ('{"a": "' + "x" * 30 + "\n" + "y" * 30 + '"}', {"a": "x" * 30 + "\n" + "y" * 30}),
    ("[1] NaN", [1]),
]


@pytest.mark.parametrize(("doc", "expected"), LENIENT, ids=[d for d, _ in LENIENT])
def test_lenient(doc: str, expected: Any) -> None:
    for how, chunks in chunkings(doc):
        p = Parser(lenient=True)
        for chunk in chunks:
            p.feed(chunk)
        assert p.complete, how
        assert_same(p.finish(), expected, f"{doc!r} fed {how}")
        assert_same(p.value, expected, how)
    assert_same(parse_partial(doc, lenient=True), expected)


def test_lenient_partial_values() -> None:
    assert parse_partial("Sure! Here", lenient=True) is None
    assert same(parse_partial('Sure! ```json\n{"a": "he', lenient=True), {"a": "he"})
    assert same(parse_partial('Sure! ```json\n{"a": [1, 2,', lenient=True), {"a": [1, 2]})
    p = Parser(lenient=True)
    assert p.feed("Some prose, no JSON yet.") is False
    assert p.value is None and p.open_path is None
    assert p.feed('{"a": "b') is True
    assert p.open_path == ("a",)


def test_lenient_ignores_what_follows_the_value() -> None:
    p = Parser(lenient=True)
    p.feed('{"a": [1, 2]}')
    a = p.value["a"]
    assert p.complete
    assert p.open_path is None
    for chunk in ["\n```", "\nThat is all. {", '"b": 2}', "]]]"]:
        assert p.feed(chunk) is False
    assert same(p.value, {"a": [1, 2]})
    assert p.value["a"] is a
    assert same(p.finish(), {"a": [1, 2]})


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        ([b"[1] caf\xc3"], [1]),
        ([b"[1]", b" caf\xc3"], [1]),
        ([b"[1]", b" caf", b"\xc3"], [1]),
        ([b"[1] \xff\xfe and more"], [1]),
        ([b'{"a": 1}\n\xe2\x82'], {"a": 1}),
        ([b'{"a": 1}', b"\n\xe2\x82", b"x"], {"a": 1}),
    ],
    ids=[
        "cut char at the end",
        "cut char in a later chunk",
        "cut char in its own chunk",
        "invalid bytes",
        "cut 3-byte char",
        "invalid sequence across chunks",
    ],
)
def test_lenient_ignores_any_bytes_after_the_value(chunks: list[bytes], expected: Any) -> None:
    # What follows the value is ignored, even if it is not (or not yet whole) UTF-8: e.g. a stream cut
    # off in the middle of a character of the closing remarks.
    p = Parser(lenient=True)
    for chunk in chunks:
        p.feed(chunk)
    assert p.complete
    assert_same(p.finish(), expected)


@pytest.mark.parametrize(
    "doc",
    [
        "no json here",
        "",
        "```json\n",
        '```json\n{"a": 1',
        "[1, 2",
        '{"a": x}',
        '{"a": NaN}',
        "[1,,]",
        "{'a': 1}",
    ],
)
def test_lenient_rejects(doc: str) -> None:
    for how, chunks in basic_chunkings(doc):
        e = raised(chunks, lenient=True)
        assert isinstance(e, JSONDecodeError), how


def test_lenient_still_reports_positions() -> None:
    e = raised(['Answer:\n{"a": x}'], lenient=True)
    assert (e.pos, e.lineno, e.colno) == (14, 2, 7)


def test_strict_is_the_default() -> None:
    with pytest.raises(JSONDecodeError):
        parse(["[1,]"])
    with pytest.raises(JSONDecodeError):
        parse_partial("Here: [1]")
    with pytest.raises(JSONDecodeError):
        parse(['["a\nb"]'])


# ----------------------------------------------------------------------------------------- parse_partial


def test_parse_partial() -> None:
    assert same(parse_partial('{"a": [1, {"b": "he'), {"a": [1, {"b": "he"}]})
    assert same(parse_partial(b'{"a": "\xc3'), {"a": ""})
    assert parse_partial("12") is None
    assert parse_partial("") is None
    assert same(parse_partial("[1]"), [1])
    with pytest.raises(JSONDecodeError):
        parse_partial('{"a": x')
    with pytest.raises(JSONDecodeError):
        parse_partial("[1] x")
