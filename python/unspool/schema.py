"""JSON schemas of response models as the OpenAI API takes them, and the envelope for non-object roots."""

from __future__ import annotations

import copy
import json
import re
import weakref
from dataclasses import dataclass
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel, Field, TypeAdapter, ValidationError, create_model

from .plan import cache_key, forget

__all__ = ["ENVELOPE_KEY", "SchemaError", "ResponseSchema", "item_schema", "response_schema"]

# The one property of the object that wraps a non-object root (`list[Idea]` streams as `{"result": [...]}`).
ENVELOPE_KEY = "result"

# What strict Structured Outputs accepts, by JSON type; other keywords move into the description so the
# model still reads them (pydantic enforces them either way).
_KEYWORDS = {
    "type", "properties", "required", "additionalProperties", "items", "anyOf", "enum", "const",
    "$ref", "$defs", "description", "title",
    "pattern", "format",
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
    "minItems", "maxItems",
}  # fmt: skip


# The string formats strict mode takes; others (pydantic's "uri", "uuid4", "binary", ...) are described.
_FORMATS = {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}


class SchemaError(TypeError):
    """The response model has a part strict Structured Outputs cannot express."""


@dataclass(frozen=True)
class ResponseSchema:
    """What a mode sends and streams for one response model."""

    name: str
    schema: dict[str, Any]  # an object schema (enveloped when the root is not an object)
    strict_error: str | None  # what strict mode cannot express; then `schema` is pydantic's own
    plain: dict[str, Any]  # pydantic's schema of the root itself, for prompts (md_json needs no envelope)
    root: Any  # the response model
    model: Any  # what the engine streams: the response model, or its envelope model
    enveloped: bool

    def uses_envelope(self, mode: str) -> bool:
        """md_json asks in prose, so only a root that is not a container needs the envelope there."""
        if not self.enveloped:
            return False
        return mode != "md_json" or _resolve(self.plain, self.plain).get("type") not in ("array", "object")

    @property
    def strict(self) -> bool:
        return self.strict_error is None

    def unwrap(self, value: Any) -> Any:
        """The response model's value inside what the engine made."""
        if not self.enveloped or value is None:
            return value
        # Read from `__dict__` (called per yield; a partial's attribute goes through a descriptor),
        # except for an empty container: that may be the value partials share before the root's
        # arrives, of which the attribute gives the partial a copy of its own (see `partial.py`).
        shown = getattr(value, "__dict__", None)
        got = shown.get(ENVELOPE_KEY) if type(shown) is dict else None
        if got or type(got) not in (list, dict, type(None)):
            return got
        return getattr(value, ENVELOPE_KEY, None)

    def unwrap_error(self, error: ValidationError) -> ValidationError:
        """The envelope's validation error as the response model's own (its `result` step dropped)."""
        if not self.enveloped:
            return error
        lines = []
        for e in error.errors():
            loc = e["loc"][1:] if e["loc"][:1] == (ENVELOPE_KEY,) else e["loc"]
            line: dict[str, Any] = {"type": e["type"], "loc": loc, "input": e["input"]}
            if "ctx" in e:
                line["ctx"] = e["ctx"]
            lines.append(line)
        try:
            return ValidationError.from_exception_data(_title(self.model), lines)  # type: ignore[arg-type]
        except (KeyError, TypeError):  # a custom error type pydantic cannot rebuild: keep the envelope's
            return error


def _title(model: Any) -> str:
    inner = model.model_fields[ENVELOPE_KEY].annotation
    if isinstance(inner, type) and not getattr(inner, "__args__", None):
        return inner.__name__
    return re.sub(r"\b(typing|[\w.]*\.)(?=\w+\b)", "", repr(inner))  # "list[Idea]", as pydantic titles it


