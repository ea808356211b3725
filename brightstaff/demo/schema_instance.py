"""A value that a JSON schema accepts, chosen deterministically and as close to a wanted value as it allows.

`instance(schema, hint)` is what the fake model puts in tool-call arguments and structured answers.
What it guarantees:
- Deterministic: the same (schema, hint) always gives the same value (patterns are expanded with a
  random generator seeded from the pattern itself, never from the clock or the process).
- Valid whenever it can be: every value is built for the schema's keywords (types and type lists,
  enum, const, `$ref`/`$defs`, allOf/anyOf/oneOf/not, object properties/required/additionalProperties/
  patternProperties/min-maxProperties/dependentRequired, arrays with items/prefixItems/min-maxItems/
  uniqueItems/contains, numbers with bounds and multipleOf, strings with lengths, formats and
  patterns), then checked with `jsonschema` against the whole schema, and alternatives (other
  branches, other enum values, other types, the minimal instance) are tried in order until one passes.
  Only a schema that no tried alternative satisfies (one that is unsatisfiable, or contradicts itself in
  ways this module does not search) gets its first candidate, unchecked.
- The hint wins where the schema allows it: a hint value the schema accepts is kept as is; an enum
  takes the member closest to the hint ("read-heavy" finds "read_heavy"); an object keeps its hinted
  properties that it allows, and adds the ones it requires.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import referencing
import referencing.jsonschema
import rstr

_MISSING: Any = object()
# Past this depth objects get only their required properties, arrays their minimum length, and unions
# their simplest branch (null first), so that recursive schemas (trees, linked lists) end.
_MINIMAL_DEPTH = 6
_MAX_DEPTH = 40
_PATTERN_TRIES = 32
# How many validations one instance() may run: bounds the search on large or adversarial schemas.
_CHECKS = 20_000
_STRING = "example"

# An example per `format` (JSON Schema 2020-12 and OpenAPI): valid for jsonschema's format checkers.
FORMAT_EXAMPLES: Mapping[str, str] = {
    "date": "2024-01-15",
    "date-time": "2024-01-15T09:30:00Z",
    "time": "09:30:00Z",
    "duration": "P1D",
    "email": "user@example.com",
    "idn-email": "user@example.com",
    "hostname": "example.com",
    "idn-hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "uri": "https://example.com/",
    "uri-reference": "https://example.com/",
    "iri": "https://example.com/",
    "iri-reference": "https://example.com/",
    "uri-template": "https://example.com/{id}",
    "uuid": "123e4567-e89b-42d3-a456-426614174000",
    "json-pointer": "/example",
    "relative-json-pointer": "0",
    "regex": "^example$",
    "byte": "ZXhhbXBsZQ==",
    "password": "example",
}

_TYPES_OF: dict[type, str] = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array"}


def instance(schema: Any, hint: Any = _MISSING) -> Any:
    """A value `schema` accepts, as close to `hint` as it allows (see the module docstring)."""
    return _Builder(schema).build(hint)


@dataclass
class _Builder:
    root: Any
    _validator: Any = field(init=False)
    _resolver: Any = field(init=False)
    _checks_left: int = _CHECKS

    def __post_init__(self) -> None:
        root = self.root if isinstance(self.root, dict | bool) else {}
        cls = jsonschema.validators.validator_for(root, default=jsonschema.Draft202012Validator)
        self._validator = cls(root)
        # referencing (jsonschema's own $ref machinery) resolves every $ref against the root, as the
        # validator does, so the builder and the check agree on what a reference means.
        resource = referencing.Resource.from_contents(root, default_specification=referencing.jsonschema.DRAFT202012)
        self._resolver = referencing.Registry().resolver_with_root(resource)

    def build(self, hint: Any) -> Any:
        candidates = self._candidates(self.root, hint, 0)
        first = _MISSING
        for candidate in _take(candidates, 64):
            if self.valid(candidate, self.root):
                return candidate
            if first is _MISSING:
                first = candidate
        return None if first is _MISSING else first

    def valid(self, value: Any, schema: Any) -> bool:
        if self._checks_left <= 0:
            return False
        self._checks_left -= 1
        try:
            return bool(self._validator.evolve(schema=schema).is_valid(value))
        except Exception:  # a schema jsonschema cannot use (a pattern Python's re rejects, a remote $ref...)
            return False

    # ----------------------------------------------------------------------------------------------
    # Candidates: the values worth trying for a schema, best first. A generator, so that trying stops
    # at the first valid one and nothing past it is built.

    def _candidates(self, schema: Any, hint: Any, depth: int) -> Iterator[Any]:
        if depth > _MAX_DEPTH:
            yield None
            return
        if schema is True or schema is None:
            yield _STRING if hint is _MISSING else hint
            return
        if not isinstance(schema, dict):  # False, or not a schema at all: nothing can be valid
            yield None
            return
        schema = self._flatten(schema)
        if hint is not _MISSING and self.valid(hint, schema):
            yield hint
        if "const" in schema:
            yield schema["const"]
            return
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            yield from sorted(schema["enum"], key=lambda member: _distance(member, hint))
            return
        branches = schema.get("anyOf") or schema.get("oneOf")
        if isinstance(branches, list) and branches:
            rest = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
            for branch in self._ordered_branches(branches, hint, depth):
                merged = _merge(rest, self._flatten(branch) if isinstance(branch, dict) else {})
                for candidate in _take(self._candidates(merged, hint, depth + 1), 8):
                    if self.valid(candidate, schema):
                        yield candidate
                        break
            return
        for kind in self._ordered_types(schema, hint, depth):
            yield from self._typed(kind, schema, hint, depth)

    def _flatten(self, schema: dict[str, Any]) -> dict[str, Any]:
        """The schema with its `$ref` and `allOf` merged in, so that one builder sees every constraint."""
        seen = 0
        while ("$ref" in schema or "allOf" in schema) and seen < _MAX_DEPTH:
            seen += 1
            parts: list[Any] = []
            rest = dict(schema)
            ref = rest.pop("$ref", None)
            if isinstance(ref, str):
                parts.append(self._resolve(ref))
            all_of = rest.pop("allOf", None)
            if isinstance(all_of, list):
                parts.extend(all_of)
            merged = rest
            for part in parts:
                merged = _merge(merged, part if isinstance(part, dict) else {})
            schema = merged
        return schema

    def _resolve(self, ref: str) -> Any:
        try:
            return self._resolver.lookup(ref).contents
        except referencing.exceptions.Unresolvable:
            return {}

    def _ordered_branches(self, branches: list[Any], hint: Any, depth: int) -> list[Any]:
        def rank(index_branch: tuple[int, Any]) -> tuple[int, int]:
            index, branch = index_branch
            flat = self._flatten(branch) if isinstance(branch, dict) else {}
            null = flat.get("type") == "null"
            if hint is not _MISSING and self.valid(hint, branch):
                return (0, index)
            if depth >= _MINIMAL_DEPTH:
                return (1 if null else 2, index)  # the simplest branch first, so recursion ends
            return (3 if null else 1, index)  # a real value first: Optional[X] gives an X

        return [branch for _, branch in sorted(enumerate(branches), key=rank)]

    def _ordered_types(self, schema: dict[str, Any], hint: Any, depth: int) -> list[str]:
        declared = schema.get("type")
        if isinstance(declared, str):
            kinds = [declared]
        elif isinstance(declared, list) and declared:
            kinds = [k for k in declared if isinstance(k, str)]
        else:
            kinds = _implied_types(schema)
        hinted = _json_type(hint)
        if "integer" in kinds and "number" not in kinds and hinted == "number":
            hinted = "integer"

        def rank(index_kind: tuple[int, str]) -> tuple[int, int]:
            index, kind = index_kind
            if kind == hinted or (kind == "number" and hinted == "integer"):
                return (0, index)
            if kind == "null":
                return (1 if depth >= _MINIMAL_DEPTH else 3, index)
            return (2, index)

        return [kind for _, kind in sorted(enumerate(kinds), key=rank)]

    def _typed(self, kind: str, schema: dict[str, Any], hint: Any, depth: int) -> Iterator[Any]:
        if kind == "null":
            yield None
        elif kind == "boolean":
            yield hint if isinstance(hint, bool) else True
            yield False
        elif kind in ("integer", "number"):
            yield from _numbers(schema, hint, integer=kind == "integer")
        elif kind == "string":
            yield from _strings(schema, hint)
        elif kind == "array":
            yield from self._arrays(schema, hint, depth)
        elif kind == "object":
            yield from self._objects(schema, hint, depth)

    def _arrays(self, schema: dict[str, Any], hint: Any, depth: int) -> Iterator[list[Any]]:
        prefix = schema.get("prefixItems")
        items = schema.get("items", True)
        if isinstance(items, list):  # draft 4-7 tuple form
            prefix, items = items, schema.get("additionalItems", True)
        prefix = prefix if isinstance(prefix, list) else []
        low = _int(schema.get("minItems"), 0)
        high = _int(schema.get("maxItems"), max(low, len(prefix), 1))
        hinted = hint if isinstance(hint, list) else []
        wanted = len(hinted) if hinted else (low if depth >= _MINIMAL_DEPTH else max(low, 1))
        lengths = dict.fromkeys(n for n in (max(low, min(wanted, high)), low, max(low, len(prefix))) if n <= high)
        contains = schema.get("contains")
        unique = schema.get("uniqueItems") is True
        for length in lengths:
            values: list[Any] = []
            for index in range(length):
                item_schema = prefix[index] if index < len(prefix) else items
                if index == 0 and isinstance(contains, dict | bool) and not prefix:
                    item_schema = _merge_any(item_schema, contains)
                item_hint = hinted[index] if index < len(hinted) else _MISSING
                values.append(self._item(item_schema, item_hint, depth, index, values if unique else []))
            yield values

    def _item(self, schema: Any, hint: Any, depth: int, index: int, taken: list[Any]) -> Any:
        """An item for one array slot; with uniqueItems, one that differs from the items before it."""
        fallback = _MISSING
        for candidate in _take(self._variants(schema, hint, depth + 1, index), 32):
            if self.valid(candidate, schema) and candidate not in taken:
                return candidate
            if fallback is _MISSING:
                fallback = candidate
        return None if fallback is _MISSING else fallback

    def _variants(self, schema: Any, hint: Any, depth: int, index: int) -> Iterator[Any]:
        yield from self._candidates(schema, hint, depth)
        if index:  # distinct values for uniqueItems: numbered strings, shifted numbers
            flat = self._flatten(schema) if isinstance(schema, dict) else {}
            for shift in range(8):
                yield from _take(self._candidates(flat, _variant(flat, index + 1 + 16 * shift), depth), 2)

    def _objects(self, schema: dict[str, Any], hint: Any, depth: int) -> Iterator[dict[str, Any]]:
        properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        assert isinstance(properties, dict)
        required = [n for n in schema.get("required", []) if isinstance(n, str)]
        hinted = hint if isinstance(hint, dict) else {}
        if hinted:
            names = list(dict.fromkeys([*required, *(n for n in hinted if self._allowed(schema, n))]))
        elif "required" in schema or depth >= _MINIMAL_DEPTH:
            names = list(required)
        else:
            names = list(properties)
        names = self._with_dependencies(schema, names)
        low = _int(schema.get("minProperties"), 0)
        extra = (n for n in properties if n not in names)
        fresh = self._fresh_names(schema, names)
        while len(names) < low:
            name = next(extra, None) or next(fresh, None)
            if name is None:
                break
            names = self._with_dependencies(schema, [*names, name])
        value = {}
        for name in names:
            sub = self._property_schema(schema, name)
            value[name] = self._first_valid(sub, hinted.get(name, _MISSING), depth + 1)
        yield value
        if names != required:
            yield {
                name: self._first_valid(self._property_schema(schema, name), _MISSING, depth + 1) for name in required
            }

    def _first_valid(self, schema: Any, hint: Any, depth: int) -> Any:
        fallback = _MISSING
        for candidate in _take(self._candidates(schema, hint, depth), 32):
            if self.valid(candidate, schema):
                return candidate
            if fallback is _MISSING:
                fallback = candidate
        return None if fallback is _MISSING else fallback

    def _fresh_names(self, schema: dict[str, Any], taken: list[str]) -> Iterator[str]:
        """Names for properties beyond the declared ones (minProperties): plain ones, or patternProperties'."""
        patterns = schema.get("patternProperties")
        for number in range(1, 65):
            plain = f"property_{number}"
            if self._allowed(schema, plain) and plain not in taken:
                yield plain
            elif isinstance(patterns, dict):
                for pattern in patterns:
                    base = _from_pattern(pattern, number)
                    # An unanchored pattern matches longer names too: "x-" for ^x- also gives "x-2".
                    for name in () if base is None else (base, f"{base}{number}"):
                        if name not in taken and self._allowed(schema, name):
                            taken = [*taken, name]
                            yield name
                            break

    @staticmethod
    def _with_dependencies(schema: dict[str, Any], names: list[str]) -> list[str]:
        depends = schema.get("dependentRequired") or {}
        if not isinstance(depends, dict):
            return names
        out = list(names)
        for name in out:  # grows while iterating: dependencies of dependencies come along
            for other in depends.get(name, []):
                if isinstance(other, str) and other not in out:
                    out.append(other)
        return out

    @staticmethod
    def _allowed(schema: dict[str, Any], name: str) -> bool:
        properties = schema.get("properties")
        if isinstance(properties, dict) and name in properties:
            return True
        patterns = schema.get("patternProperties")
        if isinstance(patterns, dict) and any(_search(p, name) for p in patterns):
            return True
        return (
            schema.get("additionalProperties", True) is not False and schema.get("unevaluatedProperties") is not False
        )

    @staticmethod
    def _property_schema(schema: dict[str, Any], name: str) -> Any:
        properties = schema.get("properties")
        if isinstance(properties, dict) and name in properties:
            return properties[name]
        patterns = schema.get("patternProperties")
        if isinstance(patterns, dict):
            for pattern, sub in patterns.items():
                if _search(pattern, name):
                    return sub
        additional = schema.get("additionalProperties", True)
        return additional if isinstance(additional, dict) else True


