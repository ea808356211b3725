"""Translate between Envoy's ext_proc messages and brightstaff's plain data (facts in, outcomes out).

Envoy 1.40 sends header values in `raw_value` and ignores `value`-only mutations (they set the header
to ''), so both directions use `raw_value`.
"""

from __future__ import annotations

from google.protobuf.struct_pb2 import Struct

from brightstaff._generated import ext_proc_pb2 as pb
from brightstaff.core.affinity_sources import HARNESS_HEADERS
from brightstaff.core.headers import (
    DEFAULTED_REQUEST_HEADERS,
    METADATA_NAMESPACE,
    REPLY_DETAILS_PREFIX,
    RESPONSE_HEADERS,
)
from brightstaff.core.outcome import Forward, Outcome, Reply, ResponseStart
from brightstaff.core.request import RequestFacts

_OVERWRITE = pb.HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD
_ADD_IF_ABSENT = pb.HeaderValueOption.ADD_IF_ABSENT
_MODE = pb.ProcessingMode


def _mode(
    response_header: pb.ProcessingMode.HeaderSendMode, response_body: pb.ProcessingMode.BodySendMode
) -> pb.ProcessingMode:
    """The whole processing mode (Envoy replaces, not merges, the mode it was configured with)."""
    return _MODE(
        request_header_mode=_MODE.SEND,
        response_header_mode=response_header,
        request_body_mode=_MODE.BUFFERED,
        response_body_mode=response_body,
        request_trailer_mode=_MODE.SKIP,
        response_trailer_mode=_MODE.SKIP,
    )


# The reply to a request's headers when its body follows. It also asks Envoy for the response headers:
# Envoy honours a mode override only in a reply to headers, and whether the response needs translating
# is known only once the body is decided. A request that needs none costs nothing more, because
# brightstaff ends the stream after its decision and Envoy then asks nothing further.
HEADERS_CONTINUE_WITH_RESPONSE: bytes = pb.ProcessingResponse(
    request_headers=pb.HeadersResponse(), mode_override=_mode(_MODE.SEND, _MODE.NONE)
).SerializeToString()


def facts_from_headers(headers: pb.HttpHeaders, *, affinity_header: str, tenant_header: str | None) -> RequestFacts:
    method = path = ""
    affinity = tenant = None
    affinity_repeated = tenant_repeated = False
    request_id = "-"
    traceparent = content_encoding = None
    identity: list[tuple[str, str]] = []  # the session ids agent harnesses send (core.affinity_sources)
    sent_defaults: set[str] = set()
    for header in headers.headers.headers:
        key = header.key
        if key == ":method":
            method = header.raw_value.decode("latin-1")
        elif key == ":path":
            path = header.raw_value.decode("latin-1")
        elif key == affinity_header:
            affinity_repeated = affinity is not None
            affinity = header.raw_value.decode("latin-1")
        elif key == "x-request-id":
            request_id = header.raw_value.decode("latin-1")
        elif tenant_header is not None and key == tenant_header:
            tenant_repeated = tenant is not None
            tenant = header.raw_value.decode("latin-1")
        elif key in HARNESS_HEADERS:
            identity.append((key, header.raw_value.decode("latin-1")))
        elif key == "traceparent":
            traceparent = header.raw_value.decode("latin-1")
        elif key == "content-encoding":
            content_encoding = header.raw_value.decode("latin-1")
        elif key in DEFAULTED_REQUEST_HEADERS:
            sent_defaults.add(key)
    return RequestFacts(
        method=method,
        path=path,
        affinity=affinity,
        tenant=tenant,
        has_body=not headers.end_of_stream,
        request_id=request_id,
        affinity_repeated=affinity_repeated,
        tenant_repeated=tenant_repeated,
        identity_headers=tuple(identity),
        traceparent=traceparent,
        content_encoding=content_encoding,
        sent_defaults=frozenset(sent_defaults),
    )


def _header(key: str, value: str, action: pb.HeaderValueOption.HeaderAppendAction = _OVERWRITE) -> pb.HeaderValueOption:
    return pb.HeaderValueOption(header=pb.HeaderValue(key=key, raw_value=value.encode("latin-1")), append_action=action)


def _set_headers(forward: Forward) -> list[pb.HeaderValueOption]:
    """The forward's headers, then its defaults: set only when the client did not send them."""
    return [_header(k, v) for k, v in forward.set_headers] + [
        _header(k, v, _ADD_IF_ABSENT) for k, v in forward.default_headers
    ]


def _common(forward: Forward) -> pb.CommonResponse:
    common = pb.CommonResponse(
        header_mutation=pb.HeaderMutation(
            set_headers=_set_headers(forward),
            remove_headers=forward.remove_headers,
        ),
        # Envoy matched a route before this reply; clearing the cache makes it match again on our header.
        clear_route_cache=True,
    )
    if forward.body is not None:
        common.body_mutation.body = forward.body
    return common