def response_schema(response_model: Any) -> ResponseSchema:
    """The schemas to ask for `response_model` with, strict when strict mode can express it.

    Cached per response model (its members' order included, see `cache_key`), so that every request
    for the same `T` shares one envelope model, and with it one plan and one partial class: a server
    that streams `list[Idea]` per request keeps one of each, not one per request. The cache is bounded;
    the envelope of an entry that leaves it is forgotten by the plan cache too.
    """
    try:
        key = cache_key(response_model)
        hit = _schemas.pop(key, None)
    except TypeError:  # an unhashable annotation: made for this request, forgotten with it
        made = _response_schema(response_model)
        if made.enveloped:
            weakref.finalize(made, forget, made.model)
        return made
    if hit is None:
        hit = _response_schema(response_model)
        while len(_schemas) >= _SCHEMAS_KEPT:
            old = _schemas.pop(next(iter(_schemas)))  # the least recently used
            if old.enveloped:
                forget(old.model)
    _schemas[key] = hit  # (again) the most recently used
    return hit


# How many response models' schemas (and envelopes) are kept, most recently used last.
_SCHEMAS_KEPT = 256
_schemas: dict[Any, ResponseSchema] = {}


def item_schema(response_model: Any) -> ResponseSchema:
    """`each_call_is_item`: the schema of `T` for `response_model=list[T]`, whose items are tool calls.

    Raises `TypeError` unless `response_model` is `list[T]` (in `Annotated` or not) with `T` an object
    that needs no envelope (a model, dataclass or TypedDict): a call's arguments are one JSON object.
    """
    root = response_model
    while get_origin(root) is Annotated:
        root = get_args(root)[0]
    args = get_args(root)
    if get_origin(root) is not list or len(args) != 1:
        raise TypeError(
            "each_call_is_item=True makes each tool call one element of a list: it needs "
            f"response_model=list[T], not {_readable(response_model)}"
        )
    rs = response_schema(args[0])
    if rs.enveloped:
        raise TypeError(
            "each_call_is_item=True needs list[T] with T an object (a model, dataclass or TypedDict): "
            f"each call's arguments are one JSON object, and {_readable(args[0])} is not an object type"
        )
    return rs


def _readable(t: Any) -> str:
    """A type as it reads in code: `Idea`, `list[Idea]`, `Cat | Dog`, `dict[str, int]`."""
    if isinstance(t, type) and get_origin(t) is None:
        return t.__name__
    return re.sub(r"\btyping\.|\b[\w.]*\.(?=\w)", "", repr(t))


def _response_schema(response_model: Any) -> ResponseSchema:
    plain = TypeAdapter(response_model).json_schema()
    enveloped = _resolve(plain, plain).get("type") != "object" or "properties" not in _resolve(plain, plain)
    name = _name(response_model)
    if enveloped:
        model: Any = create_model(
            f"{name}Envelope",
            __base__=BaseModel,
            **{ENVELOPE_KEY: (response_model, Field(...))},  # type: ignore[call-overload]
        )
        wire = TypeAdapter(model).json_schema()
    else:
        model, wire = response_model, plain
    try:
        schema, error = strict_schema(wire), None
    except SchemaError as e:
        schema, error = wire, str(e)
    return ResponseSchema(name, schema, error, plain, response_model, model, enveloped)


