"""JSONTestSuite (test_parsing): y_ files are accepted and equal json.loads, n_ files are rejected with
JSONDecodeError (never a crash), i_ files may go either way but must not crash.

The suite lives outside the repository, in ``shared/jsontestsuite`` next to it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from parser_helpers import assert_same, has_duplicate_keys, is_root_prefix
from shared_dir import SHARED, missing
from unspool import JSONDecodeError, Parser, parse_partial

SUITE = SHARED / "jsontestsuite" / "test_parsing"

if not SUITE.is_dir():
    missing(f"JSONTestSuite not found at {SUITE}")


def files(prefix: str) -> list[str]:
    return sorted(p.name for p in SUITE.iterdir() if p.name.startswith(prefix) and p.suffix == ".json")


Y_FILES, N_FILES, I_FILES = files("y_"), files("n_"), files("i_")
NOT_JSON = object()


def read(name: str) -> bytes:
    return (SUITE / name).read_bytes()


def parse_whole(data: bytes) -> Any:
    p = Parser()
    p.feed(data)
    return p.finish()


def parse_byte_by_byte(data: bytes) -> Any:
    p = Parser()
    for i in range(len(data)):
        p.feed(data[i : i + 1])
    return p.finish()


def test_suite_is_there() -> None:
    assert len(Y_FILES) > 90 and len(N_FILES) > 180 and len(I_FILES) > 30


@pytest.mark.parametrize("name", Y_FILES)
def test_y_accepted(name: str) -> None:
    data = read(name)
    expected = json.loads(data)
    assert_same(parse_whole(data), expected, f"{name} fed whole")
    assert_same(parse_byte_by_byte(data), expected, f"{name} fed byte by byte")
    text = data.decode()
    p = Parser()
    for ch in text:
        p.feed(ch)
    assert_same(p.finish(), expected, f"{name} fed char by char")


@pytest.mark.parametrize("name", Y_FILES)
def test_y_every_prefix_feeds_without_error(name: str) -> None:
    data = read(name)
    expected = json.loads(data)
    grows = not has_duplicate_keys(data)  # a repeated key may replace an earlier value
    # One parser per prefix, each prefix fed whole: feed never raises, and shows a prefix of the value.
    for cut in range(len(data) + 1):
        p = Parser()
        p.feed(data[:cut])
        partial = parse_partial(data[:cut])
        if grows:
            assert is_root_prefix(p.value, expected), f"{name} cut at {cut}: {p.value!r}"
            assert is_root_prefix(partial, expected), f"{name} cut at {cut}: {partial!r}"
        try:
            p.finish()
        except JSONDecodeError:
            pass


@pytest.mark.parametrize("name", N_FILES)
def test_n_rejected(name: str) -> None:
    data = read(name)
    for how, chunks in (("whole", [data]), ("byte by byte", [data[i : i + 1] for i in range(len(data))])):
        p = Parser()
        with pytest.raises(JSONDecodeError):
            for chunk in chunks:
                p.feed(chunk)
            p.finish()
            pytest.fail(f"{name} fed {how} was accepted as {p.value!r}")


@pytest.mark.parametrize("name", I_FILES)
def test_i_does_not_crash(name: str) -> None:
    data = read(name)
    expected: Any = NOT_JSON
    try:
        expected = json.loads(data)
    except ValueError:  # UnicodeDecodeError included
        pass
    results = []
    for parse in (parse_whole, parse_byte_by_byte):
        try:
            results.append(("accepted", parse(data)))
        except JSONDecodeError as e:
            results.append(("rejected", e.msg))
    # The same answer whatever the chunking.
    assert [kind for kind, _ in results] == [results[0][0]] * len(results), results
    for kind, value in results:
        if kind == "accepted":
            assert_same(value, results[0][1], name)
            # What both accept, they read alike (e.g. lone surrogate escapes kept as json keeps them).
            if expected is not NOT_JSON:
                assert_same(value, expected, name)