def _metadata(forward: Forward) -> Struct:
    metadata = Struct()
    metadata.get_or_create_struct(METADATA_NAMESPACE).update(dict(forward.metadata))
    return metadata


# Envoy adds the decision headers to forwarded requests' responses from the dynamic metadata (its route's
# response_headers_to_add); a local reply skips that, so a reply carrying a decision sets them itself.
_HEADER_OF_FIELD = {field: header for header, field in RESPONSE_HEADERS.items()}


def _immediate(reply: Reply) -> pb.ProcessingResponse:
    headers = [_header("content-type", reply.content_type)]
    # Only the fields that are response headers: the metadata also carries fields for Envoy alone
    # (`PROVIDER_API_FIELD`).
    headers += [_header(_HEADER_OF_FIELD[field], value) for field, value in reply.metadata if field in _HEADER_OF_FIELD]
    return pb.ProcessingResponse(
        immediate_response=pb.ImmediateResponse(
            status=pb.HttpStatus(code=reply.status),
            headers=pb.HeaderMutation(set_headers=headers),
            body=reply.body,
            details=f"{REPLY_DETAILS_PREFIX}{reply.status}",
        )
    )


def encode_body_outcome(outcome: Outcome) -> pb.ProcessingResponse:
    if isinstance(outcome, Reply):
        return _immediate(outcome)
    return pb.ProcessingResponse(
        request_body=pb.BodyResponse(response=_common(outcome)), dynamic_metadata=_metadata(outcome)
    )


# The body reply, assembled from serialized pieces. For every request with the same decision, everything
# but the body and its content-length (provider header, path, credentials, removals, clear_route_cache,
# decision metadata) is the same: those pieces are serialized once per decision and cached, and the reply
# is one well-formed ProcessingResponse put together around the body with a single join (field numbers
# come from the generated descriptors). Saves ~20 µs of message building per request on the pin-hit path.
_VARIABLE_HEADER = "content-length"
_CONSTANT_PIECES_MAX = 4096  # distinct decisions (provider x path x credentials x route) kept


def _field_number(message: type[object], name: str) -> int:
    return int(message.DESCRIPTOR.fields_by_name[name].number)  # type: ignore[attr-defined]


_REQUEST_BODY = _field_number(pb.ProcessingResponse, "request_body")
_RESPONSE = _field_number(pb.BodyResponse, "response")
_HEADER_MUTATION = _field_number(pb.CommonResponse, "header_mutation")
_BODY_MUTATION = _field_number(pb.CommonResponse, "body_mutation")
_BODY = _field_number(pb.BodyMutation, "body")
_CLEAR_ROUTE_CACHE = pb.CommonResponse(clear_route_cache=True).SerializeToString()
_SMALL_VARINTS = [bytes((value,)) for value in range(0x80)]


def _varint(value: int) -> bytes:
    if value < 0x80:
        return _SMALL_VARINTS[value]
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _head(number: int, length: int) -> bytes:
    """Tag and length of a length-delimited field (wire type 2)."""
    return _varint(number << 3 | 2) + _varint(length)


class _BodyReplyEncoder:
    def __init__(self) -> None:
        # (header mutation without content-length, serialized dynamic_metadata field) per decision.
        self._pieces: dict[tuple[object, ...], tuple[bytes, bytes]] = {}

    def __call__(self, forward: Forward) -> bytes:
        variable = [header for header in forward.set_headers if header[0] == _VARIABLE_HEADER]
        constant = tuple(header for header in forward.set_headers if header[0] != _VARIABLE_HEADER)
        key = (constant, forward.default_headers, forward.remove_headers, forward.metadata)
        pieces = self._pieces.get(key)
        if pieces is None:
            pieces = self._constant_pieces(forward)
            if len(self._pieces) >= _CONSTANT_PIECES_MAX:
                self._pieces.clear()
            self._pieces[key] = pieces
        constant_mutation, metadata = pieces
        mutation = constant_mutation + b"".join(_set_header_field(name, value) for name, value in variable)
        parts = [_head(_HEADER_MUTATION, len(mutation)), mutation]
        if forward.body is not None:
            body_head = _head(_BODY, len(forward.body))
            parts += [_head(_BODY_MUTATION, len(body_head) + len(forward.body)), body_head, forward.body]
        parts.append(_CLEAR_ROUTE_CACHE)
        common_length = sum(map(len, parts))
        response_head = _head(_RESPONSE, common_length)
        return b"".join(
            [
                _head(_REQUEST_BODY, len(response_head) + common_length),
                response_head,
                *parts,
                metadata,
            ]
        )

    @staticmethod
    def _constant_pieces(forward: Forward) -> tuple[bytes, bytes]:
        mutation = pb.HeaderMutation(
            set_headers=[_header(k, v) for k, v in _without_variable(forward)]
            + [_header(k, v, _ADD_IF_ABSENT) for k, v in forward.default_headers],
            remove_headers=forward.remove_headers,
        )
        metadata = pb.ProcessingResponse(dynamic_metadata=_metadata(forward))
        return mutation.SerializeToString(), metadata.SerializeToString()


