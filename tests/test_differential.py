"""Differential harness: unspool against pydantic's `TypeAdapter(T).validate_json`, over a zoo of types
(`zoo.py`), hypothesis-made documents (valid ones, and mutations of them) and chunkings.

For every case (type T, document text, chunking):

1. FINAL: `unspool.stream(chunks, response_model=T).get_final_response()` (after iterating) returns what
   `validate_json(text)` returns, value and types all the way down; or raises a `ValidationError` with
   the same (type, loc) pairs; or the same exception type a user validator raised.
2. PARTIAL RULES (valid documents): values only grow (strings by appending, lists and dicts by adding);
   atoms (numbers, bools, literals, enums, dates, UUIDs...) are never shown half-written (whenever one is
   shown it is the final value, or its field's default); closed parts never change; a shown object's
   class never changes; the last partial is the final value; a snapshot never changes while held;
   `items()` of a list root yields each final element once, in order. Invalid documents: only (1), and
   nothing raised but what `validate_json` raises.
3. Chunkings: a character at a time, the whole text, random cuts of the text, and random cuts of its
   UTF-8 bytes (sometimes mixed with `str` chunks).

Differences are collected, not raised at the first: each parametrized test fails listing every category
it found. `UNSPOOL_DIFF_CASES` (default 3000) is the total number of cases over the zoo;
`UNSPOOL_DIFF_REPORT=path` writes the counts (cases checked, differences) and examples as JSON.

A smaller part drives the official openai SDK over real HTTP against `unspool.testing.ReplayServer`, in
every mode on both APIs, for the types marked `openai=True`.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import math
import os
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Annotated, Any, get_args, get_origin

import openai
import pytest
import unspool
import zoo
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, RootModel, TypeAdapter, ValidationError
from unspool.testing import ReplayServer, Reply

TOTAL_CASES = int(os.environ.get("UNSPOOL_DIFF_CASES", "3000"))
REPORT = os.environ.get("UNSPOOL_DIFF_REPORT")
CHUNKINGS = 4  # char, whole, cuts, bytes: cases per example
PER_TYPE = max(1, math.ceil(TOTAL_CASES / (len(zoo.ENTRIES) * CHUNKINGS)))
OPENAI_PER_MODE = int(os.environ.get("UNSPOOL_DIFF_OPENAI_DOCS", "40"))  # documents per (mode, api)

SETTINGS = dict(
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)

# --------------------------------------------------------------------------------------------------
# Bookkeeping shared by every test of the module (and written to UNSPOOL_DIFF_REPORT)


@dataclass
class Diff:
    entry: str
    category: str
    where: str
    detail: str
    chunking: str
    text: str
    valid: bool


@dataclass
class Tally:
    cases: int = 0
    valid_cases: int = 0
    invalid_cases: int = 0
    openai_cases: int = 0
    openai_skipped: list[str] = field(default_factory=list)
    diffs: list[Diff] = field(default_factory=list)
    cases_with_diffs: int = 0
    seconds: float = 0.0


TALLY = Tally()
_MAX_KEPT = 6  # examples kept per (category, type) in the report


def _short(x: Any, n: int = 300) -> str:
    r = x if isinstance(x, str) else repr(x)
    return r if len(r) <= n else r[: n // 2] + " ... " + r[-n // 2 :]


def write_report() -> None:
    if not REPORT:
        return
    by_cat: Counter[str] = Counter(d.category for d in TALLY.diffs)
    by_cat_type: Counter[tuple[str, str]] = Counter((d.category, d.entry) for d in TALLY.diffs)
    examples: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for d in TALLY.diffs:
        key = f"{d.category} :: {d.entry}"
        if len(examples[key]) < _MAX_KEPT:
            examples[key].append(
                {
                    "where": d.where,
                    "detail": d.detail,
                    "chunking": d.chunking,
                    "text": d.text,
                    "valid": d.valid,
                }
            )
    out = {
        "cases": TALLY.cases,
        "valid_cases": TALLY.valid_cases,
        "invalid_cases": TALLY.invalid_cases,
        "openai_cases": TALLY.openai_cases,
        "openai_skipped": TALLY.openai_skipped,
        "differences": len(TALLY.diffs),
        "cases_with_differences": TALLY.cases_with_diffs,
        "seconds": round(TALLY.seconds, 1),
        "requested_cases": TOTAL_CASES,
        "examples_per_type": PER_TYPE,
        "by_category": dict(by_cat.most_common()),
        "by_category_and_type": {f"{c} :: {t}": n for (c, t), n in by_cat_type.most_common()},
        "examples": examples,
    }
    with open(REPORT, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, ensure_ascii=False, default=repr)


@pytest.fixture(autouse=True)
def _report() -> Any:
    start = time.monotonic()
    yield
    TALLY.seconds += time.monotonic() - start
    write_report()


def summary(diffs: list[Diff]) -> str:
    cats: dict[str, list[Diff]] = defaultdict(list)
    for d in diffs:
        cats[d.category].append(d)
    lines = [f"{len(diffs)} differences"]
    for cat, ds in sorted(cats.items(), key=lambda kv: -len(kv[1])):
        d = ds[0]
        lines.append(f"- {cat}: {len(ds)}; e.g. at {d.where} [{d.chunking}]: {d.detail}\n    text: {d.text}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# Comparisons


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def base_class(x: Any) -> type:
    """A partial object's model class (its partial class's base); any other value's own type."""
    if isinstance(x, BaseModel) and not unspool.is_complete(x):
        return type(x).__mro__[1]
    return type(x)


