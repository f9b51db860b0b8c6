"""A zoo of response types for the differential harness (`test_differential.py`), and hypothesis
strategies for JSON documents of each: valid ones, built by walking the type, and mutations of them.

Every validator here is deterministic and pure: the same input gives the same output, whoever calls it
and however often, so pydantic's `validate_json` and unspool can be compared value for value.
"""

# The zoo spells unions both ways on purpose: `typing.Union`/`Optional` and `X | Y` are different
# objects at runtime, and unspool must take both.
# ruff: noqa: UP007, UP045

from __future__ import annotations

import base64
import copy
import datetime as dt
import decimal
import enum
import json
import types
import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Optional, Union, get_args, get_origin

import annotated_types
from hypothesis import strategies as st
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    RootModel,
    ValidationInfo,
    WrapValidator,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.fields import FieldInfo

# --------------------------------------------------------------------------------------------------
# Building blocks


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"
    BLUE = "blue"


class Size(str, enum.Enum):
    S = "s"
    M = "m"
    XL = "xl"


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2
    URGENT = 3


class Person(BaseModel):
    name: str
    age: int
    height: float
    active: bool
    nick: Optional[str] = None


class Ticket(BaseModel):
    status: Literal["open", "closed", "pending"]
    color: Color
    size: Size
    priority: Priority
    flag: Literal[1, 2, True] = 1


class Event(BaseModel):
    day: dt.date
    at: dt.datetime
    id: uuid.UUID
    seconds: float
    price: decimal.Decimal


class Limits(BaseModel):
    code: str = Field(max_length=5)
    tags: list[str] = Field(max_length=3)
    score: int = Field(ge=0, le=100)
    ratio: float = Field(ge=0, le=1)
    short: list[Annotated[str, Field(max_length=3)]] = []


def _len_of_b(data: dict[str, Any]) -> int:
    return len(data["b"])


class Defaults(BaseModel):
    a: int = 7
    b: str = "dflt"
    c: list[int] = [1, 2]
    d: Color = Color.RED
    e: Optional[str] = None
    f: list[str] = Field(default_factory=list)
    g: dict[str, int] = Field(default_factory=lambda: {"k": 1})
    h: int = Field(default_factory=_len_of_b)  # a factory that takes the validated data
    i: Person | None = None


class Aliased(BaseModel):
    user_name: str = Field(alias="userName")
    item_count: int = Field(alias="n")
    tags: list[str] = Field(default=[], alias="Tags")


class Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)
    first_name: str
    last_seen: Optional[dt.date] = None
    fav_colors: list[Color] = []
    home_town: str = "nowhere"


class Stripped(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)
    title: str
    tags: list[str]
    note: str | None = None


class Blob(BaseModel):
    model_config = ConfigDict(val_json_bytes="base64")
    name: str
    data: bytes
    more: list[bytes] = []


class Wrapper(BaseModel):
    inner: Optional[Person]
    note: str | None = None


class Team(BaseModel):
    name: str
    lead: Person
    members: list[Person]


class Forbid(BaseModel):
    model_config = ConfigDict(extra="forbid")
    a: int
    b: str


class Loose(BaseModel):
    model_config = ConfigDict(extra="allow")
    a: int
    b: str = ""


class StrictCfg(BaseModel):
    model_config = ConfigDict(strict=True)
    n: int
    day: dt.date
    u: uuid.UUID
    color: Color


class Containers(BaseModel):
    nums: set[int]
    frozen: frozenset[str] = frozenset()
    seq: tuple[int, ...]
    pair: tuple[int, str]


class Matrix(BaseModel):
    rows: list[list[float]]
    labels: Optional[list[str]] = None


class Anyish(BaseModel):
    meta: dict[str, Any]
    blob: Any = None
    n: int = 0


class Name(RootModel[str]):
    pass


class Named(BaseModel):
    name: Name
    nums: RootModel[list[int]]


# Unions of overlapping members


class Basic(BaseModel):
    name: str


class Detailed(BaseModel):
    name: str
    email: str


class IntV(BaseModel):
    value: int


class StrV(BaseModel):
    value: str


class Holder(BaseModel):
    who: Basic | Detailed
    many: list[IntV | StrV] = []
    val: int | str
    maybe: float | bool | None = None


class Cat(BaseModel):
    name: str
    lives: int