# --------------------------------------------------------------------------------------------------
# Scalars


def _numbers(schema: dict[str, Any], hint: Any, *, integer: bool) -> Iterator[int | float]:
    """Numbers near the hint, 1, 0, 0.5 and the bounds; the caller keeps the first one the schema accepts."""
    low, high = _number(schema.get("minimum")), _number(schema.get("maximum"))
    above, below = _number(schema.get("exclusiveMinimum")), _number(schema.get("exclusiveMaximum"))
    if schema.get("exclusiveMinimum") is True:  # draft 4: a flag on minimum
        above, low = low, None
    if schema.get("exclusiveMaximum") is True:
        below, high = high, None
    lowest = max((v for v in (low, above) if v is not None), default=None)
    highest = min((v for v in (high, below) if v is not None), default=None)
    targets: list[float] = [hint] if _number(hint) is not None else []
    targets += [1, 0, 2, -1, 10] if integer else [1, 0, 0.5, 2, -1, 10]
    if lowest is not None and highest is not None:
        targets += [(lowest + highest) / 2, lowest, highest]
    elif lowest is not None:
        targets += [lowest, lowest + 1]
    elif highest is not None:
        targets += [highest, highest - 1]
    step = _number(schema.get("multipleOf"))
    seen: set[float] = set()
    for target in targets:
        if lowest is not None and target < lowest:
            target = lowest
        if highest is not None and target > highest:
            target = highest
        for candidate in _near(target, step, integer):
            if candidate not in seen:
                seen.add(candidate)
                yield candidate


