"""A table of JSON schemas for the fake model's tests: one per feature the official SDKs, LangChain and
Pydantic put in tool parameters and structured outputs, plus Pydantic's own model_json_schema() output,
and the jsonschema check every generated value must pass."""

from __future__ import annotations

import datetime
import enum
import uuid
from typing import Annotated, Any, Literal

import jsonschema
from pydantic import BaseModel, Field

from brightstaff.demo.schema_instance import FORMAT_EXAMPLES

# --------------------------------------------------------------------------------------------------
# Pydantic models: what the SDKs' and LangChain's structured output send as schemas.


class Color(enum.StrEnum):
    red = "red"
    green = "green"


class Address(BaseModel):
    street: str
    city: str
    zip: Annotated[str, Field(pattern=r"^\d{5}(-\d{4})?$")]


class Node(BaseModel):
    value: int
    children: list[Node] = []


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: int = Field(ge=1, le=9)


class Dog(BaseModel):
    kind: Literal["dog"]
    good: bool


class Person(BaseModel):
    name: str = Field(min_length=2, max_length=20)
    age: int | None = Field(default=None, ge=0, lt=150)
    nickname: str | None = None
    color: Color
    mode: Literal["fast", "slow"]
    tags: list[str] = Field(min_length=2, max_length=4)
    home: Address
    work: Address | None = None
    born: datetime.date
    seen: datetime.datetime
    id: uuid.UUID
    score: float = Field(gt=0, lt=1, multiple_of=0.05)
    pet: Cat | Dog = Field(discriminator="kind")
    tree: Node
    ratio: Annotated[float, Field(multiple_of=0.1, ge=0.25)]
    weights: dict[str, float] = Field(min_length=1)


class Flight(BaseModel):
    origin: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    destination: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    seats: Annotated[list[Literal["aisle", "window", "middle"]], Field(min_length=1, max_length=3)]
    date: datetime.date
    passengers: Annotated[int, Field(ge=1, le=9)] = 1


PYDANTIC_MODELS: list[type[BaseModel]] = [Person, Address, Node, Flight]

# --------------------------------------------------------------------------------------------------
# Hand-written schemas, one per feature the SDKs and agent frameworks put in tool parameters.