class Dog(BaseModel):
    name: str
    good: bool


class Mixed(BaseModel):
    x: Person | list[int] | str
    y: Union[Cat, Dog, None] = None


# Discriminated unions


class Circle(BaseModel):
    kind: Literal["circle"]
    r: float


class Square(BaseModel):
    kind: Literal["square", "box"]  # two tags for one member
    side: int


class Tri(BaseModel):
    kind: Literal["tri"] = "tri"
    sides: list[int] = []


ShapeT = Annotated[Union[Circle, Square, Tri], Field(discriminator="kind")]


class Drawing(BaseModel):
    title: str
    shapes: list[ShapeT]
    main: Circle | Square = Field(discriminator="kind")  # pydantic lifts it onto the field
    spare: Optional[ShapeT] = None


class Alpha(BaseModel):
    type_: Literal["alpha"] = Field(alias="type")
    a: str


class Beta(BaseModel):
    type_: Literal["beta"] = Field(alias="type")
    b: int


class Tagged(BaseModel):
    item: Annotated[Union[Alpha, Beta], Field(discriminator="type_")]
    items: list[Annotated[Alpha | Beta, Field(discriminator="type_")]] = []


# Dicts with typed keys


class KeyedColor(BaseModel):
    counts: dict[Color, int]
    sizes: dict[Size, str] = {}


class DateKeys(BaseModel):
    by_day: dict[dt.date, int]
    label: str = ""


LowerKey = Annotated[str, AfterValidator(str.lower)]

# Validators of every mode


def _tag_after(v: str, info: ValidationInfo) -> str:
    return f"{v}|after:{info.mode}"


class FieldVals(BaseModel):
    b: int
    a: str
    w: int
    p: str
    m: list[int] = []

    @field_validator("b", mode="before")
    @classmethod
    def _before(cls, v: Any) -> Any:
        # "7" becomes 7; anything else goes on unchanged
        return int(v) if isinstance(v, str) and v.strip().lstrip("-").isdigit() else v

    @field_validator("a", mode="after")
    @classmethod
    def _after(cls, v: str, info: ValidationInfo) -> str:
        return _tag_after(v, info)

    @field_validator("w", mode="wrap")
    @classmethod
    def _wrap(cls, v: Any, handler: Any) -> int:
        return int(handler(v)) * 10

    @field_validator("p", mode="plain")
    @classmethod
    def _plain(cls, v: Any) -> str:
        return f"plain:{v!r}"

    @field_validator("m", mode="after")
    @classmethod
    def _sorted(cls, v: list[int]) -> list[int]:
        return sorted(v)


class ModeTag(BaseModel):
    v: str
    n: int = 0

    @field_validator("v")
    @classmethod
    def _mode(cls, v: str, info: ValidationInfo) -> str:
        return f"{v}@{info.mode}"


class Child(BaseModel):
    x: int
    label: str = ""


class ModelVals(BaseModel):
    child: Child
    child_x: int = -1
    total: int = 0

    @model_validator(mode="before")
    @classmethod
    def _peek(cls, data: Any) -> Any:
        # indexes into the raw nested data, as a user's validator would
        if isinstance(data, dict) and "child" in data:
            data = {**data, "child_x": data["child"]["x"]}
        return data

    @model_validator(mode="after")
    def _sum(self) -> ModelVals:
        object.__setattr__(self, "total", self.child.x + self.child_x)
        return self


class WrapModel(BaseModel):
    a: int
    b: list[str] = []

    @model_validator(mode="wrap")
    @classmethod
    def _wrap(cls, data: Any, handler: Any) -> Any:
        obj = handler(data)
        if obj.a < -1_000_000:
            raise ValueError("a too small")
        return obj


class Range(BaseModel):
    lo: int
    hi: int

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.lo > self.hi:
            raise ValueError("lo > hi")
        return self


def _no_digits(v: str) -> str:
    if any(c.isdigit() for c in v):
        raise ValueError("digits are not allowed")
    return v


def _strip_if_str(v: Any) -> Any:
    return v.strip() if isinstance(v, str) else v


def _plus_one(v: Any, handler: Any) -> int:
    return int(handler(v)) + 1


def _upper_any(v: Any) -> str:
    return str(v).upper()