def _name(response_model: Any) -> str:
    """A schema name the API accepts (`^[a-zA-Z0-9_-]{1,64}$`): `Idea`, `list_Idea`,
    `Optional_Union_Cat_Dog` (an `Annotated` type is named by the type it annotates)..."""
    while get_origin(response_model) is Annotated:
        response_model = get_args(response_model)[0]
    # `list[Idea]` is an instance of `type` on Python 3.10, named plain "list": only classes count.
    plain_class = isinstance(response_model, type) and get_origin(response_model) is None
    raw = getattr(response_model, "__name__", None) if plain_class else None
    if raw is None:
        raw = re.sub(r"\btyping\.|\b\w+\.", "", repr(response_model))
    return re.sub(r"[^a-zA-Z0-9_-]+", "_", raw).strip("_")[:64] or "response"


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node and node["$ref"].startswith("#/$defs/"):
        node = root["$defs"][node["$ref"][len("#/$defs/") :]]
    return node


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Pydantic's schema rewritten for strict Structured Outputs, or `SchemaError` saying what cannot be."""
    root = copy.deepcopy(schema)
    defs = root.get("$defs", {})
    for name, sub in defs.items():
        defs[name] = _strict(sub, root, f"$defs/{name}", frozenset({f"#/$defs/{name}"}))
    body = {k: v for k, v in root.items() if k != "$defs"}
    inside: frozenset[str] = frozenset()
    if "$ref" in body:  # a recursive root: the API wants the object itself at the root
        inside = frozenset({body["$ref"]})
        body = {**_resolve(body, root), **{k: v for k, v in body.items() if k != "$ref"}}
    body = _strict(body, root, "", inside)
    if defs:
        body["$defs"] = defs
    _check_limits(body)
    return body


# Structured Outputs' published limits on a schema: checked here, so that a schema past one fails
# with `SchemaError` before the request rather than as a 400 from the API.
_MAX_DEPTH = 10  # objects nested, the root's included
_MAX_PROPERTIES = 5000
_MAX_ENUM_VALUES = 1000
_MAX_STRING_SIZE = 120_000  # property and definition names, enum and const values, in characters
_LARGE_ENUM = 250  # an enum with more values than this...
_LARGE_ENUM_SIZE = 15_000  # ...may hold this many characters of string values at most


def _check_limits(schema: dict[str, Any]) -> None:
    """`SchemaError` if `schema` passes one of Structured Outputs' limits."""
    defs = schema.get("$defs", {})
    counts = {"properties": 0, "enum": 0, "chars": sum(len(n) for n in defs)}

    def subs(node: dict[str, Any]) -> list[Any]:
        return [*node.get("properties", {}).values(), node.get("items"), *node.get("anyOf", [])]

    def count(node: Any) -> None:
        """Counts what `node` holds itself (each definition once: a `$ref` is not followed)."""
        if not isinstance(node, dict):
            return
        props = node.get("properties", {})
        counts["properties"] += len(props)
        counts["chars"] += sum(len(k) for k in props)
        values = node.get("enum", [])
        counts["enum"] += len(values)
        size = sum(len(v) for v in values if isinstance(v, str))
        counts["chars"] += size + (len(node["const"]) if isinstance(node.get("const"), str) else 0)
        if len(values) > _LARGE_ENUM and size > _LARGE_ENUM_SIZE:
            raise SchemaError(
                f"an enum of {len(values)} values with {size:,} characters: strict mode takes at most "
                f"{_LARGE_ENUM_SIZE:,} characters in an enum of more than {_LARGE_ENUM} values"
            )
        for sub in subs(node):
            count(sub)

    below: dict[str, int] = {}

    def nesting(node: Any, seen: frozenset[str]) -> int:
        """How many objects deep `node` nests (a recursive reference adds nothing: the model decides)."""
        if not isinstance(node, dict):
            return 0
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            if name in seen:
                return 0
            if name not in below:
                below[name] = nesting(defs.get(name), seen | {name})
            return below[name]
        inner = max((nesting(sub, seen) for sub in subs(node)), default=0)
        return inner + (node.get("type") == "object")

    count({k: v for k, v in schema.items() if k != "$defs"})
    for d in defs.values():
        count(d)
    depth = nesting(schema, frozenset())
    if depth > _MAX_DEPTH:
        raise SchemaError(
            f"objects nested {depth} deep: strict mode takes at most {_MAX_DEPTH} (a root that is no "
            "object is sent inside an envelope object, which counts as one)"
        )
    for what, limit in (("properties", _MAX_PROPERTIES), ("enum", _MAX_ENUM_VALUES)):
        if counts[what] > limit:
            label = "properties" if what == "properties" else "enum values"
            raise SchemaError(f"{counts[what]:,} {label} in all: strict mode takes at most {limit:,}")
    if counts["chars"] > _MAX_STRING_SIZE:
        raise SchemaError(
            f"{counts['chars']:,} characters of names and enum values: strict mode takes at most "
            f"{_MAX_STRING_SIZE:,}"
        )


