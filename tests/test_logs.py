"""Log lines: values cannot forge fields or split lines, in text (logfmt) and JSON formats."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from brightstaff.logs import JsonFormatter, TextFormatter, event, logfmt_value


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("abc", "abc"),
        ("team/agent:7", "team/agent:7"),
        (None, "-"),
        ("", '""'),
        (3, "3"),
        ("abc affinity=pinned provider=evil", '"abc affinity=pinned provider=evil"'),
        ("a=b", '"a=b"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ("line\nbreak", '"line\\nbreak"'),
        ("\x1b[31mred", '"\\x1b[31mred"'),
        ("tab\there", '"tab\\there"'),
    ],
    ids=[
        "plain",
        "id",
        "none",
        "empty",
        "int",
        "forged fields",
        "equals",
        "quotes",
        "backslash",
        "newline",
        "escape",
        "tab",
    ],
)
def test_logfmt_value(value: object, written: str) -> None:
    assert logfmt_value(value) == written


def record(caplog: pytest.LogCaptureFixture, **fields: Any) -> logging.LogRecord:
    logger = logging.getLogger("brightstaff.test")
    with caplog.at_level(logging.INFO, logger="brightstaff.test"):
        event(logger, logging.INFO, "decision", **fields)
    (only,) = caplog.records
    return only


def test_a_forged_request_id_stays_one_quoted_value(caplog: pytest.LogCaptureFixture) -> None:
    line = TextFormatter().format(record(caplog, request_id="abc affinity=pinned provider=evil", affinity="new"))
    assert line.endswith(' decision request_id="abc affinity=pinned provider=evil" affinity=new')
    assert "\n" not in line


def test_a_newline_in_a_formatted_message_cannot_split_the_line(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("brightstaff.test")
    with caplog.at_level(logging.INFO, logger="brightstaff.test"):
        logger.info("config note: %s", "x\nFAKE ERROR line")
    line = TextFormatter().format(caplog.records[0])
    assert "\n" not in line
    assert "x\\nFAKE ERROR line" in line


def test_json_lines_carry_fields_and_cannot_be_forged(caplog: pytest.LogCaptureFixture) -> None:
    line = JsonFormatter().format(record(caplog, request_id='a", "affinity": "pinned', ms=0.5))
    document = json.loads(line)
    assert document["message"] == "decision"
    assert document["request_id"] == 'a", "affinity": "pinned'
    assert document["ms"] == 0.5
    assert "affinity" not in document
    assert document["level"] == "INFO" and document["logger"] == "brightstaff.test"