class AnnVals(BaseModel):
    a: Annotated[int, AfterValidator(lambda v: v * 2)]
    b: Annotated[str, BeforeValidator(_strip_if_str)]
    c: Annotated[int, WrapValidator(_plus_one)]
    d: Annotated[str, PlainValidator(_upper_any)]
    e: list[Annotated[int, AfterValidator(abs)]] = []
    word: Annotated[str, AfterValidator(_no_digits)] = "none"


# Recursion


class Tree(BaseModel):
    value: int
    children: list[Tree] = []


class Employee(BaseModel):
    name: str
    manager: Employee | None = None
    reports: list[Employee] = []


# RootModels


class Item(BaseModel):
    title: str
    qty: int = 1


class Items(RootModel[list[Item]]):
    pass


class Counts(RootModel[dict[str, int]]):
    pass


class Money(BaseModel):
    amount: decimal.Decimal
    currency: Literal["EUR", "USD"]


# --------------------------------------------------------------------------------------------------
# The zoo


@dataclass
class Entry:
    name: str
    tp: Any
    openai: bool = False  # also driven through the OpenAI layer
    strategy: Any = field(default=None, repr=False)  # valid documents (JSON values); None: walk the type


ENTRIES: list[Entry] = [
    Entry("Person", Person, openai=True),
    Entry("Ticket", Ticket, openai=True),
    Entry("Event", Event, openai=True),
    Entry("Limits", Limits, openai=True),
    Entry("Defaults", Defaults, openai=True),
    Entry("Aliased", Aliased, openai=True),
    Entry("Camel", Camel, openai=True),
    Entry("Stripped", Stripped, openai=True),
    Entry("Blob", Blob, openai=True),
    Entry("Wrapper", Wrapper),
    Entry("Team", Team),
    Entry("Forbid", Forbid),
    Entry("Loose", Loose),
    Entry("StrictCfg", StrictCfg),
    Entry("Containers", Containers),
    Entry("Named", Named),
    Entry("Matrix", Matrix),
    Entry("Anyish", Anyish),
    Entry("Holder", Holder, openai=True),
    Entry("Mixed", Mixed),
    Entry("list[Basic|Detailed]", list[Basic | Detailed], openai=True),
    Entry("list[IntV|StrV]", list[IntV | StrV], openai=True),
    Entry("Basic|Detailed", Basic | Detailed),
    Entry("list[Cat|Dog]", list[Union[Cat, Dog]]),
    Entry("Drawing", Drawing, openai=True),
    Entry("Tagged", Tagged, openai=True),
    Entry("Shape(root)", ShapeT),
    Entry("dict[str,Shape]", dict[str, ShapeT]),
    Entry("KeyedColor", KeyedColor, openai=True),
    Entry("dict[int,str]", dict[int, str]),
    Entry("DateKeys", DateKeys),
    Entry("dict[LowerKey,int]", dict[LowerKey, int]),
    Entry("dict[str,Person]", dict[str, Person]),
    Entry("dict[str,list[int]]", dict[str, list[int]]),
    Entry("FieldVals", FieldVals, openai=True),
    Entry("ModeTag", ModeTag, openai=True),
    Entry("ModelVals", ModelVals, openai=True),
    Entry("WrapModel", WrapModel),
    Entry("Range", Range),
    Entry("AnnVals", AnnVals, openai=True),
    Entry("Tree", Tree, openai=True),
    Entry("Employee", Employee, openai=True),
    Entry("list[Tree]", list[Tree]),
    Entry("Items(RootModel)", Items, openai=True),
    Entry("Counts(RootModel)", Counts),
    Entry("Money", Money),
    Entry("list[Person]", list[Person]),
    Entry("list[int]", list[int]),
    Entry("Optional[Person]", Optional[Person]),
    Entry("list[str<=4]", list[Annotated[str, Field(max_length=4)]]),
    Entry("list[Color]", list[Color]),
    Entry("list[date]", list[dt.date]),
    Entry("list[int 0..9]<=3", Annotated[list[Annotated[int, Field(ge=0, le=9)]], Field(max_length=3)]),
    Entry("int", int),
    Entry("str", str),
    Entry("Literal", Literal["yes", "no", 3]),
]

# --------------------------------------------------------------------------------------------------
# Valid documents, from a walk of the type

