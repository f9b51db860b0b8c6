"""Lenient mode's false starts: a ``{`` or ``[`` of prose that does not start JSON is dropped, and the
search goes on from the byte after it (so a bracket inside it can still be the real start).

Every example is fed every way ``chunkings`` has (whole, character by character, byte by byte, and
as bytes cut in two at every byte): value, ``restarts`` and errors must not depend on the cuts.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import unspool
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from parser_helpers import assert_same, chunkings, is_root_prefix, same
from pydantic import BaseModel, ValidationError
from shared_dir import import_or_skip
from test_parser_properties import cuts, json_values, split
from unspool import JSONDecodeError
from unspool._core import Parser, parse_partial

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def feed_all(chunks: list[str | bytes], **options: Any) -> tuple[Any, int]:
    """Feeds ``chunks`` to a lenient parser and finishes: the value and how many false starts it dropped."""
    p = Parser(lenient=True, **options)
    for chunk in chunks:
        p.feed(chunk)
    return p.finish(), p.restarts


def failure(chunks: list[str | bytes], **options: Any) -> tuple[JSONDecodeError, int]:
    """Feeds ``chunks`` and finishes, expecting a JSONDecodeError: it, and the count of false starts."""
    p = Parser(lenient=True, **options)
    with pytest.raises(JSONDecodeError) as info:
        for chunk in chunks:
            p.feed(chunk)
        p.finish()
    return info.value, p.restarts


# (document, value, false starts dropped)
FALSE_STARTS: list[tuple[str, Any, int]] = [
    # The bracket opens prose, not JSON.
    ('See [section 2] for details. {"a": 1}', {"a": 1}, 1),
    ("{Note: this is prose} [1, 2]", [1, 2], 1),
    ('[1, 2, see above] then {"x": 1}', {"x": 1}, 1),
    # Several, with non-ASCII prose between them.
    ('Use [x] or {y}, e.g. [1, z] — so: {"ok": true}', {"ok": True}, 3),
    # A bracket the false start read as its own structure can be the real start...
    ('[1, {"a": 2}, oops]', {"a": 2}, 1),
    # ... and so can one it read inside one of its strings.
    ('{"a": "[1, 2]" oops}', [1, 2], 1),
    # A false start that breaks only at its very end, the real value nested inside it.
    ('{"data": {"k": [1, 2]}, "n": 1 oops', {"k": [1, 2]}, 1),
    # Broken tokens: a number, a literal, an escape, a \\u escape.
    ('[01] [tru] ["\\q"] ["\\u12x"] [7]', [7], 4),
    # Every `[` in the strings of a false start is a false start too (`[", "x` breaks at the `x`).
    ('["x[", "x[", oops] {"é": "🚀"}', {"é": "🚀"}, 3),
    # A false start in a fence, the answer in another.
    ('```\n{Note: draft}\n```\n```json\n{"a": [1, 2,],}\n```', {"a": [1, 2]}, 1),
    # A bracket of prose that happens to be a complete JSON value is the value.
    ('See [1] and {"a": 2}', [1], 0),
    # Nothing false: as before.
    ('Sure!\n```json\n{"a": 1}\n```', {"a": 1}, 0),
]


@pytest.mark.parametrize(("doc", "expected", "restarts"), FALSE_STARTS, ids=[d for d, _, _ in FALSE_STARTS])
def test_false_starts_are_skipped_however_the_text_is_cut(doc: str, expected: Any, restarts: int) -> None:
    for how, chunks in chunkings(doc):
        value, dropped = feed_all(chunks)
        assert_same(value, expected, f"{doc!r} fed {how}")
        assert dropped == restarts, how
    assert_same(parse_partial(doc, lenient=True), expected)


def test_the_partial_value_is_the_candidates_then_dropped_with_it() -> None:
    p = Parser(lenient=True)
    assert p.feed("Look: [1, 2, ") is True
    # While a candidate is open, its partial value shows, as any value's does.
    assert p.value == [1, 2] and p.open_path == () and p.restarts == 0
    shown = p.value
    assert p.feed("see") is True  # `s` cannot be JSON: dropped (a visible change)
    assert p.value is None and p.open_path is None
    assert (p.restarts, p.depth, p.complete) == (1, 0, False)
    assert p.feed(" above]. ") is False  # prose: nothing shows
    assert p.feed('{"a": "h') is True
    assert p.value == {"a": "h"} and p.open_path == ("a",)
    p.feed('i"}')
    assert p.complete and p.finish() == {"a": "hi"} and p.restarts == 1
    # The dropped value is never touched again.
    assert shown == [1, 2]


def test_a_dropped_open_string_is_left_as_it_was() -> None:
    p = Parser(lenient=True)
    p.feed('{"a": "hel')
    dropped = p.value
    text = dropped["a"]
    p.feed('lo" x')  # closes the string, then `x`: a false start
    assert p.value is None and p.restarts == 1
    assert dropped == {"a": "hello"}  # as it was when dropped
    p.feed(' {"a": "other"}')
    assert p.finish() == {"a": "other"}
    assert text == "hel"  # a `str` taken never changes
    assert dropped == {"a": "hello"}  # and the dropped value is never touched again


def test_restarts_is_zero_when_strict_and_strict_errors_are_unchanged() -> None:
    p = Parser()
    assert p.restarts == 0
    with pytest.raises(JSONDecodeError) as info:
        p.feed("[1, 2, see above]")
    assert (info.value.msg, info.value.pos) == ("Expecting value, found 's'", 7)
    assert p.restarts == 0


def test_when_every_bracket_is_a_false_start_the_longest_ones_error_is_raised() -> None:
    # One broken document reads as it did before false starts were skipped: the error where it broke.
    for how, chunks in chunkings('Answer:\n{"a": x}'):
        e, restarts = failure(chunks)
        assert (e.msg, e.pos, e.lineno, e.colno) == ("Expecting value, found 'x'", 14, 2, 7), how
        assert restarts == 1
    # The longest of several (the earliest of equals).
    e, restarts = failure(['[a] {"k": [1, 2 x} [b]'])
    assert (e.pos, restarts) == (16, 4)
    e, _ = failure(["{N} [x]"])
    assert e.pos == 1
    # Nothing found at all, and a candidate the input ended inside: as before.
    e, restarts = failure(["no json here"])
    assert (e.msg, restarts) == ("Unexpected end of input: no '{' or '[' found", 0)
    e, _ = failure(['[x] then {"a": [1]'])
    assert e.msg == "Unexpected end of input: unclosed object"


def test_too_deep_is_still_an_error_at_its_place() -> None:
    # Read again from the held text when the cuts fall inside the string: the position is the same.
    doc = 'Hi\n["é\n[[[1]]]" x'
    for how, chunks in chunkings(doc):
        e, restarts = failure(chunks, max_depth=2)
        assert e.msg == "Nesting deeper than max_depth=2", how
        assert (e.pos, e.lineno, e.colno, e.byte_pos, restarts) == (9, 3, 3, 10, 1), how


def test_invalid_utf8_is_still_an_error() -> None:
    e, _ = failure([b"[x \xff] {}"])
    assert e.msg == "Invalid UTF-8"


def test_a_long_false_start_across_many_chunks() -> None:
    body = ", ".join(f'{{"id": {i}, "tags": ["t{i}"]}}' for i in range(300))
    doc = f"Draft: [{body}, and so on] Final: " + '{"done": true}'
    for size in (1, 3, 7, 64, 1000):
        chunks = [doc[i : i + size] for i in range(0, len(doc), size)]
        # Once the draft breaks, the search resumes inside it: its first element is the first
        # complete value (the documented rule, whatever the text meant).
        assert feed_all(chunks) == ({"id": 0, "tags": ["t0"]}, 1)


# ------------------------------------------------------------------------------------------ properties

# Prose fragments, brackets that start nothing, and tokens that break a candidate anywhere.
FRAGMENTS = [
    "Sure! ",
    "see [section 2] ",
    "[1, 2, see above] ",
    "{Note: this is prose} ",
    '{"a": ',
    '{"a": "[1, 2]" oops} ',
    '["x[", ',
    "[[",
    "]]",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    '"',
    '"k":',
    "\\",
    "\\u12",
    "\n",
    " ",
    "1",
    "-",
    "tru",
    "null",
    "x",
    "é",
    "🚀",
    "```json\n",
]


def model(doc: str, **options: Any) -> tuple[str, Any, int]:
    """The documented semantics, naively: a fresh parse at each ``{``/``[`` in turn, fed one character
    at a time from it; a candidate is a false start where its parser first counts a restart. Returns
    ``("value", v, restarts)``, ``("error", position, restarts)``: the error is the longest false start's
    (earliest of equals) at its break, or the first candidate's that is not a false start."""
    start, restarts = 0, 0
    longest: tuple[int, int] | None = None  # (length, position of its break)
    while True:
        found = [i for i in (doc.find("{", start), doc.find("[", start)) if i >= 0]
        if not found:
            return ("error", longest[1] if longest else len(doc), restarts)
        at = min(found)
        p = Parser(lenient=True, **options)
        broke = None
        for j in range(at, len(doc)):
            try:
                p.feed(doc[j])
            except JSONDecodeError as e:
                if p.restarts == 0:
                    return ("error", at + e.pos, restarts)
            if p.restarts:
                broke = j
                break
            if p.complete:
                return ("value", p.finish(), restarts)
        if broke is None:
            try:
                p.finish()
            except JSONDecodeError as e:
                return ("error", at + e.pos, restarts)
            raise AssertionError("unreachable: finish() of an open candidate succeeded")
        restarts += 1
        length = len(doc[at:broke].encode())  # (in bytes, as the core counts)
        if longest is None or length > longest[0]:
            longest = (length, broke)
        start = at + 1


def outcome(chunks: list[str | bytes], **options: Any) -> tuple[str, Any, int]:
    p = Parser(lenient=True, **options)
    try:
        for chunk in chunks:
            p.feed(chunk)
        return ("value", p.finish(), p.restarts)
    except JSONDecodeError as e:
        return ("error", e.pos, p.restarts)


@SETTINGS
@given(
    pieces=st.lists(
        st.one_of(
            st.sampled_from(FRAGMENTS),
            json_values(st.text(max_size=5)).map(lambda v: json.dumps(v, ensure_ascii=False)),
        ),
        max_size=20,
    ),
    max_depth=st.sampled_from([1024, 1024, 1024, 2, 3]),
    data=st.data(),
)
def test_any_chunking_agrees_with_the_whole_text_and_the_model(
    pieces: list[str], max_depth: int, data: st.DataObject
) -> None:
    doc = "".join(pieces)
    whole = outcome([doc], max_depth=max_depth)
    raw = doc.encode()
    chunks = split(raw, data.draw(cuts(len(raw)), label="cuts"))
    chunked = outcome(chunks, max_depth=max_depth)
    assert chunked[0] == whole[0] and chunked[2] == whole[2], (doc, chunks)
    assert same(chunked[1], whole[1]), (doc, chunks)
    expected = model(doc, max_depth=max_depth)
    assert whole[0] == expected[0] and whole[2] == expected[2], (doc, whole, expected)
    assert same(whole[1], expected[1]), (doc, whole, expected)


@SETTINGS
@given(
    value=st.one_of(
        st.lists(json_values(st.text(max_size=8)), max_size=4),
        st.dictionaries(st.text(max_size=8), json_values(st.text(max_size=8)), max_size=4),
    ),
    before=st.lists(
        st.sampled_from(
            ["see [x] ", "{Note: y} ", "[1, 2, z] ", '{"a": w} ', '[["s", oops ', "prose ", "\n"]
        ),
        max_size=5,
    ),
    data=st.data(),
)
def test_the_value_after_false_starts_is_read_whole(
    value: Any, before: list[str], data: st.DataObject
) -> None:
    doc = "".join(before) + "```json\n" + json.dumps(value, ensure_ascii=False) + "\n``` [not this]"
    raw = doc.encode()
    p = Parser(lenient=True)
    shown = []  # (false starts dropped so far, the partial value then)
    for chunk in split(raw, data.draw(cuts(len(raw)), label="cuts")):
        p.feed(chunk)
        shown.append((p.restarts, copy.deepcopy(p.value)))
    assert_same(p.finish(), value)
    assert p.restarts == sum({'[["s", oops ': 2, "prose ": 0, "\n": 0}.get(b, 1) for b in before)
    # Once the last false start is dropped, every partial value is the real one's, growing.
    for restarts, partial in shown:
        if restarts == p.restarts and partial is not None:
            assert is_root_prefix(partial, value), (partial, value)


# ------------------------------------------------------------------------------------- typed streams


class Item(BaseModel):
    title: str
    n: int


@pytest.mark.parametrize(
    ("tp", "doc", "expected"),
    [
        (Item, 'See [section 2] for details. {"title": "t", "n": 5}', Item(title="t", n=5)),
        (
            Item,
            'Draft: {"title": "draft", "n": 1 oops} Final: {"title": "real", "n": 2}',
            Item(title="real", n=2),
        ),
        (list[int], "[1, 2, see above] then [3]", [3]),
        (dict[str, Any], '{Note: prose} {"a": [1, {"b": 2}]}', {"a": [1, {"b": 2}]}),
    ],
)
@pytest.mark.parametrize("size", [1, 4, 1000])
def test_stream_reads_the_value_after_false_starts(tp: Any, doc: str, expected: Any, size: int) -> None:
    chunks = [doc[i : i + size] for i in range(0, len(doc), size)]
    s = unspool.stream(chunks, response_model=tp, lenient=True)
    partials = list(s)
    assert all(p is not None for p in partials)
    assert partials[-1] == expected
    assert s.get_final_response() == expected


# ------------------------------------------------- the typed layer after a false start (engine, stream)


def test_stream_drops_what_it_took_in_from_a_false_start() -> None:
    # The draft's "x" closes invalid (a validation error) before the draft turns out not to be JSON.
    doc = '[1, "x", oops] then [3, 4]'
    for size in (1, 2, 5):
        chunks = [doc[i : i + size] for i in range(0, len(doc), size)]
        s = unspool.stream(chunks, response_model=list[int], lenient=True)
        seen = [(p, list(s.errors)) for p in s]
        after = [(p, errors) for p, errors in seen if 3 in p]
        assert after and all(errors == [] for _, errors in after), seen
        assert s.get_final_response() == [3, 4] and s.errors == []


def test_stream_raises_the_false_starts_error_when_the_text_holds_no_json() -> None:
    # As before false starts were skipped: a `JSONDecodeError` where the document broke (now raised
    # when the text ends: until then, a later bracket could still start JSON), not an output cut short.
    s = unspool.stream(list('{"title": "only", "n": x}'), response_model=Item, lenient=True)
    with pytest.raises(JSONDecodeError) as e:
        list(s)
    assert (e.value.msg, e.value.pos) == ("Expecting value, found 'x'", 23)
    with pytest.raises(JSONDecodeError):
        s.get_final_response()
    # A candidate the text ended inside is still an output cut short.
    s = unspool.stream(list('[x] then {"title": "cut'), response_model=dict[str, str], lenient=True)
    assert list(s)[-1] == {"title": "cut"}
    with pytest.raises(unspool.IncompleteOutputError):
        s.get_final_response()


def test_a_false_start_that_leaves_a_value_of_another_type_yields_no_none() -> None:
    # After the draft list breaks, its first element is the first complete value: not a list[Item].
    doc = 'Draft: [{"title": "a", "n": 1}, oops] Final: [{"title": "c", "n": 3}]'
    s = unspool.stream(list(doc), response_model=list[Item], lenient=True)
    partials = list(s)
    assert partials and all(p is not None for p in partials)
    with pytest.raises(ValidationError):
        s.get_final_response()


def test_items_after_a_false_start_give_the_real_list_from_its_start() -> None:
    # What the draft gave cannot be taken back; the list that replaces it is given whole.
    s = unspool.stream(list("[1, 2, see above] then [3, 4, 5]"), response_model=list[int], lenient=True)
    assert list(s.items()) == [1, 2, 3, 4, 5]
    assert s.get_final_response() == [3, 4, 5]


def test_md_json_retries_a_reply_whose_json_is_broken() -> None:
    openai = import_or_skip("openai", reason="openai is an optional extra; the project's CI installs it")
    from unspool.testing import ReplayServer, Reply

    bad = 'Sure:\n```json\n{"title": "a", "n": x}\n```'
    good = 'Here:\n```json\n{"title": "a", "n": 1}\n```'
    messages = [{"role": "user", "content": "an item"}]
    with ReplayServer(replies=[Reply(text=bad), Reply(text=good)]) as server:
        sdk = openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        try:
            c = unspool.from_openai(sdk, mode="md_json").chat.completions
            s = c.stream(model="m", messages=messages, response_model=Item, max_retries=1)
            assert s.get_final_response() == Item(title="a", n=1)
            assert len(server.requests) == 2  # the broken JSON was retried, with its error as feedback
            feedback = server.requests[1]["body"]["messages"][-1]["content"]
            assert "Expecting value" in feedback
        finally:
            sdk.close()
    with ReplayServer(replies=[Reply(text=bad)]) as server:
        sdk = openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        try:
            s = unspool.from_openai(sdk, mode="md_json").chat.completions.stream(
                model="m", messages=messages, response_model=Item
            )
            with pytest.raises(JSONDecodeError, match="Expecting value, found 'x'"):
                list(s)
        finally:
            sdk.close()