def is_partial(x: Any) -> bool:
    return isinstance(x, BaseModel) and not unspool.is_complete(x)


def deep_diff(got: Any, want: Any, where: str = "") -> str | None:
    """Where and how `got` differs from `want`, types included (a partial object is not its model)."""
    if type(got) is not type(want):
        got_t, want_t = type(got).__qualname__, type(want).__qualname__
        return f"{where or '<root>'}: {got_t} {_short(got, 120)} != {want_t} {_short(want, 120)}"
    if isinstance(want, BaseModel):
        for name in type(want).model_fields:
            d = deep_diff(
                got.__dict__.get(name, MISSING), want.__dict__.get(name, MISSING), f"{where}.{name}"
            )
            if d:
                return d
        ge, we = got.__pydantic_extra__ or {}, want.__pydantic_extra__ or {}
        d = deep_diff(ge, we, f"{where}.<extra>")
        if d:
            return d
        return None
    if isinstance(want, (list, tuple)):
        if len(got) != len(want):
            lengths = f"length {len(got)} != {len(want)}"
            return f"{where or '<root>'}: {lengths}: {_short(got, 160)} != {_short(want, 160)}"
        for i, (g, w) in enumerate(zip(got, want, strict=False)):
            d = deep_diff(g, w, f"{where}[{i}]")
            if d:
                return d
        return None
    if isinstance(want, dict):
        wkeys = {(type(k), k): k for k in want}
        gkeys = {(type(k), k): k for k in got}
        if set(wkeys) != set(gkeys):
            return f"{where or '<root>'}: keys {_short(list(got), 160)} != {_short(list(want), 160)}"
        for k in want:
            d = deep_diff(got[k], want[k], f"{where}[{k!r}]")
            if d:
                return d
        return None
    if isinstance(want, (set, frozenset)):
        if got != want or sorted(map(repr, got)) != sorted(map(repr, want)):
            return f"{where or '<root>'}: {_short(got, 160)} != {_short(want, 160)}"
        return None
    if got != want or repr(got) != repr(want):
        return f"{where or '<root>'}: {_short(got, 160)} != {_short(want, 160)}"
    return None


def loose_diff(got: Any, want: Any, where: str = "") -> str | None:
    """Like `deep_diff`, but a partial object may stand for a finished one that shows the same values."""
    if isinstance(want, BaseModel) and is_partial(got) and base_class(got) is type(want):
        for name in type(want).model_fields:
            d = loose_diff(
                got.__dict__.get(name, MISSING), want.__dict__.get(name, MISSING), f"{where}.{name}"
            )
            if d:
                return d
        return deep_diff(got.__pydantic_extra__ or {}, want.__pydantic_extra__ or {}, f"{where}.<extra>")
    if type(got) is type(want) and isinstance(want, (list, tuple)) and len(got) == len(want):
        for i, (g, w) in enumerate(zip(got, want, strict=False)):
            d = loose_diff(g, w, f"{where}[{i}]")
            if d:
                return d
        return None
    if type(got) is type(want) and isinstance(want, dict) and set(got) == set(want):
        for k in want:
            d = loose_diff(got[k], want[k], f"{where}[{k!r}]")
            if d:
                return d
        return None
    return deep_diff(got, want, where)