# Enough of the awkward characters: quotes, backslashes, controls, non-ASCII, astral (surrogate pairs
# when escaped), U+2028; and plenty of plain letters and spaces.
_CHARS = st.one_of(
    st.sampled_from(list("abcxyz ABC")),
    st.sampled_from(list(' "\\/\n\t\r\x00\x1féßπ中😀\u2028ǅ')),
    st.characters(codec="utf-8", exclude_categories=("Cs",)),
)
TEXT = st.text(alphabet=_CHARS, max_size=8)
# Whitespace that `str_strip_whitespace` takes off
_PAD = st.sampled_from(["", "", " ", "  ", "\t", "\n "])
_ZONES = [
    None,
    dt.timezone.utc,
    dt.timezone(dt.timedelta(hours=5, minutes=30)),
    dt.timezone(dt.timedelta(hours=-8)),
]
MAX_DEPTH = 5  # containers deeper than this are generated empty (recursive models end)


def _unwrap(tp: Any) -> tuple[Any, list[Any]]:
    """The type inside `Annotated[...]`, and its metadata (a `Field(...)`'s constraints spread out)."""
    meta: list[Any] = []
    while get_origin(tp) is Annotated:
        args = get_args(tp)
        tp = args[0]
        meta.extend(args[1:])
    flat: list[Any] = []
    for m in meta:
        if isinstance(m, FieldInfo):
            flat.extend(m.metadata)
        else:
            flat.append(m)
    return tp, flat


def _bounds(meta: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in meta:
        if isinstance(m, annotated_types.MaxLen):
            out["max_len"] = m.max_length
        elif isinstance(m, annotated_types.MinLen):
            out["min_len"] = m.min_length
        elif isinstance(m, annotated_types.Ge):
            out["ge"] = m.ge
        elif isinstance(m, annotated_types.Le):
            out["le"] = m.le
        elif isinstance(m, annotated_types.Gt):
            out["ge"] = m.gt + 1
        elif isinstance(m, annotated_types.Lt):
            out["le"] = m.lt - 1
    return out


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (Union, types.UnionType)


def _json_leaf(depth: int) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.booleans(), st.integers(-100, 100), TEXT)


def any_json(depth: int = 0) -> st.SearchStrategy[Any]:
    if depth >= 2:
        return _json_leaf(depth)
    return st.one_of(
        _json_leaf(depth),
        st.lists(st.deferred(lambda: any_json(depth + 1)), max_size=2),
        st.dictionaries(TEXT, st.deferred(lambda: any_json(depth + 1)), max_size=2),
    )


@dataclass(frozen=True)
class _Cfg:
    strip: bool = False
    base64: bool = False


def _text(b: dict[str, Any], cfg: _Cfg) -> st.SearchStrategy[str]:
    most = b.get("max_len", 8)
    s = st.text(alphabet=_CHARS, min_size=b.get("min_len", 0), max_size=min(most, 8))
    if cfg.strip:
        # padded with whitespace the validation strips (still within max_length once stripped)
        s = st.tuples(_PAD, s, _PAD).map(lambda t: t[0] + t[1] + t[2])
    return s


def _int(b: dict[str, Any]) -> st.SearchStrategy[int]:
    lo, hi = b.get("ge"), b.get("le")
    if lo is not None or hi is not None:
        return st.integers(lo, hi)
    return st.one_of(
        st.integers(-1000, 1000), st.integers(-(2**63), 2**63 - 1), st.integers(-(10**25), 10**25)
    )


def _float(b: dict[str, Any]) -> st.SearchStrategy[Any]:
    lo, hi = b.get("ge"), b.get("le")
    f = st.floats(min_value=lo, max_value=hi, allow_nan=False, allow_infinity=False)
    ints = st.integers(-(10**6) if lo is None else int(lo), 10**6 if hi is None else int(hi))
    return st.one_of(f, ints)


def _datetime() -> st.SearchStrategy[Any]:
    aware = st.builds(
        lambda d, z: d.replace(tzinfo=z).isoformat(),
        st.datetimes(min_value=dt.datetime(1000, 1, 1), max_value=dt.datetime(9998, 12, 31)),
        st.sampled_from(_ZONES),
    )
    return st.one_of(aware, st.integers(0, 2_000_000_000))  # unix seconds are datetimes too


