"""Translate between Envoy's ext_proc messages and brightstaff's plain data (facts in, outcomes out).

Envoy 1.40 sends header values in `raw_value` and ignores `value`-only mutations (they set the header
to ''), so both directions use `raw_value`.
"""

from __future__ import annotations

from google.protobuf.struct_pb2 import Struct

from brightstaff._generated import ext_proc_pb2 as pb
from brightstaff.core.headers import METADATA_NAMESPACE
from brightstaff.core.request import RequestFacts
from brightstaff.core.rewrite import Forward, Outcome, Reply

_OVERWRITE = pb.HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD

# The reply to a headers message when the body follows: continue, decide on the body.
HEADERS_CONTINUE: bytes = pb.ProcessingResponse(request_headers=pb.HeadersResponse()).SerializeToString()


def facts_from_headers(headers: pb.HttpHeaders, *, affinity_header: str, tenant_header: str | None) -> RequestFacts:
    method = path = ""
    affinity = tenant = None
    request_id = "-"
    for header in headers.headers.headers:
        key = header.key
        if key == ":method":
            method = header.raw_value.decode("latin-1")
        elif key == ":path":
            path = header.raw_value.decode("latin-1")
        elif key == affinity_header:
            affinity = header.raw_value.decode("latin-1")
        elif key == "x-request-id":
            request_id = header.raw_value.decode("latin-1")
        elif tenant_header is not None and key == tenant_header:
            tenant = header.raw_value.decode("latin-1")
    return RequestFacts(
        method=method,
        path=path,
        affinity=affinity,
        tenant=tenant,
        has_body=not headers.end_of_stream,
        request_id=request_id,
    )


def _header(key: str, value: str) -> pb.HeaderValueOption:
    return pb.HeaderValueOption(
        header=pb.HeaderValue(key=key, raw_value=value.encode("latin-1")), append_action=_OVERWRITE
    )


def _common(forward: Forward) -> pb.CommonResponse:
    common = pb.CommonResponse(
        header_mutation=pb.HeaderMutation(
            set_headers=[_header(k, v) for k, v in forward.set_headers],
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


def _immediate(reply: Reply) -> pb.ProcessingResponse:
    return pb.ProcessingResponse(
        immediate_response=pb.ImmediateResponse(
            status=pb.HttpStatus(code=reply.status),
            headers=pb.HeaderMutation(set_headers=[_header("content-type", reply.content_type)]),
            body=reply.body,
            details=f"brightstaff_{reply.status}",
        )
    )


def encode_body_outcome(outcome: Outcome) -> pb.ProcessingResponse:
    if isinstance(outcome, Reply):
        return _immediate(outcome)
    return pb.ProcessingResponse(
        request_body=pb.BodyResponse(response=_common(outcome)), dynamic_metadata=_metadata(outcome)
    )


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