def _near(target: float, step: float | None, integer: bool) -> Iterator[int | float]:
    if step is not None and step > 0:
        # Multiples on either side; a float step is tried both raw and rounded to its own decimals,
        # since binary floating point makes only some of them exact multiples (0.3 is not, for 0.1).
        decimals = max(0, -math.floor(math.log10(step))) + 2 if not float(step).is_integer() else 0
        for k in (math.ceil(target / step), math.floor(target / step), math.ceil(target / step) + 1):
            for value in (k * step, round(k * step, decimals)):
                yield int(value) if integer or (float(value).is_integer() and isinstance(step, int)) else value
        return
    if integer:
        yield math.ceil(target)
        yield math.floor(target)
    else:
        yield float(target) if isinstance(target, float) else target


def _strings(schema: dict[str, Any], hint: Any) -> Iterator[str]:
    low = _int(schema.get("minLength"), 0)
    high = _int(schema.get("maxLength"), max(low, 64) + 64)
    pattern = schema.get("pattern")
    fmt = schema.get("format")
    bases: list[str] = []
    if isinstance(hint, str):
        bases.append(hint)
    if isinstance(fmt, str) and fmt in FORMAT_EXAMPLES:
        bases.append(FORMAT_EXAMPLES[fmt])
    bases.append(_STRING)
    if isinstance(pattern, str):
        for attempt in range(_PATTERN_TRIES):
            text = _from_pattern(pattern, attempt)
            if text is not None and low <= len(text) <= high:
                yield text
        yield from (base for base in bases if _search(pattern, base))
    for base in bases:
        yield _fit(base, low, high)