def _key(tp: Any) -> st.SearchStrategy[str]:
    """JSON object keys for a dict keyed by `tp`."""
    inner, _ = _unwrap(tp)
    if isinstance(inner, type) and issubclass(inner, enum.Enum):
        return st.sampled_from([str(m.value) for m in inner])
    if inner is int:
        return st.integers(-1000, 1000).map(str)
    if inner is dt.date:
        return st.dates().map(dt.date.isoformat)
    return TEXT


def strategy(tp: Any, depth: int = 0, cfg: _Cfg = _Cfg()) -> st.SearchStrategy[Any]:
    """Valid JSON values (as Python objects) for `tp` (validators aside: some may still refuse one)."""
    inner, meta = _unwrap(tp)
    b = _bounds(meta)
    origin, args = get_origin(inner), get_args(inner)
    if inner is Any or inner is object:
        return any_json(depth)
    if inner is None or inner is type(None):
        return st.none()
    if _is_union(inner):
        members = [a for a in args if a is not type(None)]
        nullable = len(members) < len(args)
        if nullable and depth >= MAX_DEPTH:
            return st.none()
        options = [strategy(m, depth, cfg) for m in members]
        if nullable:
            options.append(st.none())
        return st.one_of(options)
    if origin is Literal:
        return st.sampled_from(args)
    if isinstance(inner, type) and issubclass(inner, enum.Enum):
        return st.sampled_from([m.value for m in inner])
    if isinstance(inner, type) and issubclass(inner, RootModel):
        root = inner.model_fields["root"]
        return strategy(
            Annotated[(root.annotation, *root.metadata)] if root.metadata else root.annotation, depth, cfg
        )
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        return _model(inner, depth)
    if origin in (list, set, frozenset, tuple) or inner in (list, tuple):
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            return st.tuples(*[strategy(a, depth + 1, cfg) for a in args]).map(list)
        item = strategy(args[0], depth + 1, cfg) if args else any_json(depth + 1)
        most = 3 if depth < 3 else (1 if depth < MAX_DEPTH else 0)
        most = min(most, b.get("max_len", most))
        return st.lists(item, min_size=min(b.get("min_len", 0), most), max_size=most)
    if origin is dict or inner is dict:
        key = _key(args[0]) if args else TEXT
        value = strategy(args[1], depth + 1, cfg) if args else any_json(depth + 1)
        most = 3 if depth < 3 else (1 if depth < MAX_DEPTH else 0)
        return st.dictionaries(key, value, max_size=most)
    if inner is str:
        return _text(b, cfg)
    if inner is bool:
        return st.booleans()
    if inner is int:
        return _int(b)
    if inner is float or inner is decimal.Decimal:
        return _float(b)
    if inner is bytes:
        raw = st.binary(max_size=9)
        if cfg.base64:
            return st.one_of(
                raw.map(lambda x: base64.b64encode(x).decode()),
                raw.map(lambda x: base64.urlsafe_b64encode(x).decode()),
            )
        return TEXT
    if inner is dt.date:
        return st.dates(min_value=dt.date(1000, 1, 1)).map(dt.date.isoformat)
    if inner is dt.datetime:
        return _datetime()
    if inner is uuid.UUID:
        return st.uuids().map(str)
    raise TypeError(f"the zoo has no strategy for {tp!r}")


def _field_type(info: FieldInfo) -> Any:
    return Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation


def _json_key(name: str, info: FieldInfo, model: type[BaseModel]) -> str:
    if isinstance(info.validation_alias, str):
        return info.validation_alias
    return info.alias or name


_models: dict[tuple[type, int], st.SearchStrategy[Any]] = {}


