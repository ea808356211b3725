"""Log lines that a client cannot forge: structured fields, rendered as escaped logfmt text or JSON lines.

Invariants:
- Values that come from a request (ids, paths, header values) are passed as fields, never formatted
  into the message: `event(log, "decision", request_id=...)`.
- The text format writes `key=value` pairs; a value with a space, a quote, `=`, a backslash or any
  control character is double-quoted with backslash escapes, so one line is always one record and a
  value can never read as another key (`request_id="abc affinity=pinned"`).
- The JSON format writes one JSON object per line: `time`, `level`, `logger`, `message`, the fields,
  and `exception` when there is one.
- Every message, even one formatted with %-arguments, has its control characters escaped, so no log
  line can be split in two.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Mapping
from typing import Any

import orjson

from brightstaff.config.model import LogFormat

_FIELDS = "brightstaff_fields"  # the LogRecord attribute that carries an event's fields
_NEEDS_QUOTES = re.compile(r'[\s"=\\\x00-\x1f\x7f]')
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", '"': '\\"', "\\": "\\\\"}


def _escape_char(match: re.Match[str]) -> str:
    char = match.group(0)
    return _ESCAPES.get(char) or f"\\x{ord(char):02x}"


def logfmt_value(value: object) -> str:
    """A value as logfmt writes it: bare when safe, otherwise quoted with escapes."""
    text = "-" if value is None else str(value)
    if text and not _NEEDS_QUOTES.search(text):
        return text
    return '"' + re.sub(r'[\x00-\x1f\x7f"\\]', _escape_char, text) + '"'


def event(logger: logging.Logger, level: int, message: str, /, *, exc_info: bool = False, **fields: Any) -> None:
    """Log `message` (a constant) with request-derived values as fields."""
    if logger.isEnabledFor(level):
        logger.log(level, message, exc_info=exc_info, extra={_FIELDS: fields})


def _fields(record: logging.LogRecord) -> Mapping[str, Any]:
    fields = getattr(record, _FIELDS, None)
    return fields if isinstance(fields, dict) else {}


class TextFormatter(logging.Formatter):
    """`time level logger message key=value ...`, one line per record."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = _CONTROL.sub(_escape_char, super().formatMessage(self._prepared(record)))
        pairs = " ".join(f"{key}={logfmt_value(value)}" for key, value in _fields(record).items())
        if pairs:
            line = f"{line} {pairs}"
        if record.exc_info:
            # The traceback keeps its lines (it is ours, not the client's), indented under the record.
            line += "\n" + self.formatException(record.exc_info)
        return line

    def _prepared(self, record: logging.LogRecord) -> logging.LogRecord:
        record.message = record.getMessage()
        record.asctime = self.formatTime(record)
        return record


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in _fields(record).items():
            document.setdefault(key, value)
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(document, default=str).decode()


def configure(level: str, log_format: LogFormat = "text") -> None:
    """Send brightstaff's logs to stderr in the chosen format (replacing any earlier handler)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper()))
