"""The binding's CPython-internals switch (`unspool.shortcuts()`, `UNSPOOL_PORTABLE`), and its
soundness at the edges: cycles through a parser's value, and its private hooks given wrong types."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
import weakref

import pytest
import unspool

KNOWN = {"grow_str", "read_str", "reuse_snapshots"}
TESTED = sys.implementation.name == "cpython" and (3, 10) <= sys.version_info < (3, 14)


def run(code: str, portable: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "UNSPOOL_PORTABLE"}
    if portable is not None:
        env["UNSPOOL_PORTABLE"] = portable
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True, timeout=120
    )


def test_shortcuts_are_named_and_on_only_where_tested() -> None:
    names = unspool.shortcuts()
    assert isinstance(names, tuple)
    assert set(names) <= KNOWN
    if os.environ.get("UNSPOOL_PORTABLE"):
        assert names == ()
    else:
        assert set(names) == (KNOWN if TESTED else set())


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("1", set()),
        ("all", set()),
        ("", KNOWN if TESTED else set()),
        ("0", KNOWN if TESTED else set()),
        ("grow_str", (KNOWN - {"grow_str"}) if TESTED else set()),
        ("read_str, reuse_snapshots", (KNOWN - {"read_str", "reuse_snapshots"}) if TESTED else set()),
    ],
)
def test_portable_switch_is_read_at_import(setting: str, expected: set[str]) -> None:
    r = run("import unspool; print(','.join(unspool.shortcuts()))", setting)
    assert r.returncode == 0, r.stderr
    got = {n for n in r.stdout.strip().split(",") if n}
    assert got == expected


def test_portable_switch_rejects_unknown_names_clearly() -> None:
    r = run("import unspool", "grow_strings")
    assert r.returncode != 0
    last = r.stderr.strip().splitlines()[-1]
    assert "UNSPOOL_PORTABLE" in last and "grow_strings" in last and "grow_str" in last


def test_portable_and_tuned_stream_the_same_partials() -> None:
    code = """
        import json, unspool
        from pydantic import BaseModel

        class Item(BaseModel):
            name: str
            tags: list[str] = []

        doc = json.dumps([{"name": "caf\\u00e9 \\U0001f600 " * 30, "tags": ["a" * 300, "\\u03a9" * 50]}] * 5)
        chunks = [doc[i : i + 3] for i in range(0, len(doc), 3)]
        s = unspool.stream(chunks, response_model=list[Item])
        seen = [json.dumps([i.model_dump() for i in p]) for p in s]
        p = unspool.Parser()
        values = []
        for c in chunks:
            p.feed(c)
            values.append(json.dumps(p.value))
        print(json.dumps([seen, values, unspool.shortcuts()]))
    """
    tuned = run(code, None)
    portable = run(code, "1")
    assert tuned.returncode == 0 and portable.returncode == 0, tuned.stderr + portable.stderr
    import json

    t, p = json.loads(tuned.stdout), json.loads(portable.stdout)
    assert p[2] == []
    assert t[0] == p[0] and t[1] == p[1]
    assert len(t[0]) > 100


class Tracked:
    """An object whose collection a weak reference can see."""


def test_a_parser_stored_in_its_own_value_is_collected() -> None:
    # A cycle through `Parser.value`: the parser's live dict holds the parser.
    p = unspool.Parser()
    p.feed('{"a": {"b": "open')
    sentinel = Tracked()
    p.value["a"]["me"] = p
    p.value["a"]["sentinel"] = sentinel
    gone = weakref.ref(sentinel)
    del p, sentinel
    gc.collect()
    assert gone() is None


def test_a_parser_stored_in_its_own_closed_value_is_collected() -> None:
    p = unspool.Parser()
    p.feed('[[1], "x", ')
    sentinel = Tracked()
    p.value[0].append(p)
    p.value.append(sentinel)
    gone = weakref.ref(sentinel)
    del p, sentinel
    gc.collect()
    assert gone() is None


# Each a Python expression for the child process to evaluate.
WRONG_CLASSES = ["dict", "list", "int", "object", "type", "'Model'", "None", "BaseModel.model_fields"]


@pytest.mark.parametrize("cls", WRONG_CLASSES)
def test_the_engines_records_refuse_a_class_that_is_no_model(cls: str) -> None:
    # Underscore API, but a wrong argument must raise, never crash the interpreter: run in a child.
    code = f"""
        import unspool
        from unspool import _core
        from pydantic import BaseModel
        cls = {cls}
        errors = []
        for attempt in (
            lambda: _core.ModelLevel(cls, {{}}, {{}}, None, (), set(), (), None),
            lambda: _core.RootModelLevel(cls, set(), ()),
            # Positional tuples (the old crossing) are no level at all.
            lambda: _core.build_partial([(0, cls, {{}}, {{}}, None, (), set(), (), None)], None),
            lambda: unspool.Parser()._follow([(3, cls, set(), ())], False, False),
        ):
            try:
                attempt()
            except TypeError as e:
                errors.append(str(e))
        p = unspool.Parser()
        p._hook([], lambda: None, object())
        p.feed('{{"a": "x')
        print(p._snapshot(True), len(errors))
    """
    r = run(code, None)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[-1] == "4"


def test_inner_frame_checks_its_shape() -> None:
    from unspool import _core

    member = _core.Member(None, (str,), True, None)
    with pytest.raises(TypeError):
        _core.InnerFrame(None, {}, [], 0, print, item=member)
    with pytest.raises(TypeError):
        _core.InnerFrame(None, [], [], 0, print)
    with pytest.raises(TypeError):
        _core.InnerFrame(None, [], [], 0, print, fields={}, item=member)
    assert _core.InnerFrame(None, [], [], 0, print, item=member).item is member


def test_private_hook_refuses_wrong_types() -> None:
    p = unspool.Parser()
    with pytest.raises(TypeError):
        p._hook({}, lambda: None, object())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        p._follow({}, False, False)  # type: ignore[arg-type]