def _without_variable(forward: Forward) -> tuple[tuple[str, str], ...]:
    return tuple((k, v) for k, v in forward.set_headers if k != _VARIABLE_HEADER)


_OVERWRITE_FIELD = pb.HeaderValueOption(append_action=_OVERWRITE).SerializeToString()


def _set_header_field(key: str, value: str) -> bytes:
    """One `HeaderMutation.set_headers` element, as `_header(key, value)` serializes it."""
    name, raw = key.encode("latin-1"), value.encode("latin-1")
    header = _head(1, len(name)) + name + _head(3, len(raw)) + raw  # HeaderValue.key, .raw_value
    option = _head(1, len(header)) + header + _OVERWRITE_FIELD  # HeaderValueOption.header, .append_action
    return _head(1, len(option)) + option


_encode_forward_reply = _BodyReplyEncoder()


def encode_body_reply(outcome: Outcome) -> bytes:
    """`encode_body_outcome(outcome).SerializeToString()`, equivalent on the wire, built faster.

    The only difference a reader can see: `content-length` comes last among the set headers (Envoy applies
    set headers by name, so their order does not matter).
    """
    if isinstance(outcome, Reply):
        return _immediate(outcome).SerializeToString()
    return _encode_forward_reply(outcome)


def encode_headers_outcome(outcome: Outcome) -> pb.ProcessingResponse:
    if isinstance(outcome, Reply):
        return _immediate(outcome)
    return pb.ProcessingResponse(
        request_headers=pb.HeadersResponse(response=_common(outcome)), dynamic_metadata=_metadata(outcome)
    )


def passthrough(kind: str | None) -> bytes:
    """An empty reply for a message type brightstaff does not process (keeps a misconfigured Envoy moving)."""
    if kind == "response_headers":
        return pb.ProcessingResponse(response_headers=pb.HeadersResponse()).SerializeToString()
    if kind == "response_body":
        return pb.ProcessingResponse(response_body=pb.BodyResponse()).SerializeToString()
    if kind == "request_trailers":
        return pb.ProcessingResponse(request_trailers=pb.TrailersResponse()).SerializeToString()
    if kind == "response_trailers":
        return pb.ProcessingResponse(response_trailers=pb.TrailersResponse()).SerializeToString()
    return pb.ProcessingResponse(request_body=pb.BodyResponse()).SerializeToString()


def encode_response_headers_reply(start: ResponseStart, *, end_of_stream: bool) -> bytes:
    """The reply to the response headers of a translated request: its header edits, and the body mode.

    A streamed body (SSE) comes chunk by chunk, so `content-length` goes; a buffered one comes whole and
    gets its new length with the body. A response without a body needs no body mode.
    """
    removed = list(start.remove_headers)
    if start.streamed and "content-length" not in removed:
        removed.append("content-length")
    response = pb.ProcessingResponse(
        response_headers=pb.HeadersResponse(
            response=pb.CommonResponse(
                header_mutation=pb.HeaderMutation(
                    set_headers=[_header(k, v) for k, v in start.set_headers], remove_headers=removed
                )
            )
        )
    )
    if not end_of_stream:
        response.mode_override.CopyFrom(_mode(_MODE.SEND, _MODE.STREAMED if start.streamed else _MODE.BUFFERED))
    return response.SerializeToString()


def response_body_outcome(body: bytes, *, buffered: bool) -> pb.ProcessingResponse:
    """The reply to a response body chunk: the translated bytes (an empty body drops the chunk)."""
    common = pb.CommonResponse()
    common.body_mutation.body = body  # set even when empty: an unset mutation would let the chunk through
    if buffered:
        common.header_mutation.set_headers.append(_header("content-length", str(len(body))))
    return pb.ProcessingResponse(response_body=pb.BodyResponse(response=common))


# The reply to a response body chunk, written field by field: a translated SSE stream sends one per event,
# and building the message objects costs ~1.7 us of it against ~1.2 us for this (of ~10 us per chunk in all).
_RESPONSE_BODY = _field_number(pb.ProcessingResponse, "response_body")


def encode_response_body_reply(body: bytes, *, buffered: bool) -> bytes:
    """`response_body_outcome(body, buffered=...).SerializeToString()`, byte for byte, built faster."""
    body_head = _head(_BODY, len(body))
    mutation_head = _head(_BODY_MUTATION, len(body_head) + len(body))
    common_length = len(mutation_head) + len(body_head) + len(body)
    if buffered:  # header_mutation (field 2) precedes body_mutation (field 3), as protobuf writes them
        header = _set_header_field("content-length", str(len(body)))
        headers = _head(_HEADER_MUTATION, len(header)) + header
        common_length += len(headers)
        mutation_head = headers + mutation_head
    response_head = _head(_RESPONSE, common_length)
    return b"".join(
        (
            _head(_RESPONSE_BODY, len(response_head) + common_length),
            response_head,
            mutation_head,
            body_head,
            body,
        )
    )