def _fit(text: str, low: int, high: int) -> str:
    if len(text) < low:
        text = (text + "-" + "x" * low)[:low] if text else "x" * low
    return text[:high]


def _from_pattern(pattern: str, attempt: int) -> str | None:
    """A string the pattern matches, from rstr's expansion seeded by (pattern, attempt): deterministic."""
    seed = int.from_bytes(hashlib.sha256(f"{attempt}:{pattern}".encode()).digest()[:8], "big")
    try:
        text = rstr.Rstr(random.Random(seed)).xeger(pattern)  # noqa: S311 (seeded for determinism, not secrecy)
    except Exception:  # constructs rstr cannot expand (some lookarounds, unicode classes): no candidate
        return None
    return text if _search(pattern, text) else None


def _search(pattern: str, text: str) -> bool:
    try:
        return re.search(pattern, text) is not None
    except re.error:
        return False


# --------------------------------------------------------------------------------------------------
# Helpers


def _take(values: Iterator[Any], most: int) -> Iterator[Any]:
    for index, value in enumerate(values):
        if index >= most:
            return
        yield value


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Both schemas' constraints in one schema (what allOf means), close enough to build a value from."""
    out = dict(base)
    for key, value in extra.items():
        if key not in out:
            out[key] = value
            continue
        mine = out[key]
        if key == "properties" and isinstance(mine, dict) and isinstance(value, dict):
            out[key] = {**mine, **{k: _merge_any(mine[k], v) if k in mine else v for k, v in value.items()}}
        elif key == "required" and isinstance(mine, list) and isinstance(value, list):
            out[key] = list(dict.fromkeys([*mine, *value]))
        elif key == "type" and isinstance(mine, str | list) and isinstance(value, str | list):
            left = {mine} if isinstance(mine, str) else set(mine)
            right = {value} if isinstance(value, str) else set(value)
            both = left & right | (
                {"integer"}
                if ("number" in left and "integer" in right) or ("integer" in left and "number" in right)
                else set()
            )
            out[key] = sorted(both) or mine
        elif key == "enum" and isinstance(mine, list) and isinstance(value, list):
            out[key] = [m for m in mine if m in value] or mine
        elif key in ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"):
            out[key] = max(mine, value) if _comparable(mine, value) else mine
        elif key in ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties"):
            out[key] = min(mine, value) if _comparable(mine, value) else mine
        elif (
            key in ("items", "additionalProperties", "contains") and isinstance(mine, dict) and isinstance(value, dict)
        ):
            out[key] = _merge_any(mine, value)
        elif key in ("anyOf", "oneOf") and isinstance(mine, list) and isinstance(value, list) and mine != value:
            # One branch of each: the pairs. Exact for anyOf; for oneOf the final check sorts it out.
            if len(mine) * len(value) <= 16:
                out[key] = [{"allOf": [a, b]} for a in mine for b in value]
        elif key == "additionalProperties" and (mine is False or value is False):
            out[key] = False
    return out