def _model(model: type[BaseModel], depth: int) -> st.SearchStrategy[dict[str, Any]]:
    hit = _models.get((model, depth))
    if hit is not None:
        return hit
    conf = model.model_config
    cfg = _Cfg(strip=bool(conf.get("str_strip_whitespace")), base64=conf.get("val_json_bytes") == "base64")
    by_name = bool(conf.get("populate_by_name") or conf.get("validate_by_name"))
    fields = []
    for name, info in model.model_fields.items():
        key = _json_key(name, info, model)
        fields.append(
            (
                name,
                key,
                info.is_required(),
                st.deferred(lambda info=info: strategy(_field_type(info), depth + 1, cfg)),
            )
        )
    extra = conf.get("extra") == "allow"

    @st.composite
    def build(draw: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, key, required, value in fields:
            if not required and (depth >= MAX_DEPTH or draw(st.booleans())):
                continue  # left to its default
            if by_name and key != name and draw(st.booleans()):
                key = name
            out[key] = draw(value)
        if extra and draw(st.booleans()):
            out[draw(st.sampled_from(["zz", "extra_1", "ünï"]))] = draw(any_json(depth + 1))
        if len(out) > 1 and draw(st.integers(0, 3)) == 0:  # sometimes in another order
            order = draw(st.permutations(list(out)))
            out = {k: out[k] for k in order}
        return out

    s = _models[(model, depth)] = build()
    return s


def valid_documents(entry: Entry) -> st.SearchStrategy[Any]:
    if entry.strategy is None:
        entry.strategy = strategy(entry.tp)
    return entry.strategy


# --------------------------------------------------------------------------------------------------
# Invalid documents: one mutation of a valid one

_WRONG = st.sampled_from(
    [{}, [], "x", "", 3, -7, 2.5, True, False, None, {"bogus": 1}, [1, "a"], "not-a-member-Ω"]
)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    out = [(path, value)]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*path, i))
    return out