def fields_set_diff(got: Any, want: Any, where: str = "") -> str | None:
    """Where `model_fields_set` differs (what `model_dump(exclude_unset=True)` reads)."""
    if isinstance(want, BaseModel) and type(got) is type(want):
        if got.model_fields_set != want.model_fields_set:
            return f"{where or '<root>'}: {sorted(got.model_fields_set)} != {sorted(want.model_fields_set)}"
        for name in type(want).model_fields:
            d = fields_set_diff(got.__dict__.get(name), want.__dict__.get(name), f"{where}.{name}")
            if d:
                return d
    elif isinstance(want, (list, tuple)) and isinstance(got, (list, tuple)):
        for i, (g, w) in enumerate(zip(got, want, strict=False)):
            d = fields_set_diff(g, w, f"{where}[{i}]")
            if d:
                return d
    elif isinstance(want, dict) and isinstance(got, dict):
        for k in want:
            if k in got:
                d = fields_set_diff(got[k], want[k], f"{where}[{k!r}]")
                if d:
                    return d
    return None


def json_form(k: Any) -> Any:
    """A dict key as its JSON text (a typed key shows as its JSON string until its dict closes)."""
    if isinstance(k, enum.Enum):
        return str(k.value)
    if isinstance(k, (dt.date, dt.datetime)):
        return k.isoformat()
    if isinstance(k, int) and not isinstance(k, bool):
        return str(k)
    return k


def match_key(k: Any, keys: Any) -> Any:
    if k in keys:
        for other in keys:
            if other == k and type(other) is type(k):
                return other
    form = json_form(k)
    for other in keys:
        if json_form(other) == form:
            return other
    return MISSING