def _merge_any(left: Any, right: Any) -> Any:
    if isinstance(left, dict) and isinstance(right, dict):
        return {"allOf": [left, right]}
    return right if left is True or left is None else left


def _comparable(a: Any, b: Any) -> bool:
    return (
        isinstance(a, int | float)
        and isinstance(b, int | float)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    )


def _implied_types(schema: dict[str, Any]) -> list[str]:
    """The types a schema without `type` suggests by its keywords; every JSON type when it says nothing."""
    if any(
        k in schema for k in ("properties", "required", "additionalProperties", "patternProperties", "minProperties")
    ):
        return ["object"]
    if any(k in schema for k in ("items", "prefixItems", "minItems", "maxItems", "uniqueItems", "contains")):
        return ["array"]
    if any(k in schema for k in ("minLength", "maxLength", "pattern", "format")):
        return ["string"]
    if any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")):
        return ["number"]
    return ["string", "integer", "number", "boolean", "object", "array", "null"]


def _json_type(value: Any) -> str | None:
    if value is _MISSING:
        return None
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "object"
    return _TYPES_OF.get(type(value))


def _normalised(value: Any) -> str:
    return re.sub(r"[^0-9a-z]", "", str(value).lower())


def _distance(member: Any, hint: Any) -> tuple[int, int]:
    """How far an enum member is from the hint: equal, equal once normalised, containing, anything else."""
    if hint is _MISSING:
        return (3, 0)
    if member == hint:
        return (0, 0)
    a, b = _normalised(member), _normalised(hint)
    if a == b:
        return (1, 0)
    if a and b and (a in b or b in a):
        return (2, abs(len(a) - len(b)))
    return (3, 0)


def _variant(schema: dict[str, Any], number: int) -> Any:
    """A hint that makes the n-th item of a uniqueItems array differ from the others."""
    kinds = _implied_types(schema) if "type" not in schema else schema["type"]
    kind = kinds if isinstance(kinds, str) else (kinds[0] if kinds else "string")
    if kind in ("integer", "number"):
        return number
    if kind == "boolean":
        return number % 2 == 0
    return f"{_STRING}-{number}"


def _number(value: Any) -> float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default
