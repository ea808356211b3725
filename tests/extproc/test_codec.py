"""The fast body-reply encoders say exactly what the message-building ones say (and Envoy's schema agrees)."""

from __future__ import annotations

from envoy_data_plane.envoy.service.ext_proc import v3 as envoy_pb

from brightstaff._generated import ext_proc_pb2 as pb
from brightstaff.core.outcome import Forward, Reply
from brightstaff.extproc import codec


def forward(body: bytes | None, path: str = "/v1/chat/completions", **changes: object) -> Forward:
    set_headers: list[tuple[str, str]] = [("x-brightstaff-provider", "provider_openai_gpt-4o"), (":path", path)]
    if body is not None:
        set_headers.append(("content-length", str(len(body))))
    set_headers.append(("authorization", "Bearer sk-test"))
    fields: dict[str, object] = {
        "body": body,
        "set_headers": tuple(set_headers),
        "remove_headers": ("x-api-key", "api-key"),
        "metadata": (("model", "gpt-4o"), ("provider", "openai/gpt-4o"), ("affinity", "pinned"), ("route", "r")),
    }
    fields.update(changes)
    return Forward(**fields)  # type: ignore[arg-type]


def canonical(reply: pb.ProcessingResponse) -> tuple[object, ...]:
    """Everything Envoy reads from a body reply; set headers by name (Envoy applies them by name)."""
    common = reply.request_body.response
    return (
        reply.WhichOneof("response"),
        sorted(
            (o.header.key, o.header.raw_value, o.header.value, o.append_action)
            for o in common.header_mutation.set_headers
        ),
        list(common.header_mutation.remove_headers),
        common.HasField("body_mutation"),
        common.body_mutation.body,
        common.clear_route_cache,
        common.status,
        reply.dynamic_metadata,
    )


def test_fast_body_reply_decodes_to_the_same_reply() -> None:
    for outcome in (
        forward(b'{"model":"gpt-4o","messages":[]}'),
        forward(b'{"model":"gpt-4o","messages":[{"role":"user","content":"' + b"x" * 60_000 + b'"}]}'),
        forward(b'{"model":"gpt-4o"}', path="/v1/chat/completions?api-version=2024"),
        forward(b'{"model":"gpt-4o"}', remove_headers=()),
        forward(None),
    ):
        expected = codec.encode_body_outcome(outcome)
        for _ in range(2):  # the second time comes from the cache of constant halves
            fast = pb.ProcessingResponse.FromString(codec.encode_body_reply(outcome))
            assert canonical(fast) == canonical(expected)


def test_cached_halves_never_mix_decisions() -> None:
    first = forward(b'{"model":"a"}')
    second = forward(b'{"model":"bb"}', metadata=(("model", "claude"), ("affinity", "new")))
    codec.encode_body_reply(first)
    again = pb.ProcessingResponse.FromString(codec.encode_body_reply(second))
    assert canonical(again) == canonical(codec.encode_body_outcome(second))
    fields = again.dynamic_metadata.fields["brightstaff"].struct_value.fields
    assert {k: v.string_value for k, v in fields.items()} == {"model": "claude", "affinity": "new"}
    headers = {o.header.key: o.header.raw_value for o in again.request_body.response.header_mutation.set_headers}
    assert headers["content-length"] == b"14"


def test_fast_body_reply_decodes_in_envoys_schema() -> None:
    body = b'{"model":"gpt-4o"}'
    theirs = envoy_pb.ProcessingResponse.parse(codec.encode_body_reply(forward(body)))
    common = theirs.request_body.response
    assert common.body_mutation.body == body
    assert common.clear_route_cache is True
    assert [(o.header.key, o.header.raw_value) for o in common.header_mutation.set_headers] == [
        ("x-brightstaff-provider", b"provider_openai_gpt-4o"),
        (":path", b"/v1/chat/completions"),
        ("authorization", b"Bearer sk-test"),
        ("content-length", b"18"),
    ]
    assert common.header_mutation.remove_headers == ["x-api-key", "api-key"]
    assert theirs.dynamic_metadata is not None
    assert theirs.dynamic_metadata.to_dict()["brightstaff"]["affinity"] == "pinned"


def test_fast_immediate_reply_is_the_plain_one() -> None:
    reply = Reply(status=400, body=b'{"error":{}}')
    assert codec.encode_body_reply(reply) == codec.encode_body_outcome(reply).SerializeToString()


def test_an_immediate_reply_with_a_decision_carries_the_decision_headers() -> None:
    metadata = (("model", "gpt-4o"), ("provider", "openai/gpt-4o"), ("affinity", "pinned"), ("route", "pinned"))
    reply = codec.encode_body_outcome(Reply(status=200, body=b'{"input_tokens":3}', metadata=metadata))
    headers = {h.header.key: h.header.raw_value for h in reply.immediate_response.headers.set_headers}
    assert headers == {
        "content-type": b"application/json",
        "x-brightstaff-model": b"gpt-4o",
        "x-brightstaff-provider": b"openai/gpt-4o",
        "x-brightstaff-affinity": b"pinned",
        "x-brightstaff-route": b"pinned",
    }
    assert (
        codec.encode_body_reply(Reply(200, b"{}", metadata=metadata))
        == codec.encode_body_outcome(Reply(200, b"{}", metadata=metadata)).SerializeToString()
    )


def test_fast_response_body_reply_is_the_plain_one_byte_for_byte() -> None:
    for body in (b"", b"data: {}\n\n", b"x" * 127, b"x" * 128, b"y" * 16_383, b"y" * 16_384, b"z" * 3_000_000):
        for buffered in (False, True):
            fast = codec.encode_response_body_reply(body, buffered=buffered)
            assert fast == codec.response_body_outcome(body, buffered=buffered).SerializeToString()


def test_fast_response_body_reply_decodes_in_envoys_schema() -> None:
    empty = envoy_pb.ProcessingResponse.parse(codec.encode_response_body_reply(b"", buffered=False))
    assert empty.response_body.response.body_mutation.is_set("body")  # an empty body drops the chunk
    theirs = envoy_pb.ProcessingResponse.parse(codec.encode_response_body_reply(b'{"a":1}', buffered=True))
    common = theirs.response_body.response
    assert common.body_mutation.body == b'{"a":1}'
    assert [(o.header.key, o.header.raw_value) for o in common.header_mutation.set_headers] == [
        ("content-length", b"7")
    ]