def atom_eq(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b and repr(a) == repr(b)


def is_default(info: Any, value: Any) -> bool:
    """`value` is what a field shows before its own value arrives (its default; None for a factory)."""
    if info.is_required():
        return False
    if info.default_factory is not None:
        return value is None
    return deep_diff(value, info.default) is None


def model_field_types(cls: type[BaseModel]) -> dict[str, Any]:
    return {
        name: (Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation)
        for name, info in cls.model_fields.items()
    }


class Checker:
    """Collects the differences of one case (once per category and place)."""

    def __init__(self, entry: zoo.Entry, text: str, chunking: str, valid: bool) -> None:
        self.entry = entry
        self.text = text
        self.chunking = chunking
        self.valid = valid
        self.found: dict[tuple[str, str], Diff] = {}

    def diff(self, category: str, where: str, detail: str) -> None:
        key = (category, where)
        if key not in self.found:
            self.found[key] = Diff(
                self.entry.name,
                category,
                where or "<root>",
                detail,
                self.chunking,
                _short(self.text, 400),
                self.valid,
            )

    # -- a partial against the final value (valid documents) -----------------------------------------

    def consistent(self, p: Any, f: Any, tp: Any, where: str) -> None:
        if p is None:
            return  # not shown yet
        if isinstance(f, BaseModel):
            if not isinstance(p, BaseModel):
                self.diff(
                    "partial: wrong kind of value",
                    where,
                    f"{_short(p, 120)} where the final has {type(f).__name__}",
                )
                return
            if base_class(p) is not type(f):
                plain = _is_plain_union(tp)
                self.diff(
                    "partial: class differs from the final" + (" (plain union)" if plain else ""),
                    where,
                    f"shown as {base_class(p).__name__}, final is {type(f).__name__}",
                )
                return
            if not is_partial(p):
                d = deep_diff(p, f, where)
                if d:
                    self.diff("partial: a closed object differs from the final", where, d)
                return
            if isinstance(f, RootModel):
                self.consistent(
                    p.__dict__.get("root"), f.root, model_field_types(type(f))["root"], f"{where}.root"
                )
                return
            types_ = model_field_types(type(f))
            for name, info in type(f).model_fields.items():
                pv = p.__dict__.get(name, MISSING)
                fv = f.__dict__[name]
                if pv is MISSING:
                    self.diff("partial: a field is missing", f"{where}.{name}", repr(p))
                    continue
                if unspool.is_complete(p, name):
                    d = deep_diff(pv, fv, f"{where}.{name}")
                    if d:
                        self.diff("partial: a closed field differs from the final", f"{where}.{name}", d)
                    continue
                if is_default(info, pv):
                    continue
                self.consistent(pv, fv, types_[name], f"{where}.{name}")
            return
        if isinstance(f, (list, tuple, set, frozenset)):
            if isinstance(p, (set, frozenset)) and isinstance(f, (set, frozenset)):
                if not p <= f:
                    self.diff("partial: set has items the final lacks", where, f"{_short(p)} vs {_short(f)}")
                return
            if not isinstance(p, (list, tuple)):
                self.diff(
                    "partial: wrong kind of value",
                    where,
                    f"{_short(p, 120)} where the final has {_short(f, 120)}",
                )
                return
            if len(p) > len(f) and not isinstance(f, (set, frozenset)):  # (a set drops repeats)
                self.diff("partial: list longer than the final", where, f"{len(p)} > {len(f)}: {_short(p)}")
            if isinstance(f, (set, frozenset)):
                return
            for i, (pi, fi) in enumerate(zip(p, f, strict=False)):
                if i < len(p) - 1 and not is_partial(pi):  # closed: an element after it has started
                    d = deep_diff(pi, fi, f"{where}[{i}]")
                    if d:
                        self.diff("partial: a closed element differs from the final", f"{where}[{i}]", d)
                    continue
                self.consistent(pi, fi, zoo.item_type(tp, i), f"{where}[{i}]")
            return
        if isinstance(f, dict):
            if not isinstance(p, dict):
                self.diff(
                    "partial: wrong kind of value",
                    where,
                    f"{_short(p, 120)} where the final has {_short(f, 120)}",
                )
                return
            last_key = next(reversed(p), MISSING)
            for k, pv in p.items():
                fk = match_key(k, f)
                if fk is MISSING:
                    self.diff(
                        "partial: dict key not in the final",
                        f"{where}[{k!r}]",
                        f"{_short(list(p))} vs final {_short(list(f))}",
                    )
                    continue
                if k is not last_key and not is_partial(pv):  # closed: a member after it has started
                    d = deep_diff(pv, f[fk], f"{where}[{k!r}]")
                    if d:
                        self.diff("partial: a closed member differs from the final", f"{where}[{k!r}]", d)
                    continue
                self.consistent(pv, f[fk], zoo.item_type(tp), f"{where}[{k!r}]")
            return
        if isinstance(f, str) and zoo.annotation_text_capable(tp):
            if not isinstance(p, str):
                self.diff(
                    "partial: wrong kind of value",
                    where,
                    f"{_short(p, 120)} where the final is the string {_short(f, 120)}",
                )
            return  # (a validator may change a string when it closes: growth is checked pairwise)
        # an atom: whole, or not shown
        if not atom_eq(p, f):
            self.diff(
                "partial: atom shown other than its final value",
                where,
                f"shown {type(p).__name__} {_short(p, 120)}, final {type(f).__name__} {_short(f, 120)}",
            )

    # -- one partial against the one before it ----------------------------------------------------------

    def grow(
        self, a: Any, b: Any, tp: Any, where: str, closing: bool, out: list[tuple[str, str, str]]
    ) -> None:
        """`b` (the later partial) grows out of `a`; problems go to `out` as (category, where, detail)."""
        tag = " (as it closed)" if closing else ""
        if a is None:
            return
        if b is None:
            out.append(("growth: a shown value went back to None" + tag, where, f"{_short(a, 120)} -> None"))
            return
        if isinstance(a, BaseModel):
            if not isinstance(b, BaseModel):
                out.append(
                    ("growth: value changed kind" + tag, where, f"{_short(a, 120)} -> {_short(b, 120)}")
                )
                return
            if base_class(a) is not base_class(b):
                plain = " (plain union)" if _is_plain_union(tp) else ""
                out.append(
                    (
                        "growth: class changed" + plain + tag,
                        where,
                        f"{base_class(a).__name__} -> {base_class(b).__name__}",
                    )
                )
                return
            if not is_partial(a):
                if a is not b:
                    d = deep_diff(b, a, where)
                    if d:
                        out.append(("growth: a closed object changed" + tag, where, d))
                return
            closing = closing or not is_partial(b)
            tag = " (as it closed)" if closing else ""
            cls = base_class(a)
            if issubclass(cls, RootModel):
                self.grow(
                    a.__dict__.get("root"),
                    b.__dict__.get("root"),
                    model_field_types(cls)["root"],
                    f"{where}.root",
                    closing,
                    out,
                )
                return
            types_ = model_field_types(cls)
            for name, info in cls.model_fields.items():
                av, bv = a.__dict__.get(name, MISSING), b.__dict__.get(name, MISSING)
                if av is MISSING or bv is MISSING:
                    continue  # reported by `consistent`
                if unspool.is_complete(a, name):
                    d = deep_diff(bv, av, f"{where}.{name}")
                    if d:
                        out.append(("growth: a closed field changed" + tag, f"{where}.{name}", d))
                    continue
                if is_default(info, av) and not is_default(info, bv):
                    continue  # its value started: the default gives way
                field_closing = closing or (is_partial(b) and unspool.is_complete(b, name))
                self.grow(av, bv, types_[name], f"{where}.{name}", field_closing, out)
            return
        if isinstance(a, (list, tuple)):
            if not isinstance(b, (list, tuple, set, frozenset)):
                out.append(
                    ("growth: value changed kind" + tag, where, f"{_short(a, 120)} -> {_short(b, 120)}")
                )
                return
            if isinstance(b, (set, frozenset)):
                return  # a set closed: checked against the final
            if len(b) < len(a):
                out.append(
                    (
                        "growth: a list shrank" + tag,
                        where,
                        f"{len(a)} -> {len(b)}: {_short(a)} -> {_short(b)}",
                    )
                )
                return
            for i, (x, y) in enumerate(zip(a, b, strict=False)):
                item_closing = closing or i < len(b) - 1
                self.grow(x, y, zoo.item_type(tp, i), f"{where}[{i}]", item_closing, out)
            return
        if isinstance(a, dict):
            if not isinstance(b, dict):
                out.append(
                    ("growth: value changed kind" + tag, where, f"{_short(a, 120)} -> {_short(b, 120)}")
                )
                return
            for k, av in a.items():
                bk = match_key(k, b)
                if bk is MISSING:
                    out.append(
                        (
                            "growth: a dict key went away" + tag,
                            f"{where}[{k!r}]",
                            f"{_short(list(a))} -> {_short(list(b))}",
                        )
                    )
                    continue
                self.grow(av, b[bk], zoo.item_type(tp), f"{where}[{k!r}]", closing, out)
            return
        if isinstance(a, str) and zoo.annotation_text_capable(tp):
            if not isinstance(b, str):
                if isinstance(b, (BaseModel, list, dict)) or not closing:
                    out.append(
                        ("growth: value changed kind" + tag, where, f"{_short(a, 120)} -> {_short(b, 120)}")
                    )
                elif not a == "":
                    out.append(
                        (
                            "growth: text became another type" + tag,
                            where,
                            f"{_short(a, 120)} -> {_short(b, 120)}",
                        )
                    )
                return
            if not b.startswith(a):
                out.append(
                    (
                        "growth: a string did not grow by appending" + tag,
                        where,
                        f"{_short(a, 120)} -> {_short(b, 120)}",
                    )
                )
            return
        if not atom_eq(a, b):
            out.append(
                (
                    "growth: an atom changed" + tag,
                    where,
                    f"{type(a).__name__} {_short(a, 120)} -> {type(b).__name__} {_short(b, 120)}",
                )
            )


def _is_plain_union(tp: Any) -> bool:
    inner, meta = zoo._unwrap(tp)
    if not zoo._is_union(inner):
        return False
    members = [a for a in get_args(inner) if a is not type(None)]
    return len(members) > 1 and not any(getattr(m, "discriminator", None) for m in meta)


# --------------------------------------------------------------------------------------------------
# Outcomes


def outcome_of(call: Any) -> tuple[Any, ...]:
    """('value', v), ('errors', [(type, loc)...]) or ('exception', name, message)."""
    try:
        return ("value", call())
    except ValidationError as e:
        return ("errors", [(err["type"], tuple(err["loc"])) for err in e.errors()])
    except Exception as e:  # a user validator's own exception, say
        return ("exception", type(e).__name__, _short(str(e), 160))


def compare_outcomes(ck: Checker, got: tuple[Any, ...], want: tuple[Any, ...], label: str = "final") -> None:
    if got[0] != want[0]:
        ck.diff(
            f"{label}: {'value' if want[0] == 'value' else want[0]} expected, got {got[0]}",
            "",
            f"expected {_short(want[1:], 400)}; got {_short(got[1:], 400)}",
        )
        return
    if want[0] == "value":
        d = deep_diff(got[1], want[1])
        if d:
            ck.diff(f"{label}: value differs", "", d)
            return
        d = fields_set_diff(got[1], want[1])
        if d:
            ck.diff(f"{label}: model_fields_set differs", "", d)
    elif want[0] == "errors":
        if got[1] != want[1]:
            ck.diff(
                f"{label}: validation errors differ",
                "",
                f"expected {_short(want[1], 400)}; got {_short(got[1], 400)}",
            )
    elif got[1] != want[1]:
        ck.diff(f"{label}: a different exception", "", f"expected {want[1]}; got {got[1]}: {got[2]}")


_adapters: dict[str, TypeAdapter[Any]] = {}


def adapter(entry: zoo.Entry) -> TypeAdapter[Any]:
    a = _adapters.get(entry.name)
    if a is None:
        a = _adapters[entry.name] = TypeAdapter(entry.tp)
    return a


def is_list_root(tp: Any) -> bool:
    inner, _ = zoo._unwrap(tp)
    return get_origin(inner) is list


# --------------------------------------------------------------------------------------------------
# One case


def run_case(
    entry: zoo.Entry, text: str, chunks: list[Any], label: str, want: tuple[Any, ...], repeated_keys: bool
) -> list[Diff]:
    """Every check of one case; `repeated_keys`: some key is written twice (then a later value replaces
    an earlier one, the one documented exception to growth: the partial rules are not checked)."""
    valid = want[0] == "value"
    ck = Checker(entry, text, label, valid)
    strict = valid and not repeated_keys
    tp = entry.tp
    s = unspool.stream(chunks, response_model=tp)
    prev: Any = None
    prev_repr = ""
    pending: list[tuple[str, str, str]] = []
    last: Any = MISSING
    raised: tuple[Any, ...] | None = None
    try:
        for p in s:
            last = p
            if not strict:
                continue
            if prev is not None:
                if repr(prev) != prev_repr:
                    ck.diff("snapshot changed while held", "", f"{prev_repr} -> {_short(repr(prev))}")
                for cat, where, detail in pending:
                    ck.diff(cat, where, detail)
                pending = []
                ck.grow(prev, p, tp, "", False, pending)
            ck.consistent(p, want[1], tp, "")
            prev, prev_repr = p, repr(p)
    except Exception as e:  # noqa: BLE001 - every exception is a finding unless validate_json raised it too
        raised = ("exception", type(e).__name__, _short(str(e), 160))
        if not (want[0] == "exception" and want[1] == type(e).__name__):
            ck.diff(
                f"iteration raised {type(e).__name__}",
                "",
                f"{_short(str(e), 300)}; expected outcome {_short(want, 200)}",
            )
    for cat, where, detail in pending:
        # the last pair: the later one is the final state, so the root closed in it
        if "(as it closed)" not in cat:
            cat += " (as it closed)"
        ck.diff(cat, where, detail)
    got = outcome_of(s.get_final_response)
    compare_outcomes(ck, got, want)
    if got[0] == "value" and raised is None:
        if last is MISSING:
            if got[1] is not None:  # (a final None shows as nothing was shown before: no change to yield)
                ck.diff("no partial was yielded", "", "")
        elif deep_diff(last, got[1]) is not None:
            d = loose_diff(last, got[1])
            if d is None:
                ck.diff(
                    "the last partial shows the final's values but is not it (a Partial, is_complete False)",
                    "",
                    f"{deep_diff(last, got[1])}",
                )
            else:
                ck.diff("the last partial is not the final value", "", f"{d}; last {_short(last)}")
        if s.errors:
            ck.diff("stream.errors not empty after a valid document", "", _short(s.errors))
    if is_list_root(tp):
        check_items(ck, entry, chunks, want)
    return list(ck.found.values())


def check_items(ck: Checker, entry: zoo.Entry, chunks: list[Any], want: tuple[Any, ...]) -> None:
    s = unspool.stream(chunks, response_model=entry.tp)
    items: list[Any] = []
    try:
        for it in s.items():
            items.append(it)
    except Exception as e:  # noqa: BLE001
        if not (want[0] == "exception" and want[1] == type(e).__name__):
            ck.diff(f"items() raised {type(e).__name__}", "", _short(str(e), 300))
        return
    got = outcome_of(s.get_final_response)
    compare_outcomes(ck, got, want, label="final after items()")
    if want[0] == "value":
        d = deep_diff(items, want[1])
        if d:
            ck.diff("items() differ from the final list", "", f"{d}: items {_short(items)}")


# --------------------------------------------------------------------------------------------------
# Documents and chunkings


@st.composite
def documents(draw: Any, entry: zoo.Entry) -> tuple[Any, bool]:
    value = draw(zoo.valid_documents(entry))
    broken = draw(st.integers(0, 2)) == 0  # a third are mutated (most of those are invalid)
    if broken:
        value = draw(zoo.mutated(value))
    return value, broken


def _cut(data: Any, rnd: Any, most: int) -> list[Any]:
    out, i = [], 0
    while i < len(data):
        n = rnd.randint(1, most)
        out.append(data[i : i + n])
        i += n
    return out


def _sizes(chunks: list[Any]) -> str:
    sizes = [len(c) for c in chunks]
    return ",".join(map(str, sizes[:60])) + (",..." if len(sizes) > 60 else "")


def chunkings(draw: Any, text: str) -> list[tuple[str, list[Any]]]:
    most = draw(st.sampled_from([1, 2, 3, 4, 6, 8, 16, 64]))
    cuts = _cut(text, draw(st.randoms(use_true_random=False)), most)
    data = text.encode("utf-8")
    bmost = draw(st.sampled_from([1, 2, 3, 5, 7, 16]))
    pieces = _cut(data, draw(st.randoms(use_true_random=False)), bmost)
    mixed = draw(st.booleans())
    if mixed:  # pieces that are whole UTF-8 go as str, now and then
        flips = draw(st.lists(st.booleans(), min_size=len(pieces), max_size=len(pieces)))
        out: list[Any] = []
        for piece, flip in zip(pieces, flips, strict=False):
            if flip:
                try:
                    out.append(piece.decode("utf-8"))
                    continue
                except UnicodeDecodeError:
                    pass
            out.append(piece)
        pieces = out
    return [
        ("char", list(text)),
        ("whole", [text]),
        (f"str cuts [{_sizes(cuts)}]", cuts),
        (f"{'mixed' if mixed else 'bytes'} cuts [{_sizes(pieces)}]", pieces),
    ]


# --------------------------------------------------------------------------------------------------
# The differential test


@pytest.mark.parametrize("entry", zoo.ENTRIES, ids=[e.name for e in zoo.ENTRIES])
def test_differential(entry: zoo.Entry) -> None:
    found: list[Diff] = []
    ta = adapter(entry)

    @settings(max_examples=PER_TYPE, **SETTINGS)
    @given(data=st.data())
    def run(data: Any) -> None:
        value, broken = data.draw(documents(entry), label="document")
        text, repeated_keys = data.draw(zoo.serialized(value), label="text")
        want = outcome_of(lambda: ta.validate_json(text))
        valid = want[0] == "value"
        case_diffs = 0
        for label, chunks in chunkings(data.draw, text):
            diffs = run_case(entry, text, chunks, label, want, repeated_keys)
            TALLY.cases += 1
            if valid:
                TALLY.valid_cases += 1
            else:
                TALLY.invalid_cases += 1
            if diffs:
                case_diffs += 1
                found.extend(diffs)
        TALLY.cases_with_diffs += case_diffs

    run()
    TALLY.diffs.extend(found)
    assert not found, f"{entry.name}: " + summary(found)


# --------------------------------------------------------------------------------------------------
# Through the OpenAI layer: the official SDK over real HTTP against the replay server

MODES = ["json_schema", "tools", "json", "md_json"]
APIS = ["chat", "responses"]
OPENAI_ENTRIES = [e for e in zoo.ENTRIES if e.openai]
MESSAGES = [{"role": "user", "content": "answer"}]


def _endpoint(client: Any, api: str) -> Any:
    return client.responses if api == "responses" else client.chat.completions


def _supported(mode: str, api: str) -> list[zoo.Entry]:
    """The entries the mode can ask for (strict Structured Outputs refuses some at once)."""
    out = []
    with openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key="test", max_retries=0) as sdk:
        c = unspool.from_openai(sdk, mode=mode)
        for e in OPENAI_ENTRIES:
            try:
                s = _endpoint(c, api).stream(model="m", messages=MESSAGES, response_model=e.tp)
            except unspool.SchemaError:
                TALLY.openai_skipped.append(f"{mode}/{api}: {e.name}")
                continue
            s.close()
            out.append(e)
    return out


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("mode", MODES)
def test_differential_openai(mode: str, api: str) -> None:
    entries = _supported(mode, api)
    docs: list[tuple[zoo.Entry, Any]] = []

    @settings(max_examples=OPENAI_PER_MODE, **SETTINGS)
    @given(data=st.data())
    def collect(data: Any) -> None:
        entry = data.draw(st.sampled_from(entries), label="entry")
        value, _ = data.draw(documents(entry), label="document")
        docs.append((entry, value))

    collect()
    found: list[Diff] = []
    replies = [Reply(document=value) for _, value in docs]
    with (
        ReplayServer(replies=replies) as server,
        openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0) as sdk,
    ):
        client = unspool.from_openai(sdk, mode=mode)
        for entry, value in docs:
            text = json.dumps(value, ensure_ascii=False)  # what the server sends (in its envelope or fence)
            want = outcome_of(lambda entry=entry, text=text: adapter(entry).validate_json(text))
            ck = Checker(entry, text, f"openai {mode}/{api}", want[0] == "value")
            stream = _endpoint(client, api).stream(model="m", messages=MESSAGES, response_model=entry.tp)
            try:
                for _ in stream:
                    pass
            except Exception as e:  # noqa: BLE001
                if not (want[0] == "exception" and want[1] == type(e).__name__):
                    ck.diff(f"openai: iteration raised {type(e).__name__}", "", _short(str(e), 300))
            compare_outcomes(ck, outcome_of(stream.get_final_response), want, label=f"openai final ({mode})")
            stream.close()
            TALLY.openai_cases += 1
            TALLY.cases_with_diffs += bool(ck.found)
            found.extend(ck.found.values())
    TALLY.diffs.extend(found)
    assert not found, f"{mode}/{api}: " + summary(found)