# Keywords strict mode does not take and that say nothing the model must know: dropped, not noted.
_DROPPED = ("default", "discriminator", "examples")


def _strict(
    node: dict[str, Any], root: dict[str, Any], where: str, inlining: frozenset[str] = frozenset()
) -> dict[str, Any]:
    at = where or "the root"
    if "$ref" in node and len(node) > 1:
        # Strict mode takes no keywords beside a $ref. Those it drops anyway (a default, as in
        # `manager: "Employee" = None`) leave the $ref as it is; others are kept by inlining the
        # definition, which a definition that refers back to itself cannot be.
        ref = node["$ref"]
        rest = {k: v for k, v in node.items() if k != "$ref" and k not in _DROPPED}
        if not rest:
            return {"$ref": ref}
        if ref in inlining:
            keys = ", ".join(sorted(rest))
            raise SchemaError(f"a recursive reference with {keys} beside it at {at}")
        merged = {**_resolve(node, root), **rest}
        return _strict(merged, root, where, inlining | {ref})
    if "allOf" in node:
        if len(node["allOf"]) != 1:
            raise SchemaError(f"allOf with several schemas at {at}")
        rest = {k: v for k, v in node.items() if k != "allOf"}
        return _strict({**node["allOf"][0], **rest}, root, where, inlining)
    if "oneOf" in node:  # pydantic's discriminated unions; anyOf means the same for disjoint members
        node = {
            **{k: v for k, v in node.items() if k not in ("oneOf", "discriminator")},
            "anyOf": node["oneOf"],
        }
    out: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in node.items():
        if key in _KEYWORDS and (key != "format" or value in _FORMATS):
            out[key] = value
        elif key not in _DROPPED:
            extra[key] = value
    if not any(k in out for k in ("type", "anyOf", "enum", "const", "$ref")):
        raise SchemaError(f"a value of any type at {at} (Any, or a type with no JSON schema)")
    if "prefixItems" in extra:
        raise SchemaError(f"a tuple at {at}")
    if extra:
        note = "; ".join(f"{k}: {json.dumps(v)}" for k, v in extra.items())
        out["description"] = f"{out['description']} ({note})" if "description" in out else note
    if out.get("type") == "object":
        props = out.get("properties")
        if props is None or isinstance(out.get("additionalProperties"), dict):
            raise SchemaError(
                f"an object with free-form keys at {at} (a dict, or a model with extra='allow')"
            )
        if out.get("additionalProperties") is True:
            raise SchemaError(
                f"a model with extra='allow' at {at}: strict mode sends additionalProperties: false, so "
                "the model could never send the extra keys (use mode='json' or 'tools', or extra='ignore')"
            )
        out["properties"] = {k: _strict(v, root, f"{where}/{k}", inlining) for k, v in props.items()}
        for k, v in out["properties"].items():
            # Strict mode requires every property: an object that must hold itself never ends.
            if set(v) == {"$ref"} and v["$ref"] in inlining:
                raise SchemaError(
                    f"a required reference to the object inside itself at {where}/{k}: strict mode "
                    "requires every field, so no answer could end (make the field optional: `X | None`)"
                )
        out["required"] = list(props)
        out["additionalProperties"] = False
    if "items" in out:
        out["items"] = _strict(out["items"], root, f"{where}/items", inlining)
    if "anyOf" in out:
        out["anyOf"] = [_strict(m, root, where, inlining) for m in out["anyOf"]]
    return out
