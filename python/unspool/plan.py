"""The plan: a response model compiled once into nodes, one per position the schema allows in the JSON.

Each node knows how its JSON value streams (a string that grows, a container that gains members, or an
atom that appears only once whole and valid) and how to validate the value once it has closed.
"""

from __future__ import annotations

import enum
import json
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PydanticUserError,
    RootModel,
    SkipValidation,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    create_model,
)
from pydantic.fields import FieldInfo

from ._core import (
    HIDDEN,
    LATER,
    DictLevel,
    InnerFrame,
    ListLevel,
    Member,
    ModelLevel,
    RootModelLevel,
    build_partial,
)
from .markers import Done, NotNull
from .partial import SharedSet, forget_partial_class, partial_class, shown_before_arrival, slot_setters

# One level of a snapshot's open path, as the core's `build_partial` takes it.
Level = ModelLevel | ListLevel | DictLevel | RootModelLevel

__all__ = ["HIDDEN", "MISSING", "Node", "compile_plan", "holds_back", "json_text"]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""Not visible yet."""


class Frame:
    """One open container on the open path, with the values of its children that have closed."""

    __slots__ = ("node", "raw", "done", "n", "open_key", "specs", "failed")

    def __init__(self, node: Node, raw: Any, done: Any) -> None:
        self.node = node
        self.raw = raw
        self.done = done  # list (lists) or dict (objects) of finished children
        self.n = 0  # raw members already looked at
        # A member closed invalid and was left out of `done` (see `InnerFrame.take_in`): this container
        # cannot validate, and its error is recorded already.
        self.failed = False
        # This level's snapshot specs, kept while its open child stays the same.
        self.open_key: Any = MISSING
        self.specs: list[Level] = []


class Validation:
    """What closes need from the engine: where to record errors, and pydantic's options.

    A part that closes invalid returns `HIDDEN` (its error recorded): its parent leaves it out, so a field
    reads as its placeholder and a list loses the element. The parent itself stays visible, unvalidated,
    and its id goes in `invalid`, so that its own parent does not validate it either.
    """

    errors: list[ValidationError]
    context: Any
    strict: bool | None
    invalid: set[int]

    def closed(self, node: Node, raw: Any) -> Any:
        raise NotImplementedError


class Node:
    """How one JSON position streams. The base is an atom: shown only once closed and valid."""

    streams_text = False
    # JSON values of these types already are their validated value (plain int, bool, str...).
    as_is: tuple[type, ...] = ()

    # The enclosing model's configuration, where it changes how values validate (see `_config_for`).
    config: ConfigDict | None = None
    # The most characters (a string) or members (a list or dict) the value may have: past it, an open
    # value is invalid at once (see `Engine._over_limit`). None if unbounded, or if what is validated
    # is not the text as it stands (whitespace stripped, a "before" validator).
    max_length: int | None = None

    def __init__(self, tp: Any) -> None:
        self.tp = tp
        self._adapter: TypeAdapter[Any] | None = None

    @property
    def adapter(self) -> TypeAdapter[Any]:
        if self._adapter is None:
            self._adapter = _adapter(self.tp, self.config)
        return self._adapter

    def empty(self) -> Any:
        """What a field of this type shows before its value has started."""
        return None

    def validate(self, raw: Any, v: Validation, *, as_json: bool = True) -> Any:
        """The validated value of a closed `raw`; on failure `HIDDEN`, with the error recorded.

        It validates the JSON text of `raw`, as `validate_json` does (JSON mode: validators see
        `info.mode == 'json'`, bytes follow `val_json_bytes`, strictness judges JSON input), unless
        `as_json` is False: `raw` then holds validated objects already (a RootModel's root).
        """
        try:
            if as_json:
                return self.adapter.validate_json(json_text(raw), strict=v.strict, context=v.context)
            return self.adapter.validate_python(raw, context=v.context, strict=v.strict)
        except ValidationError as e:
            v.errors.append(e)
            return HIDDEN

    def trusted(self, raw: Any) -> bool:
        """True if the JSON value already is its validated value (no call into pydantic needed)."""
        return type(raw) in self.as_is

    def close(self, raw: Any, v: Validation) -> Any:
        return raw if not v.strict and self.trusted(raw) else self.validate(raw, v)

    # Containers override these three.
    def frame(self, raw: Any, open_key: Any) -> Frame | None:
        """A frame for an open container `raw`, or None if it is not shown while open."""
        return None

    def child(self, frame: Frame, key: Any) -> Node:
        return OPAQUE

    def specs(self, frame: Frame, open_key: Any) -> list[Level]:
        """How to build this level of a snapshot (see `build_partial` in the core)."""
        return []

    def sync(self, frame: Frame, open_key: Any, v: Validation) -> None:
        """Takes in the children of `frame` that closed since the last call."""

    def finish(self, frame: Frame, v: Validation) -> Any:
        return self.close(frame.raw, v)


class Opaque(Node):
    """Inside an atom: nothing is shown and nothing validated until the atom closes."""

    def close(self, raw: Any, v: Validation) -> Any:
        return raw


OPAQUE = Opaque(Any)


class Trusted(Node):
    """An atom whose JSON form is already its value (plain int, bool, str): no validation call."""

    def __init__(self, tp: Any, accepts: tuple[type, ...]) -> None:
        super().__init__(tp)
        self.as_is = accepts


class FloatNode(Node):
    as_is = (float,)


class LiteralNode(Node):
    def __init__(self, tp: Any) -> None:
        super().__init__(tp)
        self.values = {(type(a), a) for a in get_args(tp)}

    def trusted(self, raw: Any) -> bool:
        return type(raw) not in (list, dict) and (type(raw), raw) in self.values


class Text(Node):
    """A string that is shown as it grows (unless what validates it may change it: then it is an atom)."""

    streams_text = True

    def __init__(self, tp: Any, constrained: bool, streams: bool = True) -> None:
        super().__init__(tp)
        self.as_is = () if constrained else (str,)
        self.streams_text = streams

    def empty(self) -> Any:
        return ""


class ContainerNode(Node):
    """Lists and dicts (and plain JSON containers): a frame per open one, members taken in order."""

    _item_member: Member | None = None

    def child(self, frame: Frame, key: Any) -> Node:
        return self

    @property
    def item_member(self) -> Member:
        """How the core takes in a member that closed (every member has the same node)."""
        if self._item_member is None:
            item = self.child(Frame(self, [], []), None)
            self._item_member = Member(None, item.as_is, item.streams_text, item, _text_limit(item))
        return self._item_member

    def sync(self, frame: Frame, open_key: Any, v: Validation) -> None:
        _sync_members(frame, self, open_key, v)

    def specs(self, frame: Frame, open_key: Any) -> list[Level]:
        return [_container_spec(frame, open_key)]


class AnyNode(ContainerNode):
    """Plain JSON: strings grow, containers gain members, nothing is validated."""

    streams_text = True

    def close(self, raw: Any, v: Validation) -> Any:
        return raw

    def frame(self, raw: Any, open_key: Any) -> Frame | None:
        return Frame(self, raw, [] if type(raw) is list else {})

    def finish(self, frame: Frame, v: Validation) -> Any:
        _sync_members(frame, self, None, v)
        return frame.done


def _sync_members(frame: Frame, node: ContainerNode, open_key: Any, v: Validation) -> None:
    """Takes in the members of a list or dict that closed since the last call (in the core: see
    `InnerFrame.take_in`, which the core's own per-chunk step shares)."""
    total = len(frame.raw) - (open_key is not None)
    if total > frame.n:
        InnerFrame(frame, frame.raw, frame.done, frame.n, v.closed, item=node.item_member).take_in(
            total, bool(v.strict)
        )


def _container_spec(frame: Frame, open_key: Any) -> Level:
    return ListLevel(frame.done) if type(frame.done) is list else DictLevel(frame.done, open_key)


class ListNode(ContainerNode):
    def __init__(self, tp: Any, item: Node, plain: bool, shown_open: bool = True) -> None:
        super().__init__(tp)
        self.item = item
        # A plain `list[X]` / `dict[str, X]` is just its validated items; anything else (constraints,
        # sets, tuples) is validated as a whole once it closes.
        self.plain = plain
        # False if its validation may change it (a validator of its own): then shown once closed.
        self.shown_open = shown_open

    def empty(self) -> Any:
        return []

    def frame(self, raw: Any, open_key: Any) -> Frame | None:
        return Frame(self, raw, []) if type(raw) is list and self.shown_open else None

    def child(self, frame: Frame, key: Any) -> Node:
        return self.item

    def finish(self, frame: Frame, v: Validation) -> Any:
        _sync_members(frame, self, None, v)
        done = frame.done
        values = done.values() if type(done) is dict else done
        if frame.failed or (v.invalid and any(id(x) in v.invalid for x in values)):
            v.invalid.add(id(done))
            return done
        # A plain list is its validated items. Anything else (constraints, sets, tuples) is validated
        # again as a whole from its JSON text, as `validate_json` sees it.
        return done if self.plain else self.validate(frame.raw, v)


class DictNode(ListNode):
    def __init__(self, tp: Any, item: Node, plain: bool, key: Any = str) -> None:
        super().__init__(tp, item, plain)
        # Keys of any type but `str` (an enum, `int`, a date, an annotated `str`) are validated when
        # the dict closes, as JSON strings, as `validate_json` validates them.
        self.key = key
        self._keys: TypeAdapter[Any] | None = None

    @property
    def keys(self) -> TypeAdapter[Any] | None:
        """What validates keys, or None when they are taken as they are (`str` keys, unconfigured)."""
        if self.key in (str, Any) and not _changes_values(self.config):
            return None
        if self._keys is None:
            self._keys = _adapter(self.key, self.config)
        return self._keys

    def empty(self) -> Any:
        return {}

    def frame(self, raw: Any, open_key: Any) -> Frame | None:
        # Keys that validate (an enum, `int`, a validated `str`) show only as the dict closes: until
        # then the dict is held back, so that no key changes once shown.
        if type(raw) is not dict or not self.shown_open or self.keys is not None:
            return None
        return Frame(self, raw, {})

    def finish(self, frame: Frame, v: Validation) -> Any:
        done = super().finish(frame, v)
        if self.keys is None or id(done) in v.invalid or type(done) is not dict:
            return done
        try:
            keys = [self.keys.validate_json(json_text(k), strict=v.strict, context=v.context) for k in done]
        except ValidationError as e:  # the final error is pydantic's own, for the whole text
            v.errors.append(e)
            return HIDDEN
        return dict(zip(keys, done.values(), strict=True))


@dataclass
class FieldPlan:
    name: str
    node: Node
    not_null: bool
    empty: Callable[[], Any]


_SKIP: Any = Annotated[Any, SkipValidation()]  # type: ignore[type-arg]  # `SkipValidation[Any]`


@dataclass
class ModelNode(Node):
    tp: Any
    fields: dict[str, FieldPlan] = field(default_factory=dict)
    not_null: tuple[str, ...] = ()
    partial_cls: Any = None
    # What each field shows before its value starts: shared by the snapshots; a mutable one is copied
    # into a partial object when the field is read (see `partial.shown_before_arrival`).
    template: dict[str, Any] = field(default_factory=dict)
    # Every partial instance has all fields: one shared set, which a partial object replaces with a
    # set of its own when its `model_fields_set` is read (see `partial.SharedSet`).
    fields_set: set[str] = field(default_factory=SharedSet)
    _shallow: Any = None
    setters: tuple[Any, ...] = ()
    _adapter: TypeAdapter[Any] | None = None
    _fast_fields: dict[str, Member] | None = None
    _keys_are_names: bool | None = None
    _shallow_validator: Any = None
    _whole: bool | None = None
    _rewrites: bool | None = None

    def empty(self) -> Any:
        return None

    def frame(self, raw: Any, open_key: Any) -> Frame | None:
        return Frame(self, raw, {}) if type(raw) is dict and not self.rewrites else None

    @property
    def rewrites(self) -> bool:
        """True if a "before", "wrap" or "plain" model validator may reshape the input: then the object
        is shown only once it has closed. (An "after" validator, or `model_post_init`, sees the validated
        object: what it changes shows when the object closes, the one exception to "values only grow".)"""
        if self._rewrites is None:
            d = self.tp.__pydantic_decorators__
            self._rewrites = bool(
                d.root_validators or any(m.info.mode != "after" for m in d.model_validators.values())
            )
        return self._rewrites

    def child(self, frame: Frame, key: Any) -> Node:
        fp = self.fields.get(key)
        return fp.node if fp is not None else OPAQUE

    @property
    def fast_fields(self) -> dict[str, Member]:
        """JSON key -> (field name, `as_is` types, streams text, node): what the core needs to take in
        the fields that close as scalars by itself (see `Engine._fast`)."""
        if self._fast_fields is None:
            self._fast_fields = {
                key: Member(fp.name, fp.node.as_is, fp.node.streams_text, fp.node, _text_limit(fp.node))
                for key, fp in self.fields.items()
            }
        return self._fast_fields

    def sync(self, frame: Frame, open_key: Any, v: Validation) -> None:
        # Fields that closed, in the core (see `InnerFrame.take_in`): most are plain strings and
        # numbers, taken as they are; unknown keys stay in `raw` for the model's own validation.
        total = len(frame.raw) - (open_key is not None)
        if total > frame.n:
            InnerFrame(frame, frame.raw, frame.done, frame.n, v.closed, fields=self.fast_fields).take_in(
                total, bool(v.strict)
            )

    def specs(self, frame: Frame, open_key: Any) -> list[Level]:
        fp = self.fields.get(open_key) if open_key is not None else None
        name = fp.name if fp is not None else None
        return [
            ModelLevel(
                self.partial_cls,
                # What the fields show now: a snapshot copies this one dict (merging template and done
                # per chunk cost ~250 ns a level); specs are remade whenever `done` grows.
                {**self.template, **frame.done} if frame.done else self.template,
                frame.done,
                name,
                self.not_null,
                self.fields_set,
                self.setters,
                # The first `n` finished fields, for `is_complete`; specs are remade after each sync.
                (frame.done, len(frame.done)),
            )
        ]

    def close(self, raw: Any, v: Validation) -> Any:
        if type(raw) is not dict:  # not an object at all: pydantic says so
            return self.validate(raw, v)
        return self.finish(Frame(self, raw, {}), v)

    def finish(self, frame: Frame, v: Validation) -> Any:
        if self.rewrites:  # its input is the model validator's to reshape: nothing is judged before it
            return self.validate(frame.raw, v)
        self.sync(frame, None, v)
        done = frame.done
        if frame.failed or (v.invalid and any(id(x) in v.invalid for x in done.values())):
            # A part already failed and its error is recorded: the same cause is not recorded again.
            return self._shown_invalid(frame, v)
        if self.whole:
            # Validators or settings that see the input: exactly what `validate_json` gives this
            # object's JSON text (its children validate again, for this value only).
            return self.validate(frame.raw, v)
        try:
            if self.keys_are_names:
                data = {**frame.raw, **done}
            else:
                data = dict(frame.raw)
                for key, fp in self.fields.items():
                    if fp.name in done and key in data:
                        data[key] = done[fp.name]
            # Children are validated instances: a shallow twin of the model takes them as they are
            # (pydantic would run their "after" validators again), and runs the model's own validators.
            obj = self.shallow_validator.validate_python(data, context=v.context, strict=v.strict)
            object.__setattr__(obj, "__class__", self.tp)
            return obj
        except ValidationError as e:
            v.errors.append(e)
            return HIDDEN

    @property
    def whole(self) -> bool:
        """True if this model validates from its own JSON text when it closes.

        Its validators may look at the input (a "before" model validator gets the JSON data, any
        validator may read `info.mode`), a field may be found by `AliasChoices`/`AliasPath`, or strict
        config judges JSON input: the shallow twin, which takes validated children as they are, would
        not give exactly what `validate_json` gives. Plain models (the common case) take the shallow
        route: nothing is validated twice.
        """
        if self._whole is None:
            self._whole = bool(
                _has_validators(self.tp)
                or self.tp.model_config.get("strict")
                or any(
                    not isinstance(info.validation_alias, (str, type(None)))
                    for info in self.tp.model_fields.values()
                )
            )
        return self._whole

    def _shown_invalid(self, frame: Frame, v: Validation) -> Any:
        """A closed object with a part that closed invalid: shown unvalidated, as its partial class."""
        shown = build_partial(self.specs(frame, None), None)
        if shown is None:  # held back by a NotNull field: shown anyway, it has closed
            s = self.specs(frame, None)[0]
            assert isinstance(s, ModelLevel)
            unheld = ModelLevel(s.cls, s.shown, s.done, s.open_name, (), s.fields_set, s.setters, s.marker)
            shown = build_partial([unheld], None)
        v.invalid.add(id(shown))
        return shown

    @property
    def forbids_extra(self) -> bool:
        return bool(self.tp.model_config.get("extra") == "forbid")

    @property
    def keys_are_names(self) -> bool:
        """True if every field's JSON key is its name (no aliases): then `done` overlays `raw` as is."""
        if self._keys_are_names is None:
            self._keys_are_names = all(key == fp.name for key, fp in self.fields.items())
        return self._keys_are_names

    @property
    def shallow_validator(self) -> Any:
        """The shallow twin's validator (what `model_validate` calls, without its Python frame)."""
        if self._shallow_validator is None:
            self._shallow_validator = self.shallow.__pydantic_validator__
        return self._shallow_validator

    @property
    def shallow(self) -> Any:
        if self._shallow is None:
            # A field that arrived was validated when it closed (its annotation's constraints and
            # validators included), so the twin takes it as it is: validating it again ran an annotated
            # validator twice. A default with `validate_default` is still validated here.
            # (A model with validators of its own takes the `whole` route instead.)
            skip = {}
            for fp in self.fields.values():
                info = self.tp.model_fields[fp.name]
                if info.validate_default:
                    continue
                names: dict[str, Any] = {"alias": info.alias, "validation_alias": info.validation_alias}
                f: Any
                if info.default_factory is not None:
                    f = Field(default_factory=info.default_factory, **names)
                else:
                    f = Field(... if info.is_required() else info.default, **names)
                skip[fp.name] = (_SKIP, f)
            make: Any = create_model
            self._shallow = make(self.tp.__name__, __base__=self.tp, **skip) if skip else self.tp
        return self._shallow


class RootNode(Node):
    """A `RootModel`: streams as its root type, shown wrapped in the model."""

    def __init__(self, tp: Any, inner: Node) -> None:
        super().__init__(tp)
        self.inner = inner
        # A string root shows once closed: its open text would show bare, not wrapped in the model.
        self.streams_text = False
        self.partial_cls = partial_class(tp)
        self.setters = slot_setters(self.partial_cls)
        self.fields_set = SharedSet({"root"})

    def frame(self, raw: Any, open_key: Any) -> Frame | None:
        f = self.inner.frame(raw, open_key)
        if f is not None:
            f.node = self
        return f

    def child(self, frame: Frame, key: Any) -> Node:
        return self.inner.child(frame, key)

    def sync(self, frame: Frame, open_key: Any, v: Validation) -> None:
        self.inner.sync(frame, open_key, v)

    def specs(self, frame: Frame, open_key: Any) -> list[Level]:
        own = RootModelLevel(self.partial_cls, self.fields_set, self.setters)
        return [own, *self.inner.specs(frame, open_key)]

    def finish(self, frame: Frame, v: Validation) -> Any:
        return self._close_value(self.inner.finish(frame, v), frame.raw, v)

    def close(self, raw: Any, v: Validation) -> Any:
        return self._close_value(self.inner.close(raw, v), raw, v)

    def _close_value(self, value: Any, raw: Any, v: Validation) -> Any:
        if value is HIDDEN:
            return HIDDEN
        if id(value) in v.invalid:
            shown = build_partial([RootModelLevel(self.partial_cls, self.fields_set, self.setters)], value)
            v.invalid.add(id(shown))
            return shown
        if _has_validators(self.tp):  # they see the input: exactly `validate_json` of the root's text
            return self.validate(raw, v)
        # The root was validated as it closed (with its own strictness): only the model wraps it now.
        return self.validate(value, v, as_json=False)


class UnionNode(Node):
    """`A | B | None`: an open value streams as the first member consistent with what has arrived."""

    def __init__(self, tp: Any, members: list[Node], nullable: bool) -> None:
        super().__init__(tp)
        self.members = members
        self.nullable = nullable
        self.streams_text = any(m.streams_text for m in members)
        if len(members) == 1:  # `Optional[X]`: X's own, and None
            self.as_is = (*members[0].as_is, type(None)) if nullable else members[0].as_is
            self.max_length = members[0].max_length

    def empty(self) -> Any:
        return None

    def _pick(self, raw: Any) -> Node | None:
        """The one member an open container can stream as, or None if it is held back until it closes.

        Which member pydantic's smart mode takes depends on the whole value (the fields each member
        gets set, exactness), so an open value shows only when one member alone accepts its JSON type:
        a member's class, once shown, never changes. (A tagged union streams each member: see
        `Discriminated`.)
        """
        fits: list[Node]
        if type(raw) is dict:
            # A model with `extra="forbid"` cannot take a key that is none of its fields.
            fits = [
                m
                for m in self.members
                if isinstance(m, (DictNode, AnyNode))
                or (
                    isinstance(m, ModelNode) and not (m.forbids_extra and any(k not in m.fields for k in raw))
                )
            ]
        elif type(raw) is list:
            fits = [
                m for m in self.members if isinstance(m, (ListNode, AnyNode)) and not isinstance(m, DictNode)
            ]
        else:
            return None
        return fits[0] if len(fits) == 1 else None

    def frame(self, raw: Any, open_key: Any) -> Frame | None:
        m = self._pick(raw)
        return m.frame(raw, open_key) if m is not None else None

    def close(self, raw: Any, v: Validation) -> Any:
        if raw is None and self.nullable:
            return None
        if len(self.members) == 1:
            return v.closed(self.members[0], raw)
        # From its JSON text: smart mode's choice between members depends on what input it judges
        # (a JSON string is an exact `str`, and a lax `int`), as `validate_json` judges it.
        return self.validate(raw, v)


class Held(Node):
    """A field its model validates with a field validator, which may change it as the object closes:
    it reads as its placeholder until then (the object's own validation gives its value)."""

    def __init__(self, inner: Node, after_only: bool) -> None:
        super().__init__(inner.tp)
        self.inner = inner
        self.config = inner.config
        # With "after" validators only, the field's own type is validated first, as pydantic does: a
        # failure shows (and is recorded) as the field closes.
        self.after_only = after_only

    def empty(self) -> Any:
        return self.inner.empty()

    def close(self, raw: Any, v: Validation) -> Any:
        if self.after_only and v.closed(self.inner, raw) is HIDDEN:
            return HIDDEN
        return LATER


class Discriminated(Node):
    """A tagged union: held back until the tag has arrived whole, then streams as that member."""

    def __init__(self, tp: Any, key: str, members: dict[Any, Node], nullable: bool) -> None:
        super().__init__(tp)
        self.key = key
        self.members = members
        self.nullable = nullable

    def frame(self, raw: Any, open_key: Any) -> Frame | None:
        if type(raw) is not dict or self.key not in raw or open_key == self.key:
            return None
        tag = raw[self.key]
        m = self.members.get(tag) if type(tag) not in (list, dict) else None
        return m.frame(raw, open_key) if m is not None else None

    def close(self, raw: Any, v: Validation) -> Any:
        if raw is None and self.nullable:
            return None
        tag = raw.get(self.key) if type(raw) is dict else None
        m = self.members.get(tag) if type(tag) not in (list, dict) else None
        return v.closed(m, raw) if m is not None else self.validate(raw, v)


_TRUSTED: dict[Any, tuple[type, ...]] = {int: (int,), bool: (bool,), str: (str,)}


def _split_annotated(tp: Any) -> tuple[Any, list[Any]]:
    meta: list[Any] = []
    while get_origin(tp) is Annotated:
        args = get_args(tp)
        tp, meta = args[0], [*meta, *args[1:]]
    return tp, meta


def compile_plan(tp: Any) -> Node:
    """The plan for a response model (cached per type, its members' order included)."""
    key = cache_key(tp)
    try:
        hit = _plans.get(key)
    except TypeError:  # unhashable annotation
        return _compile(tp, [])
    if hit is None:
        hit = _plans[key] = _compile(tp, [])
    return hit


_plans: dict[Any, Node] = {}


def cache_key(tp: Any) -> Any:
    """What tells response models apart in a cache: the type itself, and the order of its arguments.

    `Union[A, B] == Union[B, A]` (and they hash alike), yet a plain union streams as its first member
    that fits, and pydantic tries members in order: keyed by the type alone, one would get the other's
    plan. A class (no arguments) is its own key.
    """
    args = get_args(tp)
    if not args:
        return tp
    return (type(tp), tp, tuple(cache_key(a) for a in args))


def forget(model: type[BaseModel]) -> None:
    """Drops the plan and partial class of a model no one will stream again (an evicted envelope)."""
    _plans.pop(model, None)
    forget_partial_class(model)


def _compile(tp: Any, meta: list[Any], config: ConfigDict | None = None) -> Node:
    """The node for `tp` (with the `Annotated` metadata `meta`), in a model whose settings are `config`."""
    node = _compile_node(tp, meta, config)
    if config and not isinstance(node, (ModelNode, RootNode)):  # a model has settings of its own
        node.config = config
    if isinstance(node, (Text, ListNode)):
        node.max_length = _max_length(node, meta, config)
    return node


def _compile_node(tp: Any, meta: list[Any], config: ConfigDict | None) -> Node:
    changes = _changes_values(config)  # then no JSON value is its validated value as it stands
    inner, more = _split_annotated(tp)
    meta = [*meta, *more]
    args = (inner, *meta)
    full = Annotated[args] if meta else inner
    if any(m is Done for m in meta):
        return Node(full)
    # What validation must check beyond the type (a `Field(...)` with no constraints, say a description
    # or a discriminator, adds nothing).
    constraints = [
        m
        for m in meta
        if m is not NotNull and not isinstance(m, str) and not (isinstance(m, FieldInfo) and not m.metadata)
    ]
    disc = next((m.discriminator for m in meta if isinstance(m, FieldInfo) and m.discriminator), None)
    origin, args = get_origin(inner), get_args(inner)

    if inner is Any or inner is object or inner is None or inner is type(None):
        return AnyNode(full) if inner is not None and inner is not type(None) else Node(full)
    if origin in (Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        nullable = len(members) < len(args)
        if disc is not None and isinstance(disc, str):
            tags: dict[Any, Node] = {}
            for m in members:
                mn = _compile(m, [])
                if isinstance(mn, ModelNode):
                    f = m.model_fields.get(disc) or next(
                        (fi for fi in m.model_fields.values() if fi.alias == disc), None
                    )
                    if f is not None:
                        for value in get_args(f.annotation):
                            tags[value] = mn
            if tags:
                return Discriminated(full, _json_key_for_tag(members, disc), tags, nullable)
        if len(members) == 1:
            # Constraints on `Optional[X]` apply to X (None passes them), as pydantic applies them.
            n = _compile(members[0], constraints, config)
            return UnionNode(full, [n], nullable) if nullable else n
        if constraints:  # validated as a whole once it closes
            return Node(full)
        return UnionNode(full, [_compile(m, [], config) for m in members], nullable)
    if isinstance(inner, type) and issubclass(inner, RootModel):
        root_tp = inner.model_fields["root"].annotation
        own = _config_for(inner)
        return RootNode(inner, _compile(root_tp, list(inner.model_fields["root"].metadata), own))
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        if constraints:
            return Node(full)
        known = _plans.get(inner)  # compiled already, or being compiled (a recursive model)
        return known if isinstance(known, ModelNode) else _compile_model(inner)
    if origin in (list, typing.List, set, frozenset, typing.Sequence, tuple) or inner in (list, tuple):  # noqa: UP006
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            return Node(full)
        item = _compile(args[0], [], config) if args else AnyNode(Any)
        return ListNode(full, item, plain=origin is list and not constraints, shown_open=_pure(constraints))
    if origin in (dict, typing.Dict, typing.Mapping) or inner is dict:  # noqa: UP006
        value = _compile(args[1], [], config) if len(args) == 2 else AnyNode(Any)
        key = args[0] if len(args) == 2 else str
        node = DictNode(full, value, plain=origin is dict and not constraints, key=key)
        node.shown_open = _pure(constraints)
        return node
    if inner is str:
        streams = _pure(constraints) and not _transforms_text(config)
        return Text(full, constrained=bool(constraints) or changes, streams=streams)
    if origin is Literal:
        return LiteralNode(full) if not constraints and not changes else Node(full)
    if inner in _TRUSTED and not constraints and not changes:
        return Trusted(full, _TRUSTED[inner])
    if inner is float and not constraints and not changes:
        return FloatNode(full)
    if isinstance(inner, type) and issubclass(inner, enum.Enum):
        return Node(full)
    return Node(full)


def holds_back(node: Node) -> bool:
    """True if some object the plan can show has a NotNull field (then a snapshot may be held back)."""
    seen: set[int] = set()
    todo = [node]
    while todo:
        n = todo.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if isinstance(n, ModelNode):
            if n.not_null:
                return True
            todo.extend(fp.node for fp in n.fields.values())
        elif isinstance(n, ListNode):
            todo.append(n.item)
        elif isinstance(n, (RootNode, Held)):
            todo.append(n.inner)
        elif isinstance(n, UnionNode):
            todo.extend(n.members)
        elif isinstance(n, Discriminated):
            todo.extend(n.members.values())
    return False


def _json_key_for_tag(members: list[Any], disc: str) -> str:
    for m in members:
        f = m.model_fields.get(disc)
        if f is not None:
            return f.validation_alias if isinstance(f.validation_alias, str) else (f.alias or disc)
    return disc


def _compile_model(model: type[BaseModel]) -> ModelNode:
    node = ModelNode(model)
    _plans.setdefault(model, node)  # recursive models refer to themselves
    node.partial_cls = partial_class(model)
    node.setters = slot_setters(node.partial_cls)
    gen = model.model_config.get("alias_generator")
    config = _config_for(model)
    checked = _field_validator_modes(model)
    not_null = []
    for name, info in model.model_fields.items():
        key = _json_key(name, info, gen)
        meta = list(info.metadata)
        if info.discriminator is not None:
            # pydantic lifts `Field(discriminator=...)` out of the annotation onto the field itself.
            meta.append(Field(discriminator=info.discriminator))
        fnode = _compile(info.annotation, meta, config)
        if name in checked:
            fnode = Held(fnode, checked[name])
        fp = FieldPlan(name, fnode, any(m is NotNull for m in info.metadata), _empty_for(info, fnode))
        node.fields[key] = fp
        if model.model_config.get("populate_by_name") or model.model_config.get("validate_by_name"):
            node.fields.setdefault(name, fp)
        if fp.not_null:
            not_null.append(name)
    node.not_null = tuple(not_null)
    cls = node.partial_cls
    node.template = {
        fp.name: shown_before_arrival(cls, fp.name, fp.empty(), fp.empty) for fp in node.fields.values()
    }
    node.fields_set = SharedSet(node.template)
    return node


def _json_key(name: str, info: FieldInfo, gen: Any) -> str:
    va = info.validation_alias
    if isinstance(va, str):
        return va
    if info.alias:
        return info.alias
    return name


def _empty_for(info: FieldInfo, node: Node) -> Callable[[], Any]:
    """A new value of what a field shows before its value arrives (never the model's own default object:
    like pydantic, each call copies the default; None for a `default_factory`)."""
    if info.default_factory is not None:
        # Its value is not known until its object closes (a factory may take the validated data, and
        # is called once per object, by the validation): until then it reads as None.
        return lambda: None
    if not info.is_required():
        return lambda: info.get_default(call_default_factory=False)  # a copy (pydantic's smart deepcopy)
    e = node.empty()
    if isinstance(e, (list, dict)):
        return type(e)
    return lambda: e


def json_text(raw: Any) -> str:
    """The JSON text of a parsed value, as `validate_json` reads it. An `int` or `bool` is spelled here:
    `json.dumps(3)` costs ~1.3 µs more than `validate_python` would (600 ratings a Catalog pass)."""
    t = type(raw)
    if t is int:
        return int.__repr__(raw)
    if t is bool:
        return "true" if raw else "false"
    return json.dumps(raw)


# Model settings that change what a value validates to (against their defaults): a model with any of
# them passes them to its fields' own validation, and no field value is taken as it stands.
_VALUE_SETTINGS: dict[str, Any] = {
    "allow_inf_nan": True,
    "coerce_numbers_to_str": False,
    "regex_engine": "rust-regex",
    "str_max_length": None,
    "str_min_length": None,
    "str_strip_whitespace": False,
    "str_to_lower": False,
    "str_to_upper": False,
    "strict": False,
    "url_preserve_empty_path": False,
    "use_enum_values": False,
    "val_json_bytes": "utf8",
    "val_temporal_unit": "infer",
}
# Passed on as they are: they change what can be validated, or how errors read.
_PASSED_SETTINGS = ("arbitrary_types_allowed", "hide_input_in_errors", "validation_error_cause")


def _config_for(model: type[BaseModel]) -> ConfigDict | None:
    """The settings of `model` its fields' validation needs (None if none: the common case)."""
    own: dict[str, Any] = dict(model.model_config)
    found = {k: own[k] for k in _VALUE_SETTINGS if k in own and own[k] != _VALUE_SETTINGS[k]}
    if not found and not own.get("arbitrary_types_allowed"):
        return None
    found.update((k, own[k]) for k in _PASSED_SETTINGS if k in own)
    config: ConfigDict = ConfigDict(**found)  # type: ignore[typeddict-item]
    return config


def _changes_values(config: ConfigDict | None) -> bool:
    return bool(config) and any(k in _VALUE_SETTINGS for k in config)  # type: ignore[union-attr]


def _adapter(tp: Any, config: ConfigDict | None) -> TypeAdapter[Any]:
    if config:
        try:
            return TypeAdapter(tp, config=config)
        except PydanticUserError:  # a model (say `Annotated[Model, ...]`): its own settings apply
            pass
    return TypeAdapter(tp)


def _has_validators(model: type[BaseModel]) -> bool:
    """True if `model` has validators of its own (field or model, any mode)."""
    d = model.__pydantic_decorators__
    return bool(d.field_validators or d.model_validators or d.root_validators or d.validators)


def _max_length(node: Node, meta: list[Any], config: ConfigDict | None) -> int | None:
    """The `max_length` an open value of `node` can be judged by as it grows (see `Node.max_length`)."""
    if not _pure(meta) or (isinstance(node, Text) and _transforms_text(config)):
        return None  # a validator or a transformation: the value as it stands is not what is judged
    limits = [int(m.max_length) for m in meta if isinstance(m, annotated_types.MaxLen)]
    if isinstance(node, Text):
        most = config.get("str_max_length") if config else None
        if most is not None:
            limits.append(most)
    return min(limits, default=None)


def _text_limit(node: Node) -> int | None:
    return node.max_length if node.streams_text else None


def _pure(meta: list[Any]) -> bool:
    """True if `meta` only constrains (lengths, bounds, a pattern): what is validated is the value as it
    stands, so it can be shown as it grows. A validator or a transformation may change it."""
    for m in meta:
        if m is NotNull or isinstance(m, (annotated_types.BaseMetadata, str)):
            continue
        if isinstance(m, FieldInfo):
            if not _pure(list(m.metadata)):
                return False
        elif isinstance(m, StringConstraints):
            if m.strip_whitespace or m.to_lower or m.to_upper:
                return False
        elif type(m).__name__ != "_PydanticGeneralMetadata":
            return False
    return True


def _transforms_text(config: ConfigDict | None) -> bool:
    if not config:
        return False
    return bool(
        config.get("str_strip_whitespace") or config.get("str_to_lower") or config.get("str_to_upper")
    )


def _field_validator_modes(model: type[BaseModel]) -> dict[str, bool]:
    """Field name -> True if every validator of the model's on it is an "after" one."""
    d = model.__pydantic_decorators__
    out: dict[str, bool] = {}
    decorators: list[Any] = [*d.field_validators.values(), *d.validators.values()]
    for dec in decorators:
        fields = model.model_fields if "*" in dec.info.fields else dec.info.fields
        after = getattr(dec.info, "mode", "after") == "after"
        for name in fields:
            out[name] = out.get(name, True) and after
    return out