# --------------------------------------------------------------------------------------------------
# The harness's own checks catch what they are meant to (so a clean run is not a vacuous one)


def test_the_checks_are_not_vacuous() -> None:
    entry = zoo.Entry("self-test", zoo.Person)
    ck = Checker(entry, "", "none", True)
    final = zoo.Person(name="Ada", age=123, height=1.5, active=True)
    ck.consistent(12, 123, int, ".age")  # a half-written number
    ck.consistent("ad", "admin", zoo.Literal["admin", "user"], ".role")  # a half-written literal
    ck.consistent([1, 2, 3], [1, 2], list[int], ".xs")  # a list longer than the final
    ck.consistent({"k": 1}, {"j": 1}, dict[str, int], ".d")  # a key the final lacks
    ck.consistent(zoo.Basic(name="Ada"), final, zoo.Person, "")  # another class
    out: list[tuple[str, str, str]] = []
    ck.grow("abc", "abd", str, ".s", False, out)  # not appended
    ck.grow([1, 2], [1], list[int], ".l", False, out)  # shrank
    ck.grow({"a": 1}, {"b": 1}, dict[str, int], ".d", False, out)  # a key went away
    ck.grow(3, 4, int, ".n", False, out)  # an atom changed
    ck.grow("x", None, str, ".v", False, out)  # back to None
    cats = {d.category for d in ck.found.values()} | {c for c, _, _ in out}
    assert cats == {
        "partial: atom shown other than its final value",
        "partial: list longer than the final",
        "partial: dict key not in the final",
        "partial: class differs from the final",
        "growth: a string did not grow by appending",
        "growth: a list shrank",
        "growth: a dict key went away",
        "growth: an atom changed",
        "growth: a shown value went back to None",
    }
    assert deep_diff([zoo.Basic(name="a")], [zoo.Basic(name="a")]) is None
    assert (
        deep_diff(1, True) and deep_diff(1.0, 1) and deep_diff(-0.0, 0.0) and deep_diff({1: "a"}, {"1": "a"})
    )
    assert compare_outcomes_diffs(("errors", [("missing", ("a",))]), ("errors", [("missing", ("b",))]))
    assert compare_outcomes_diffs(("value", {"a": 1}), ("errors", []))
    assert not compare_outcomes_diffs(("value", [1.5]), ("value", [1.5]))


def compare_outcomes_diffs(got: tuple[Any, ...], want: tuple[Any, ...]) -> list[Diff]:
    ck = Checker(zoo.Entry("self-test", Any), "", "none", True)
    compare_outcomes(ck, got, want)
    return list(ck.found.values())
