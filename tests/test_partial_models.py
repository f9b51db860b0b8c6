"""What partial objects show while a response model streams, and how it is validated."""

from __future__ import annotations

import enum
import json
from datetime import datetime
from typing import Annotated, Any, Literal

import pytest
import unspool
from pydantic import (
    AfterValidator,
    AliasChoices,
    AliasGenerator,
    AliasPath,
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel


def char_chunks(text: str) -> list[str]:
    return list(text)


def stream_all(doc: str, model: Any, **kw: Any) -> tuple[list[Any], Any]:
    s = unspool.stream(char_chunks(doc), response_model=model, **kw)
    seen = list(s)
    return seen, s.get_final_response()


class Role(enum.Enum):
    admin = "admin"
    viewer = "viewer"


class Account(BaseModel):
    name: str
    role: Role
    level: Literal["basic", "premium"]
    age: int
    score: float
    active: bool
    joined: datetime
    motto: Annotated[str, unspool.Done]


ACCOUNT = {
    "name": "Ada",
    "role": "admin",
    "level": "premium",
    "age": 33,
    "score": 12.5,
    "active": True,
    "joined": "2024-01-02T03:04:05Z",
    "motto": "first",
}


def test_atoms_appear_only_whole_and_valid() -> None:
    doc = json.dumps(ACCOUNT)
    seen, final = stream_all(doc, Account)
    assert final == Account.model_validate_json(doc)
    for p in seen:
        for name in ("role", "level", "age", "score", "active", "joined", "motto"):
            value = getattr(p, name)
            assert value is None or value == getattr(final, name), (name, value)
        assert final.name.startswith(p.name)
    # And each atom did show up before the end.
    assert any(p.age == 33 and p.joined is None for p in seen)


def test_string_fields_start_empty_and_grow() -> None:
    class Idea(BaseModel):
        title: str
        tags: list[str]
        meta: dict[str, int]
        note: str = "n/a"
        rating: int | None = None

    doc = json.dumps({"title": "Hi there", "tags": ["a", "bc"], "meta": {"x": 1}, "note": "ok"})
    seen, final = stream_all(doc, Idea)
    first = seen[0]
    assert (first.title, first.tags, first.meta, first.note, first.rating) == ("", [], {}, "n/a", None)
    titles = [p.title for p in seen]
    assert titles == sorted(titles, key=len) and titles[-1] == "Hi there"
    assert any(p.tags == ["a", "b"] for p in seen)
    assert final == Idea.model_validate_json(doc)


def test_never_the_same_partial_twice_in_a_row() -> None:
    doc = json.dumps([ACCOUNT, ACCOUNT])
    seen, _ = stream_all(doc, list[Account])
    for a, b in zip(seen, seen[1:], strict=False):
        assert (
            a != b
            or type(a) is not type(b)
            or any(type(x) is not type(y) for x, y in zip(a, b, strict=False))
        )


def test_validators_never_see_partial_data() -> None:
    calls: list[Any] = []

    class Checked(BaseModel):
        name: str
        count: int

        @field_validator("name")
        @classmethod
        def name_seen(cls, v: str) -> str:
            calls.append(("name", v))
            return v

        @model_validator(mode="after")
        def whole_seen(self) -> Checked:
            calls.append(("model", self.name, self.count))
            return self

    doc = json.dumps([{"name": "alpha", "count": 1}, {"name": "beta", "count": 2}])
    seen, final = stream_all(doc, list[Checked])
    assert len(seen) > 4
    # `name` has a validator of its model's, which may change it: it shows once its object closes.
    assert all(x.name == "" for p in seen for x in p if not unspool.is_complete(x))
    assert ("name", "alp") not in calls
    assert all(c[1] in ("alpha", "beta") for c in calls)
    # Each object validated once when it closed (no re-validation per chunk).
    assert calls.count(("model", "alpha", 1)) == 1 and calls.count(("model", "beta", 2)) == 1
    assert [type(x) for x in final] == [Checked, Checked]


def test_a_scalar_field_that_needs_validating_is_validated_once_when_it_closes() -> None:
    # Scalars that are not already their value (a constrained number, a datetime, a Literal, a field with
    # its own validator) are validated as they close, once, whether the core or the engine takes them in.
    calls: list[Any] = []

    def seen(v: int) -> int:
        calls.append(v)
        return v

    class Row(BaseModel):
        n: Annotated[int, AfterValidator(seen)]
        at: datetime
        mood: Literal["up", "down"]
        rank: int = Field(ge=1)

    doc = json.dumps(
        [{"n": i, "at": "2024-01-02T03:04:05Z", "mood": "up", "rank": 1 + i} for i in range(5)], indent=1
    )
    for size in (1, 3, len(doc)):
        calls.clear()
        s = unspool.stream([doc[i : i + size] for i in range(0, len(doc), size)], response_model=list[Row])
        seen_, final = list(s), s.get_final_response()
        assert sorted(calls) == [0, 1, 2, 3, 4], size
        assert final == TypeAdapter(list[Row]).validate_json(doc)
        for p in seen_:
            for row in p:
                assert row.at is None or isinstance(row.at, datetime)
                assert row.mood in (None, "up")
    # A value that fails reads as its placeholder from then on (its object stays visible), the error
    # recorded once, and the end raises.
    bad = json.dumps([{"n": 1, "at": "2024-01-02T03:04:05Z", "mood": "sideways", "rank": 0}])
    s = unspool.stream(list(bad), response_model=list[Row])
    partials = list(s)
    assert all(p[0].mood is None and p[0].rank is None for p in partials if p)
    assert partials[-1][0].n == 1 and partials[-1][0].at is not None
    assert len(s.errors) == 2
    with pytest.raises(ValidationError):
        s.get_final_response()


def test_a_default_validated_by_pydantic_is_validated_when_the_field_does_not_arrive() -> None:
    class Tagged(BaseModel):
        name: str
        tag: Annotated[str, AfterValidator(str.upper)] = Field("none", validate_default=True)

    for doc in ('{"name": "a"}', '{"name": "a", "tag": "b"}'):
        _, final = stream_all(doc, Tagged)
        assert final == Tagged.model_validate_json(doc)
        assert final.tag in ("NONE", "B")


class Reshaped(BaseModel):
    code: int = Field(ge=0)
    qty: int = 0
    name: str = ""

    @field_validator("code", mode="before")
    @classmethod
    def flip_big(cls, v: Any) -> Any:
        return -v if isinstance(v, int) and v > 1000 else v

    @field_validator("qty", mode="before")
    @classmethod
    def as_text(cls, v: Any) -> Any:
        return str(v)


class Chosen(BaseModel):
    x: int = Field(validation_alias=AliasChoices("x", "X"), ge=0)
    y: int = Field(0, validation_alias=AliasPath("w", 0))


class Wrapped(BaseModel):
    n: int = Field(ge=0)

    @model_validator(mode="before")
    @classmethod
    def negate(cls, data: Any) -> Any:
        return {**data, "n": -data["n"]} if isinstance(data, dict) and data.get("n", 0) > 10 else data


@pytest.mark.parametrize(
    ("model", "doc"),
    [
        (Reshaped, '{"code": 411836, "qty": 5, "name": "y"}'),
        (Reshaped, '{"code": 7, "qty": 522704}'),
        (Reshaped, '{"code": "142109"}'),
        (Chosen, '{"X": -1}'),
        (Chosen, '{"X": "7", "w": [3]}'),
        (Chosen, '{"x": 2, "w": [-1.5]}'),
        (Wrapped, '{"n": 11}'),
        (Wrapped, '{"n": 3}'),
    ],
)
def test_values_a_validator_reshapes_or_an_alias_choice_finds_are_validated_like_pydantic(
    model: Any, doc: str
) -> None:
    # A field's value is validated when it closes; values it could not have seen then (what a
    # model's "before" validator returns, a key found through AliasChoices/AliasPath) are validated
    # when the object closes, as pydantic does.
    s = unspool.stream(list(doc), response_model=model)
    list(s)
    try:
        expected: Any = model.model_validate_json(doc)
    except ValidationError as e:
        with pytest.raises(ValidationError) as got:
            s.get_final_response()
        assert got.value.errors() == e.errors()
    else:
        final = s.get_final_response()
        assert final == expected and type(final) is model


def test_copies_of_a_partial_object_know_which_fields_closed() -> None:
    import copy

    class Note(BaseModel):
        title: str = ""
        tags: list[str] = []

    doc = '{"title": "hello", "tags": ["aa", "bb"]}'
    for p in unspool.stream([doc[i : i + 2] for i in range(0, len(doc), 2)], response_model=Note):
        for c in (copy.copy(p), copy.deepcopy(p), p.model_copy(), p.model_copy(deep=True)):
            assert c == p
            for field in ("title", "tags"):
                assert unspool.is_complete(c, field) is unspool.is_complete(p, field)


class Cat(BaseModel):
    kind: Literal["cat"]
    name: str


class Dog(BaseModel):
    kind: Literal["dog"]
    name: str
    good: bool = True


class Pets(BaseModel):
    pets: list[Annotated[Cat | Dog, Field(discriminator="kind")]]


def test_discriminated_union_waits_for_the_tag() -> None:
    doc = json.dumps({"pets": [{"kind": "dog", "name": "Rex"}, {"kind": "cat", "name": "Tom"}]})
    seen, final = stream_all(doc, Pets)
    for p in seen:
        for pet in p.pets:
            assert isinstance(pet, (Cat, Dog))
            assert pet.kind in ("cat", "dog")
    assert any(len(p.pets) == 1 and isinstance(p.pets[0], Dog) and p.pets[0].name == "R" for p in seen)
    assert final == Pets.model_validate_json(doc)


def test_a_tagged_member_shows_its_atoms_as_soon_as_the_tag_closes() -> None:
    # The tag's string closes in its own chunk and only numbers and booleans follow: no string ever
    # opens inside the member, yet each field must show as soon as it is whole.
    chunks = ['{"pets": [{"kind": "do', 'g"', ', "good": false', ', "name": "R', 'ex"}', "]}"]
    s = unspool.stream(chunks, response_model=Pets)
    shown = [[(type(p).__mro__[1], p.good, p.name) for p in partial.pets] for partial in s]
    assert shown[:4] == [[], [(Dog, True, "")], [(Dog, False, "")], [(Dog, False, "R")]]
    assert s.get_final_response() == Pets(pets=[Dog(kind="dog", name="Rex", good=False)])


def test_a_final_value_of_none_is_yielded() -> None:
    # None is a value like any other: a validator may turn the finished list into it.
    nothing_if_empty = Annotated[list[int], AfterValidator(lambda v: v or None)]
    s = unspool.stream(["[", "]"], response_model=nothing_if_empty)
    assert list(s) == [None]  # (the list is held back: its validator may change it)
    assert s.partial is None and s.get_final_response() is None


def test_aliases_map_keys_like_pydantic() -> None:
    class Person(BaseModel):
        model_config = ConfigDict(alias_generator=AliasGenerator(validation_alias=to_camel))
        first_name: str
        home_town: str = Field(validation_alias="town")

    doc = json.dumps({"firstName": "Grace", "town": "NYC"})
    seen, final = stream_all(doc, Person)
    assert any(p.first_name == "Gra" for p in seen)
    assert any(p.home_town == "N" for p in seen)
    assert final == TypeAdapter(Person).validate_json(doc)


def test_not_null_holds_the_object_back() -> None:
    class Item(BaseModel):
        id: Annotated[int, unspool.NotNull]
        label: str

    doc = json.dumps([{"label": "first", "id": 1}])
    seen, final = stream_all(doc, list[Item])
    for p in seen:
        assert all(item.id is not None for item in p)
    assert seen[0] == [] or seen[0][0].id == 1
    assert final == TypeAdapter(list[Item]).validate_json(doc)


def test_a_root_held_back_shows_nothing_until_it_can() -> None:
    # The root waits for its NotNull field while plain fields close before it: nothing is yielded
    # until it shows, and never None.
    class Card(BaseModel):
        title: str
        count: int
        key: Annotated[str, unspool.NotNull]

    doc = json.dumps({"title": "abc", "count": 3, "tags": [1], "key": "k1"})
    for chunks in (char_chunks(doc), [doc[i : i + 3] for i in range(0, len(doc), 3)]):
        s = unspool.stream(chunks, response_model=Card)
        seen = list(s)
        assert seen and all(isinstance(p, Card) for p in seen)
        assert (seen[0].title, seen[0].count) == ("abc", 3) and isinstance(seen[0].key, str)
        assert seen[-1] == Card(title="abc", count=3, key="k1")


def test_a_held_member_behind_a_default_that_is_not_equal_to_itself_is_not_repeated() -> None:
    # While the member waits for its NotNull field, the field shows its default: NaN, which is not equal
    # to itself. The partial around it has not changed all the same, so it is not yielded again.
    class Inner(BaseModel):
        id: Annotated[str, unspool.NotNull]
        a: int = 0
        b: int = 0

    class Outer(BaseModel):
        x: Inner | float = float("nan")
        t: str = ""

    s = unspool.stream(['{"x":{', '"a":1,', '"b":2,', '"id":"k"}}'], response_model=Outer)
    seen = list(s)
    assert len(seen) == 2 and isinstance(seen[0].x, float)
    assert seen[-1] == Outer(x=Inner(id="k", a=1, b=2))


def test_nested_models_lists_and_optional() -> None:
    class Leaf(BaseModel):
        v: int

    class Branch(BaseModel):
        leaves: list[list[Leaf]]
        extra: Leaf | None = None
        by_name: dict[str, Leaf] = {}

    doc = json.dumps(
        {"leaves": [[{"v": 1}, {"v": 2}], [{"v": 3}]], "extra": None, "by_name": {"a": {"v": 4}}}
    )
    seen, final = stream_all(doc, Branch)
    assert any(p.leaves == [[Leaf(v=1)]] for p in seen)
    assert any(p.by_name and isinstance(p.by_name.get("a"), Leaf) for p in seen)
    assert final == Branch.model_validate_json(doc)


def test_root_model_and_plain_json() -> None:
    class Names(RootModel[list[str]]):
        pass

    doc = json.dumps(["ab", "cd"])
    seen, final = stream_all(doc, Names)
    assert final == Names.model_validate_json(doc)
    for model in (Any, None):
        seen_any, final_any = stream_all(json.dumps({"a": [1, "xy"]}), model)
        assert final_any == {"a": [1, "xy"]}
        assert {"a": [1, "x"]} in seen_any


@pytest.mark.parametrize("doc", ['[{"name": "a"}, {"name": "b"}]', '[{"name": 1}]', '[{"name": "a"}, 2]'])
def test_a_root_model_of_models_in_strict_mode_ends_as_pydantic_says(doc: str) -> None:
    class Tag(BaseModel):
        name: str

    class Tags(RootModel[list[Tag]]):
        pass

    s = unspool.stream(list(doc), response_model=Tags, strict=True)
    list(s)
    try:
        expected = Tags.model_validate_json(doc, strict=True)
    except ValidationError as e:
        with pytest.raises(ValidationError) as got:
            s.get_final_response()
        assert got.value.errors() == e.errors()
    else:
        assert s.get_final_response() == expected


def test_invalid_part_is_hidden_and_final_raises_like_pydantic() -> None:
    class Idea(BaseModel):
        title: str
        blurb: str = Field(max_length=5)

    doc = json.dumps([{"title": "ok", "blurb": "way too long"}, {"title": "b", "blurb": "fine"}])
    s = unspool.stream(char_chunks(doc), response_model=list[Idea])
    seen = list(s)
    assert s.errors, "the invalid item was not recorded"
    assert any(len(p) == 2 for p in seen)
    # The field reads as its placeholder; its object stays visible.
    assert seen[-1][0].blurb == "" and seen[-1][0].title == "ok"
    assert seen[-1][1].blurb == "fine"
    with pytest.raises(ValidationError) as got:
        s.get_final_response()
    with pytest.raises(ValidationError) as want:
        TypeAdapter(list[Idea]).validate_json(doc)
    assert got.value.errors() == want.value.errors()


class Limits(BaseModel):
    counts: list[Annotated[int | None, Field(gt=0)]]
    note: str | None = Field(None, max_length=4)


@pytest.mark.parametrize(
    "doc",
    [
        '{"counts": [-5, null, 2], "note": "far too long"}',
        '{"counts": [0], "note": null}',
        '{"counts": [1, null], "note": "ok"}',
    ],
)
def test_constraints_on_optional_values_are_checked(doc: str) -> None:
    # Constraints on `X | None` apply to X, as pydantic applies them; None passes.
    s = unspool.stream(char_chunks(doc), response_model=Limits)
    seen = list(s)
    try:
        want = Limits.model_validate_json(doc)
    except ValidationError as e:
        with pytest.raises(ValidationError) as got:
            s.get_final_response()
        assert got.value.errors() == e.errors()
        assert s.errors, "the invalid part was not recorded when it closed"
    else:
        assert s.get_final_response() == want and not s.errors
    # The note streams as text while it is open, whatever its limit.
    notes = [p.note for p in seen if isinstance(p.note, str)]
    if '"note": "' in doc:
        assert len(notes) > 2


def test_invalid_json_raises_and_keeps_what_arrived() -> None:
    class Idea(BaseModel):
        title: str

    text = '[{"title": "Note"}, {"title": x'
    s = unspool.stream(char_chunks(text), response_model=list[Idea])
    with pytest.raises(unspool.JSONDecodeError) as e:
        for _ in s:
            pass
    assert e.value.pos == text.index("x")
    assert s.text == text
    assert s.partial is not None and s.partial[0].title == "Note"


def test_min_interval_coalesces_but_final_state_is_yielded() -> None:
    doc = json.dumps([ACCOUNT])
    s = unspool.stream(char_chunks(doc), response_model=list[Account], min_interval=3600)
    seen = list(s)
    assert len(seen) <= 2
    assert seen[-1] == TypeAdapter(list[Account]).validate_json(doc)


def test_partial_type_and_is_complete() -> None:
    class Idea(BaseModel):
        title: str
        note: str
        year: int

    P = unspool.Partial[Idea]
    assert issubclass(P, Idea) and P is unspool.Partial[Idea]
    doc = json.dumps([{"title": "a", "note": "x", "year": 1}, {"title": "bb", "note": "yy", "year": 2}])
    seen, final = stream_all(doc, list[Idea])
    mid = next(p for p in seen if len(p) == 2 and p[1].title == "b")
    assert unspool.is_complete(mid[0]) and not unspool.is_complete(mid[1])
    assert not unspool.is_complete(mid[1], "title")
    assert isinstance(mid[1], P) and repr(mid[1]).startswith("Idea(")
    later = next(p for p in seen if len(p) == 2 and p[1].note == "y")
    assert unspool.is_complete(later[1], "title") and not unspool.is_complete(later[1], "note")
    assert mid[1].model_dump() == {"title": "b", "note": "", "year": None}
    assert all(type(x) is Idea for x in final)


def test_plain_union_streams_as_the_one_member_the_keys_fit() -> None:
    class Point(BaseModel):
        model_config = ConfigDict(extra="forbid")
        x: int
        y: int

    class Label(BaseModel):
        model_config = ConfigDict(extra="forbid")
        text: str

    doc = json.dumps([{"text": "hello"}, {"x": 1, "y": 2}])
    seen, final = stream_all(doc, list[Point | Label])
    # `extra="forbid"`: once `text` arrived, only Label can take the object, so it streams as Label.
    assert any(p and isinstance(p[0], Label) and p[0].text == "hel" for p in seen)
    assert final == TypeAdapter(list[Point | Label]).validate_json(doc)


def test_a_plain_union_that_smart_mode_decides_at_the_end_is_held_back_until_it_closes() -> None:
    class Basic(BaseModel):
        name: str

    class Detailed(BaseModel):
        name: str
        email: str

    for doc in ('[{"name": "Ada", "email": "a@x"}, {"name": "Bo"}]', '[{"name": "Ada"}]'):
        want = TypeAdapter(list[Basic | Detailed]).validate_json(doc)
        for size in (1, 2, 5, len(doc)):
            s = unspool.stream([doc[i : i + size] for i in range(0, len(doc), size)], list[Basic | Detailed])
            seen = list(s)
            assert s.get_final_response() == want
            classes: dict[int, type] = {}
            for p in seen:
                for i, item in enumerate(p):
                    # Shown only once closed, as the member smart mode takes: its class never changes.
                    assert unspool.is_complete(item) and item == want[i]
                    assert classes.setdefault(i, type(item)) is type(item)


def test_more_atoms_never_partial() -> None:
    from datetime import date, time
    from decimal import Decimal
    from uuid import UUID

    class Row(BaseModel):
        amount: Decimal
        uid: UUID
        day: date
        at: time

    doc = json.dumps(
        {
            "amount": "12.50",
            "uid": "12345678-1234-5678-1234-567812345678",
            "day": "2024-02-03",
            "at": "10:11:12",
        }
    )
    seen, final = stream_all(doc, Row)
    for p in seen:
        for name in ("amount", "uid", "day", "at"):
            assert getattr(p, name) in (None, getattr(final, name))
    assert final == Row.model_validate_json(doc)


def test_context_and_strict_reach_pydantic() -> None:
    class Scaled(BaseModel):
        n: int

        @field_validator("n")
        @classmethod
        def scale(cls, v: int, info: Any) -> int:
            return v * info.context["factor"]

    _, final = stream_all('{"n": 2}', Scaled, context={"factor": 10})
    assert final.n == 20
    with pytest.raises(ValidationError):
        stream_all('{"n": "2"}', Scaled, context={"factor": 1}, strict=True)
    _, lax = stream_all('{"n": "2"}', Scaled, context={"factor": 1})
    assert lax.n == 2


def test_bytes_chunks_cut_mid_character_keep_the_text() -> None:
    class Note(BaseModel):
        body: str

    data = json.dumps({"body": "héllo 🚀 wörld"}, ensure_ascii=False).encode()
    s = unspool.stream([data[i : i + 1] for i in range(len(data))], response_model=Note)
    bodies = [p.body for p in s]
    assert all("\ufffd" not in b for b in bodies)
    assert s.get_final_response().body == "héllo 🚀 wörld"
    assert s.text == data.decode()


def test_repeated_key_replaces_the_open_object() -> None:
    class Inner(BaseModel):
        v: str

    class Outer(BaseModel):
        a: Inner

    doc = '{"a": {"v": "first"}, "a": {"v": "second"}}'
    seen, final = stream_all(doc, Outer)
    assert final == Outer.model_validate_json(doc)
    assert seen[-1].a.v == "second"
    assert any(p.a is not None and p.a.v == "sec" for p in seen)


@pytest.mark.parametrize("doc", ["[1, 2]", '"text"', '{"xs": {"a": 1}}', '{"xs": [1, {"a": 1}]}', "3"])
def test_a_value_of_the_wrong_shape_fails_as_pydantic_says(doc: str) -> None:
    class M(BaseModel):
        xs: list[int]

    s = unspool.stream(iter(doc), M)
    list(s)
    with pytest.raises(ValidationError) as got:
        s.get_final_response()
    with pytest.raises(ValidationError) as want:
        TypeAdapter(M).validate_json(doc)
    assert got.value.errors() == want.value.errors()


def test_a_plain_union_ends_as_the_member_the_whole_value_fits() -> None:
    class Cat(BaseModel):
        kind: Literal["cat"]
        lives: int

    class Dog(BaseModel):
        kind: Literal["dog"]
        good: bool

    class Pets(BaseModel):
        pets: list[Cat | Dog]

    doc = '{"pets": [{"kind": "dog", "good": true}, {"kind": "cat", "lives": 9}]}'
    s = unspool.stream(char_chunks(doc), Pets)
    seen = list(s)
    final = s.get_final_response()
    assert final == TypeAdapter(Pets).validate_json(doc)
    assert type(final.pets[0]) is Dog and s.errors == []
    assert seen[-1] == final


def test_a_recursive_model_streams() -> None:
    class Tree(BaseModel):
        name: str
        children: list[Tree] = []

    Tree.model_rebuild()
    doc = '{"name": "root", "children": [{"name": "a", "children": [{"name": "a1"}]}, {"name": "b"}]}'
    seen, final = stream_all(doc, Tree)
    assert final == Tree.model_validate_json(doc)
    assert any(len(p.children) == 1 and p.children[0].name == "a" for p in seen)