SCHEMAS: dict[str, Any] = {
    "required-and-enum": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["city", "unit"],
    },
    "enum-of-mixed-types-and-const": {
        "type": "object",
        "properties": {"a": {"enum": ["x", 1, None]}, "b": {"const": {"k": [1, 2]}}},
        "required": ["a", "b"],
    },
    "type-list": {"type": ["null", "integer"], "minimum": 5},
    "openai-strict-nullable": {
        "type": "object",
        "properties": {"q": {"type": ["string", "null"]}, "n": {"anyOf": [{"type": "integer"}, {"type": "null"}]}},
        "required": ["q", "n"],
        "additionalProperties": False,
    },
    "openapi-nullable": {
        "type": "object",
        "properties": {"x": {"type": "string", "nullable": True}},
        "required": ["x"],
    },
    "oneOf-overlapping-branches": {"oneOf": [{"type": "number"}, {"type": "integer"}]},
    "oneOf-discriminated": {
        "oneOf": [
            {"type": "object", "properties": {"t": {"const": "a"}, "x": {"type": "integer"}}, "required": ["t", "x"]},
            {"type": "object", "properties": {"t": {"const": "b"}}, "required": ["t"]},
        ]
    },
    "allOf-merged": {
        "allOf": [
            {"type": "object", "properties": {"a": {"type": "integer", "minimum": 3}}, "required": ["a"]},
            {"properties": {"a": {"maximum": 3}, "b": {"type": "string", "minLength": 12}}, "required": ["b"]},
        ],
        "properties": {"a": {}, "b": {}},
        "additionalProperties": False,
    },
    "ref-and-defs": {
        "$defs": {"unit": {"type": "string", "enum": ["kg", "lb"]}, "weight": {"$ref": "#/$defs/unit"}},
        "type": "object",
        "properties": {"unit": {"$ref": "#/$defs/weight"}},
        "required": ["unit"],
    },
    "ref-to-definitions": {
        "definitions": {"a": {"type": "string", "enum": ["z"]}},
        "type": "object",
        "properties": {"x": {"$ref": "#/definitions/a"}},
        "required": ["x"],
    },
    "recursive-required-chain": {
        "$defs": {
            "n": {
                "type": "object",
                "properties": {"next": {"anyOf": [{"$ref": "#/$defs/n"}, {"type": "null"}]}},
                "required": ["next"],
            }
        },
        "$ref": "#/$defs/n",
    },
    "nested-objects-and-arrays": {
        "type": "object",
        "properties": {
            "order": {
                "type": "object",
                "properties": {
                    "items": {
                        "type": "array",
                        "minItems": 2,
                        "maxItems": 3,
                        "items": {
                            "type": "object",
                            "properties": {"sku": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}},
                            "required": ["sku", "qty"],
                            "additionalProperties": False,
                        },
                    }
                },
                "required": ["items"],
            }
        },
        "required": ["order"],
    },
    "array-max-zero": {"type": "array", "items": {"type": "string"}, "maxItems": 0},
    "unique-enum-items": {
        "type": "array",
        "items": {"type": "string", "enum": ["a", "b", "c"]},
        "minItems": 3,
        "uniqueItems": True,
    },
    "unique-bounded-integers": {
        "type": "array",
        "items": {"type": "integer", "minimum": 10, "maximum": 12},
        "minItems": 3,
        "uniqueItems": True,
    },
    "unique-strings": {"type": "array", "items": {"type": "string"}, "minItems": 4, "uniqueItems": True},
    "prefix-items": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "items": False},
    "contains": {"type": "array", "contains": {"type": "integer", "minimum": 5}, "items": {"type": "integer"}},
    "number-bounds": {
        "type": "object",
        "properties": {
            "open": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 0.5},
            "step": {"type": "integer", "multipleOf": 7, "minimum": 100},
            "cents": {"type": "number", "multipleOf": 0.01, "minimum": 2.5, "maximum": 2.6},
            "negative": {"type": "integer", "minimum": -10, "maximum": -5},
            "tenths": {"type": "number", "multipleOf": 0.1, "exclusiveMinimum": 0.25, "maximum": 0.45},
        },
        "required": ["open", "step", "cents", "negative", "tenths"],
    },
    "draft4-exclusive-flags": {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "number",
        "minimum": 5,
        "exclusiveMinimum": True,
        "maximum": 6,
        "exclusiveMaximum": True,
    },
    "formats": {
        "type": "object",
        "properties": {name: {"type": "string", "format": name} for name in FORMAT_EXAMPLES},
        "required": list(FORMAT_EXAMPLES),
        "additionalProperties": False,
    },
    "patterns": {
        "type": "object",
        "properties": {
            "sku": {"type": "string", "pattern": r"^[A-Z]{3}-\d{4}$"},
            "phone": {"type": "string", "pattern": r"^\+?[1-9]\d{1,14}$"},
            "short": {"type": "string", "pattern": r"^\w+$", "maxLength": 5},
            "slug": {"type": "string", "pattern": r"^[a-z0-9]+(?:-[a-z0-9]+)*$", "minLength": 12},
            "unanchored": {"type": "string", "pattern": "ab+c"},
        },
        "required": ["sku", "phone", "short", "slug", "unanchored"],
    },
    "string-lengths": {"type": "string", "minLength": 30, "maxLength": 31},
    "additional-properties-false-with-pattern-properties": {
        "type": "object",
        "patternProperties": {"^x-": {"type": "integer"}},
        "additionalProperties": False,
        "minProperties": 2,
    },
    "min-properties-from-additional": {
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "additionalProperties": {"type": "integer"},
        "minProperties": 3,
    },
    "dependent-required": {
        "type": "object",
        "properties": {"card": {"type": "string"}, "billing": {"type": "string"}},
        "required": ["card"],
        "dependentRequired": {"card": ["billing"]},
    },
    "not": {"type": "integer", "not": {"enum": [0, 1]}},
    "empty-schema": {},
    "no-properties-object": {"type": "object"},
    **{f"pydantic-{model.__name__}": model.model_json_schema() for model in PYDANTIC_MODELS},
}


def check(schema: Any, value: Any) -> None:
    """jsonschema's verdict, formats included (the draft's own checker: `time` needs its offset in 2020-12)."""
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    errors = [
        f"{list(e.absolute_path)}: {e.message}"
        for e in cls(schema, format_checker=cls.FORMAT_CHECKER).iter_errors(value)
    ]
    assert not errors, f"{value!r} is not valid: {errors}"
