"""Validation of request header sections (RFC 9113 §8.1.1, §8.2, §8.3.1).

Guarantees: `parse_request` returns a `RequestHead` only for a well-formed request header section and
otherwise raises `MalformedRequest`, which the connection answers with a stream error of type
PROTOCOL_ERROR (§8.1.1). Well-formed means:
- field names: not empty, no uppercase letters, controls, space, DEL or non-ASCII, and no colon except
  a pseudo-header's leading one; values: no NUL, CR or LF, no leading or trailing space or tab (§8.2.1);
- no connection-specific field (connection, proxy-connection, keep-alive, transfer-encoding, upgrade),
  and `te` only as "trailers" (§8.2.2);
- pseudo-headers: only :method, :scheme, :authority and :path, each at most once, all before the first
  regular field (§8.3); :method present; a CONNECT names :authority and neither :scheme nor :path; any
  other method has :scheme and a non-empty :path (§8.3.1);
- content-length, if present, one non-negative decimal integer (repeated only with the same value).
`check_trailers` holds a trailer section to the same field rules and forbids pseudo-headers in it (§8.1).
Pure functions of the field list.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from brightstaff.extproc.http2.header_blocks import Fields


class MalformedRequest(Exception):
    """The request is malformed (RFC 9113 §8.1.1): a stream error of type PROTOCOL_ERROR."""


class RequestHead(NamedTuple):
    method: bytes
    path: bytes
    content_type: bytes  # b"" when absent
    content_length: int | None


_REQUEST_PSEUDO = frozenset({b":method", b":scheme", b":authority", b":path"})
_CONNECTION_SPECIFIC = frozenset({b"connection", b"proxy-connection", b"keep-alive", b"transfer-encoding", b"upgrade"})
_BAD_NAME = re.compile(rb"[\x00-\x20A-Z:\x7f-\xff]")  # a pseudo-header's leading colon is checked apart
_BAD_VALUE = re.compile(rb"[\x00\r\n]|\A[ \t]|[ \t]\Z")
_DIGITS = re.compile(rb"[0-9]+")


def parse_request(fields: Fields) -> RequestHead:
    pseudo: dict[bytes, bytes] = {}
    regular_seen = False
    content_type = b""
    content_length: int | None = None
    for name, value in fields:
        if _BAD_VALUE.search(value):
            raise MalformedRequest(f"the value of {_show(name)} has a forbidden character")
        if name[:1] == b":":
            if regular_seen:
                raise MalformedRequest(f"pseudo-header {_show(name)} after a regular field")
            if name not in _REQUEST_PSEUDO:
                raise MalformedRequest(f"unknown or response pseudo-header {_show(name)}")
            if name in pseudo:
                raise MalformedRequest(f"pseudo-header {_show(name)} repeated")
            pseudo[name] = value
            continue
        regular_seen = True
        _check_regular(name, value)
        if name == b"content-type":
            content_type = value
        elif name == b"content-length":
            length = _content_length(value)
            if content_length is not None and length != content_length:
                raise MalformedRequest("content-length repeated with different values")
            content_length = length
    method = pseudo.get(b":method")
    if method is None:
        raise MalformedRequest(":method is missing")
    path = pseudo.get(b":path", b"")
    if method == b"CONNECT":
        if b":authority" not in pseudo or b":scheme" in pseudo or b":path" in pseudo:
            raise MalformedRequest("CONNECT takes :authority and neither :scheme nor :path")
    elif b":scheme" not in pseudo:
        raise MalformedRequest(":scheme is missing")
    elif not path:
        raise MalformedRequest(":path is missing or empty")
    return RequestHead(method, path, content_type, content_length)


def check_trailers(fields: Fields) -> None:
    for name, value in fields:
        if _BAD_VALUE.search(value):
            raise MalformedRequest(f"the value of trailer {_show(name)} has a forbidden character")
        if name[:1] == b":":
            raise MalformedRequest(f"pseudo-header {_show(name)} in trailers")
        _check_regular(name, value)


def _check_regular(name: bytes, value: bytes) -> None:
    if not name or _BAD_NAME.search(name):
        raise MalformedRequest(f"field name {_show(name)} is not lowercase visible ASCII without a colon")
    if name in _CONNECTION_SPECIFIC:
        raise MalformedRequest(f"connection-specific field {_show(name)}")
    if name == b"te" and value != b"trailers":
        raise MalformedRequest('te other than "trailers"')


def _content_length(value: bytes) -> int:
    if not _DIGITS.fullmatch(value):
        raise MalformedRequest("content-length is not a decimal integer")
    return int(value)


def _show(name: bytes) -> str:
    return repr(name.decode("latin-1")[:64])
