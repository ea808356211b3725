"""Request header validation (RFC 9113 §8.1.1, §8.2, §8.3.1), one named case per rule."""

from __future__ import annotations

import pytest

from brightstaff.extproc.http2.request_headers import MalformedRequest, RequestHead, check_trailers, parse_request

Fields = list[tuple[bytes, bytes]]

BASE: Fields = [
    (b":method", b"POST"),
    (b":scheme", b"http"),
    (b":path", b"/svc/Method"),
    (b":authority", b"127.0.0.1"),
    (b"content-type", b"application/grpc"),
    (b"te", b"trailers"),
]


def without(name: bytes) -> Fields:
    return [field for field in BASE if field[0] != name]


def replaced(name: bytes, value: bytes) -> Fields:
    return [(n, value if n == name else v) for n, v in BASE]


MALFORMED: dict[str, Fields] = {
    "uppercase name": [*BASE, (b"X-Upper", b"1")],
    "space in a name": [*BASE, (b"x y", b"1")],
    "empty name": [*BASE, (b"", b"1")],
    "colon inside a regular name": [*BASE, (b"x:y", b"1")],
    "control character in a name": [*BASE, (b"x\x01", b"1")],
    "non-ASCII name": [*BASE, (b"caf\xc3\xa9", b"1")],
    "NUL in a value": [*BASE, (b"x", b"a\x00b")],
    "CR in a value": [*BASE, (b"x", b"a\rb")],
    "LF in a value": [*BASE, (b"x", b"a\nb")],
    "leading space in a value": [*BASE, (b"x", b" a")],
    "trailing tab in a value": [*BASE, (b"x", b"a\t")],
    "LF in a pseudo-header value": replaced(b":path", b"/a\nb"),
    "connection": [*BASE, (b"connection", b"keep-alive")],
    "keep-alive": [*BASE, (b"keep-alive", b"timeout=5")],
    "proxy-connection": [*BASE, (b"proxy-connection", b"close")],
    "transfer-encoding": [*BASE, (b"transfer-encoding", b"chunked")],
    "upgrade": [*BASE, (b"upgrade", b"h2c")],
    "te other than trailers": replaced(b"te", b"trailers, deflate"),
    "unknown pseudo-header": [(b":foo", b"bar"), *BASE],
    "response pseudo-header": [(b":status", b"200"), *BASE],
    "pseudo-header after a regular field": [*without(b":authority"), (b":authority", b"x")],
    "repeated :method": [(b":method", b"POST"), *BASE],
    "repeated :scheme": [(b":scheme", b"http"), *BASE],
    "repeated :path": [(b":path", b"/other"), *BASE],
    "repeated :authority": [(b":authority", b"other"), *BASE],
    "no :method": without(b":method"),
    "no :scheme": without(b":scheme"),
    "no :path": without(b":path"),
    "empty :path": replaced(b":path", b""),
    "CONNECT with :path": [(b":method", b"CONNECT"), (b":authority", b"a:443"), (b":path", b"/")],
    "CONNECT with :scheme": [(b":method", b"CONNECT"), (b":authority", b"a:443"), (b":scheme", b"https")],
    "CONNECT without :authority": [(b":method", b"CONNECT")],
    "content-length not a number": [*BASE, (b"content-length", b"ten")],
    "negative content-length": [*BASE, (b"content-length", b"-1")],
    "content-length with a sign": [*BASE, (b"content-length", b"+1")],
    "two different content-lengths": [*BASE, (b"content-length", b"1"), (b"content-length", b"2")],
}


@pytest.mark.parametrize("fields", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_requests_are_refused(fields: Fields) -> None:
    with pytest.raises(MalformedRequest):
        parse_request(fields)


WELL_FORMED: dict[str, tuple[Fields, RequestHead]] = {
    "a gRPC call": (BASE, RequestHead(b"POST", b"/svc/Method", b"application/grpc", None)),
    "no te, no content-type": (
        without(b"content-type")[:4],
        RequestHead(b"POST", b"/svc/Method", b"", None),
    ),
    "content-length": (
        [*BASE, (b"content-length", b"12")],
        RequestHead(b"POST", b"/svc/Method", b"application/grpc", 12),
    ),
    "the same content-length twice": (
        [*BASE, (b"content-length", b"0"), (b"content-length", b"0")],
        RequestHead(b"POST", b"/svc/Method", b"application/grpc", 0),
    ),
    "CONNECT with only :authority": (
        [(b":method", b"CONNECT"), (b":authority", b"a:443")],
        RequestHead(b"CONNECT", b"", b"", None),
    ),
    "OPTIONS *": (
        [(b":method", b"OPTIONS"), (b":scheme", b"http"), (b":path", b"*")],
        RequestHead(b"OPTIONS", b"*", b"", None),
    ),
    "visible punctuation in names and values": (
        [*BASE, (b"x-a.b_c~d!#$%&'*+^`|", b'a \t"b" c')],
        RequestHead(b"POST", b"/svc/Method", b"application/grpc", None),
    ),
    "empty value": ([*BASE, (b"x-empty", b"")], RequestHead(b"POST", b"/svc/Method", b"application/grpc", None)),
}


@pytest.mark.parametrize(("fields", "head"), WELL_FORMED.values(), ids=WELL_FORMED.keys())
def test_well_formed_requests_give_their_head(fields: Fields, head: RequestHead) -> None:
    assert parse_request(fields) == head


TRAILERS_MALFORMED: dict[str, Fields] = {
    "pseudo-header": [(b":path", b"/")],
    "uppercase name": [(b"X-Trailer", b"1")],
    "connection-specific field": [(b"connection", b"close")],
    "CR in a value": [(b"x", b"a\rb")],
}


@pytest.mark.parametrize("fields", TRAILERS_MALFORMED.values(), ids=TRAILERS_MALFORMED.keys())
def test_malformed_trailers_are_refused(fields: Fields) -> None:
    with pytest.raises(MalformedRequest):
        check_trailers(fields)


def test_ordinary_trailers_pass() -> None:
    check_trailers([(b"x-checksum", b"abc"), (b"grpc-status", b"0")])
    check_trailers([])
