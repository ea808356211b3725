"""Our trimmed ext_proc proto is wire-compatible with Envoy's full schema (envoy-data-plane's messages).

Every message shape brightstaff sends or reads is round-tripped through the independent schema.
"""

from __future__ import annotations

from envoy_data_plane.envoy.config.core import v3 as core
from envoy_data_plane.envoy.extensions.filters.http.ext_proc import v3 as filter_v3
from envoy_data_plane.envoy.service.ext_proc import v3 as envoy_pb

from brightstaff._generated import ext_proc_pb2 as pb
from brightstaff.core.outcome import Forward, Reply
from brightstaff.extproc import codec


def test_request_headers_from_envoy_decode() -> None:
    envoy_request = envoy_pb.ProcessingRequest(
        request_headers=envoy_pb.HttpHeaders(
            headers=core.HeaderMap(
                headers=[
                    core.HeaderValue(key=":method", raw_value=b"POST"),
                    core.HeaderValue(key=":path", raw_value=b"/v1/chat/completions"),
                    core.HeaderValue(key="x-model-affinity", raw_value=b"run-7"),
                    core.HeaderValue(key="x-request-id", raw_value=b"rid-1"),
                ]
            ),
            end_of_stream=False,
        ),
        protocol_config=envoy_pb.ProtocolConfiguration(
            request_body_mode=filter_v3.ProcessingModeBodySendMode.BUFFERED,
            send_body_without_waiting_for_header_response=True,
        ),
    )
    ours = pb.ProcessingRequest.FromString(bytes(envoy_request))
    assert ours.WhichOneof("request") == "request_headers"
    assert ours.protocol_config.request_body_mode == pb.ProcessingMode.BUFFERED
    assert ours.protocol_config.send_body_without_waiting_for_header_response
    facts = codec.facts_from_headers(ours.request_headers, affinity_header="x-model-affinity", tenant_header=None)
    assert (facts.method, facts.path, facts.affinity, facts.request_id) == (
        "POST",
        "/v1/chat/completions",
        "run-7",
        "rid-1",
    )
    assert facts.has_body


def test_request_body_from_envoy_decodes() -> None:
    envoy_request = envoy_pb.ProcessingRequest(
        request_body=envoy_pb.HttpBody(body=b'{"model":"m"}', end_of_stream=True)
    )
    ours = pb.ProcessingRequest.FromString(bytes(envoy_request))
    assert ours.request_body.body == b'{"model":"m"}'
    assert ours.request_body.end_of_stream


def test_body_reply_decodes_in_envoys_schema() -> None:
    forward = Forward(
        body=b'{"model":"gpt-4o"}',
        set_headers=(("x-brightstaff-provider", "provider_openai_gpt-4o"), ("content-length", "18")),
        remove_headers=("x-api-key",),
        metadata=(("model", "gpt-4o"), ("affinity", "new")),
    )
    theirs = envoy_pb.ProcessingResponse.parse(codec.encode_body_outcome(forward).SerializeToString())
    common = theirs.request_body.response
    assert common.body_mutation.body == b'{"model":"gpt-4o"}'
    assert common.clear_route_cache is True
    options = common.header_mutation.set_headers
    assert [(o.header.key, o.header.raw_value) for o in options] == [
        ("x-brightstaff-provider", b"provider_openai_gpt-4o"),
        ("content-length", b"18"),
    ]
    assert all(o.header.value == "" for o in options)  # Envoy 1.40 reads raw_value only
    assert {o.append_action for o in options} == {core.HeaderValueOptionHeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD}
    assert common.header_mutation.remove_headers == ["x-api-key"]
    assert theirs.dynamic_metadata is not None
    assert theirs.dynamic_metadata.to_dict() == {"brightstaff": {"model": "gpt-4o", "affinity": "new"}}


def test_immediate_reply_decodes_in_envoys_schema() -> None:
    reply = Reply(status=400, body=b'{"error":{}}')
    theirs = envoy_pb.ProcessingResponse.parse(codec.encode_body_outcome(reply).SerializeToString())
    immediate = theirs.immediate_response
    assert immediate is not None
    assert immediate.status is not None and int(immediate.status.code) == 400
    assert immediate.body == b'{"error":{}}'
    assert immediate.details == "brightstaff_400"
    assert immediate.headers is not None
    assert immediate.headers.set_headers[0].header.key == "content-type"


def test_constant_headers_reply_continues_and_asks_for_the_response_headers() -> None:
    theirs = envoy_pb.ProcessingResponse.parse(codec.HEADERS_CONTINUE_WITH_RESPONSE)
    assert theirs.request_headers is not None
    assert theirs.immediate_response is None
    mode = theirs.mode_override
    assert mode is not None
    assert (mode.request_header_mode.name, mode.response_header_mode.name) == ("SEND", "SEND")
    assert (mode.request_body_mode.name, mode.response_body_mode.name) == ("BUFFERED", "NONE")


def test_service_path_matches_envoys() -> None:
    service = pb.DESCRIPTOR.services_by_name["ExternalProcessor"]
    assert service.full_name == "envoy.service.ext_proc.v3.ExternalProcessor"
    assert service.methods_by_name["Process"].input_type.full_name == "envoy.service.ext_proc.v3.ProcessingRequest"