def _set(root: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    parent = root
    for k in path[:-1]:
        parent = parent[k]
    parent[path[-1]] = new
    return root


@st.composite
def mutated(draw: Any, value: Any) -> Any:
    """`value` with one thing broken: a wrong type, a missing or unknown key, a bad list element, a
    string too long, a number out of range, a value no enum or literal has."""
    value = copy.deepcopy(value)
    path, sub = draw(st.sampled_from(_paths(value)))
    kinds = ["wrong_type"]
    if isinstance(sub, dict):
        kinds += ["add_key"]
        if sub:
            kinds += ["drop_key", "rename_key", "drop_key"]
    elif isinstance(sub, list):
        kinds += ["append_wrong", "insert_wrong", "too_long"]
    elif isinstance(sub, str):
        kinds += ["too_long_str", "not_member", "empty_str"]
    elif isinstance(sub, bool):
        kinds += ["not_member"]
    elif isinstance(sub, (int, float)):
        kinds += ["out_of_range", "out_of_range", "fraction"]
    kind = draw(st.sampled_from(kinds))
    if kind == "wrong_type":
        return _set(value, path, draw(_WRONG))
    if kind == "add_key":
        sub[draw(st.sampled_from(["bogus", "zz", "1x", "purple", "2020-13-40"]))] = draw(_WRONG)
        return value
    if kind == "drop_key":
        del sub[draw(st.sampled_from(list(sub)))]
        return value
    if kind == "rename_key":
        old = draw(st.sampled_from(list(sub)))
        new_key = draw(
            st.sampled_from(
                ["bogus", "purple", "x1", "2020-13-40", old.upper() if old.upper() != old else old + "_"]
            )
        )
        return _set(value, path, {(new_key if k == old else k): v for k, v in sub.items()})
    if kind == "append_wrong":
        sub.append(draw(_WRONG))
        return value
    if kind == "insert_wrong":
        sub.insert(draw(st.integers(0, len(sub))), draw(_WRONG))
        return value
    if kind == "too_long":
        return _set(value, path, (sub * 4) + [copy.deepcopy(sub[0]) if sub else 0] * 4)
    if kind == "too_long_str":
        return _set(value, path, sub + "x" * draw(st.integers(5, 300)))
    if kind == "not_member":
        return _set(value, path, draw(st.sampled_from(["purple", "OPEN", "maybe", "1"])))
    if kind == "empty_str":
        return _set(value, path, "")
    if kind == "out_of_range":
        return _set(value, path, draw(st.sampled_from([-1, 101, 10**9, -(10**9), 2**64, 1e300])))
    if kind == "fraction":
        return _set(value, path, draw(st.sampled_from([0.5, 1.25, -3.75, 1e-7])))
    raise AssertionError(kind)


# --------------------------------------------------------------------------------------------------
# Serialization


def _emit(
    value: Any,
    rnd: Any,
    indent: Any,
    ensure_ascii: bool,
    seps: tuple[str, str],
    dup: list[Any] | None,
    level: int,
) -> str:
    """JSON text of `value`, with `json.dumps`'s layout options, and (`dup`) now and then a key written
    twice: first with a decoy value, then with its own (the last one counts, for pydantic and unspool);
    the keys written twice are added to `dup`."""
    item_sep, key_sep = seps
    if isinstance(value, dict) and value:
        parts = []
        for k, v in value.items():
            key = json.dumps(k, ensure_ascii=ensure_ascii)
            if dup and rnd.random() < 0.2:
                decoy = rnd.choice([0, "decoy", [], {}, None, True])
                parts.append(key + key_sep + json.dumps(decoy))
                dup.append(k)
            parts.append(key + key_sep + _emit(v, rnd, indent, ensure_ascii, seps, dup, level + 1))
        return _wrap("{", "}", parts, indent, item_sep, level)
    if isinstance(value, list) and value:
        parts = [_emit(v, rnd, indent, ensure_ascii, seps, dup, level + 1) for v in value]
        return _wrap("[", "]", parts, indent, item_sep, level)
    return json.dumps(value, ensure_ascii=ensure_ascii)


def _wrap(open_: str, close: str, parts: list[str], indent: Any, item_sep: str, level: int) -> str:
    if indent is None:
        return open_ + item_sep.join(parts) + close
    pad = indent if isinstance(indent, str) else " " * indent
    inner = "\n" + pad * (level + 1)
    return open_ + inner + ("," + inner).join(parts) + "\n" + pad * level + close


@st.composite
def serialized(draw: Any, value: Any) -> tuple[str, bool]:
    """JSON text of `value` in one of several layouts, and whether some key in it is written twice."""
    indent = draw(st.sampled_from([None, None, None, 0, 1, 2, "\t"]))
    ensure_ascii = draw(st.booleans())
    seps = (
        draw(st.sampled_from([(", ", ": "), (",", ":"), (" , ", " : ")])) if indent is None else (",", ": ")
    )
    dup: list[Any] | None = [] if draw(st.integers(0, 5)) == 0 else None
    rnd = draw(st.randoms(use_true_random=False))
    text = _emit(value, rnd, indent, ensure_ascii, seps, dup, 0)
    if draw(st.integers(0, 4)) == 0:
        text = (
            draw(st.sampled_from([" ", "\n", "\t ", "\r\n"]))
            + text
            + draw(st.sampled_from(["", " ", "\n", " \r\n "]))
        )
    return text, bool(dup)


def annotation_text_capable(tp: Any) -> bool:
    """Whether a JSON string at a position of type `tp` may stream as growing text (a plain `str`
    somewhere in it, or `Any`), rather than be an atom (Literal, Enum, date, UUID...)."""
    inner, _ = _unwrap(tp)
    if inner is str or inner is Any or inner is object:
        return True
    if _is_union(inner):
        return any(annotation_text_capable(a) for a in get_args(inner))
    if isinstance(inner, type) and issubclass(inner, RootModel):
        return annotation_text_capable(inner.model_fields["root"].annotation)
    return False


def item_type(tp: Any, key: Any = None) -> Any:
    """The type of an element (list) or value (dict) of `tp`, looking through Annotated/Optional/RootModel."""
    inner, _ = _unwrap(tp)
    if _is_union(inner):
        found = [item_type(a, key) for a in get_args(inner) if a is not type(None)]
        found = [f for f in found if f is not Any]
        return Union[tuple(found)] if len(found) > 1 else (found[0] if found else Any)
    if isinstance(inner, type) and issubclass(inner, RootModel):
        return item_type(inner.model_fields["root"].annotation, key)
    origin, args = get_origin(inner), get_args(inner)
    if origin in (list, set, frozenset) and args:
        return args[0]
    if origin is tuple and args:
        if len(args) == 2 and args[1] is Ellipsis:
            return args[0]
        return args[key] if isinstance(key, int) and key < len(args) else Any
    if origin is dict and len(args) == 2:
        return args[1]
    return Any


def key_type(tp: Any) -> Any:
    inner, _ = _unwrap(tp)
    if _is_union(inner):
        for a in get_args(inner):
            k = key_type(a)
            if k is not None:
                return k
        return None
    if isinstance(inner, type) and issubclass(inner, RootModel):
        return key_type(inner.model_fields["root"].annotation)
    if get_origin(inner) is dict and len(get_args(inner)) == 2:
        return get_args(inner)[0]
    return None
