"""schema_instance.instance: every schema of the table (hand-written, and Pydantic's model_json_schema())
gets an instance that jsonschema accepts, with the schema draft's own format checker, the same every time."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel
from schema_table import PYDANTIC_MODELS, SCHEMAS, check

from brightstaff.demo.schema_instance import FORMAT_EXAMPLES, instance


def test_the_format_checkers_the_table_relies_on_are_active() -> None:
    """A format jsonschema has no checker for passes anything: make sure each one used here really checks."""
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    checked = set(FORMAT_EXAMPLES) - {"byte", "password"}  # OpenAPI's: annotations only
    assert checked <= set(checker.checkers)
    for name in checked:
        assert not checker.conforms("not valid: {\u0000 [", name), name


@pytest.mark.parametrize("schema", SCHEMAS.values(), ids=SCHEMAS.keys())
def test_every_instance_is_valid_and_deterministic(schema: Any) -> None:
    value = instance(schema)
    check(schema, value)
    assert instance(schema) == value


@pytest.mark.parametrize("model", PYDANTIC_MODELS, ids=lambda m: m.__name__)
def test_pydantic_models_accept_the_instance_of_their_schema(model: type[BaseModel]) -> None:
    model.model_validate(instance(model.model_json_schema()))


def test_optional_fields_get_a_value_not_null() -> None:
    value = instance({"anyOf": [{"type": "string", "format": "date"}, {"type": "null"}]})
    assert value == "2024-01-15"


def test_a_hint_is_kept_where_the_schema_allows_it() -> None:
    schema = {
        "type": "object",
        "properties": {
            "workload": {"type": "string", "enum": ["read_heavy", "write_heavy", "mixed"]},
            "database": {"type": "string", "enum": ["postgresql", "mongodb"]},
            "note": {"type": "string"},
        },
        "required": ["database", "workload"],
        "additionalProperties": False,
    }
    # The nearest enum member, the required property added, the property the schema does not know dropped.
    assert instance(schema, {"workload": "write-heavy", "extra": 1}) == {
        "workload": "write_heavy",
        "database": "postgresql",
    }
    assert instance(schema, {"workload": "mixed", "database": "MongoDB", "note": "n"}) == {
        "workload": "mixed",
        "database": "mongodb",
        "note": "n",
    }
    assert instance({"type": "integer", "minimum": 10}, 3) == 10
    assert instance({"type": "string", "maxLength": 4}, "read-heavy") == "read"


def test_unsatisfiable_schemas_still_answer() -> None:
    assert instance(False) is None
    assert instance({"type": "integer", "minimum": 5, "maximum": 1}) in (1, 5)
