"""The ext_proc stream logic (`ProcessStream`): alone with a fake handler, then on both transports over a
real gRPC channel as Envoy would speak to it.

The transport scenarios run against each transport, grpc.aio and native (the `with_server` fixture's
parameter): the behaviour must not depend on it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

import orjson
import pytest
from ext_proc_client import body_message, client_channel, headers_message, process_call
from seed_data import SEED_ENV, seed_config_data

from brightstaff._generated import ext_proc_pb2 as pb
from brightstaff.config import parse_config
from brightstaff.core.outcome import Forward, Outcome, Reply, ResponseStart
from brightstaff.core.request import RequestFacts
from brightstaff.extproc import codec
from brightstaff.extproc.process_stream import HeaderNames, ProcessStream
from brightstaff.server.app import build_app

# grpcio's C core in this process: `./dev test` runs this module in a pytest process of its own.
pytestmark = pytest.mark.grpc_in_process

# ---- ProcessStream alone: any object with `handle` will do (the transports depend on no more)


class RecordingHandler:
    def __init__(self) -> None:
        self.calls: list[tuple[RequestFacts, bytes | None]] = []

    async def handle(self, facts: RequestFacts, body: bytes | None) -> Outcome:
        self.calls.append((facts, body))
        return Reply(418, b'{"teapot":true}')


NAMES = HeaderNames(affinity="x-model-affinity", tenant="x-tenant")


class Shouting:
    """A response translator for tests: streams when the provider sends SSE, upper-cases every chunk."""

    def __init__(self) -> None:
        self.seen: list[tuple[bytes, bool]] = []

    def start(self, status: int, headers: Mapping[str, str]) -> ResponseStart:
        self.status = status
        streamed = status == 200 and headers.get("content-type", "").startswith("text/event-stream")
        return ResponseStart(streamed=streamed, set_headers=(("x-translated", "yes"),))

    def body(self, chunk: bytes, end_of_stream: bool) -> bytes:
        self.seen.append((chunk, end_of_stream))
        return chunk.upper()


class TranslatingHandler:
    def __init__(self) -> None:
        self.translator = Shouting()

    async def handle(self, facts: RequestFacts, body: bytes | None) -> Outcome:
        return Forward(body=b"{}", set_headers=(), remove_headers=(), metadata=(), response=self.translator)


def response_headers(status: int, content_type: str, end_of_stream: bool = False) -> pb.ProcessingRequest:
    values = [(":status", str(status)), ("content-type", content_type), ("content-length", "99")]
    return pb.ProcessingRequest(
        response_headers=pb.HttpHeaders(
            headers=pb.HeaderMap(headers=[pb.HeaderValue(key=k, raw_value=v.encode()) for k, v in values]),
            end_of_stream=end_of_stream,
        )
    )


def response_body(chunk: bytes, end_of_stream: bool) -> pb.ProcessingRequest:
    return pb.ProcessingRequest(response_body=pb.HttpBody(body=chunk, end_of_stream=end_of_stream))


async def decided(stream: ProcessStream) -> None:
    stream.receive(headers_message("/v1/messages"))
    step = stream.receive(body_message(b"{}"))
    assert not isinstance(step.reply, bytes)
    await step.reply


@pytest.mark.anyio
async def test_a_translated_request_keeps_the_stream_open_and_streams_sse_chunk_by_chunk() -> None:
    handler = TranslatingHandler()
    stream = ProcessStream(handler, NAMES)
    await decided(stream)
    assert not stream.finished

    head = stream.receive(response_headers(200, "text/event-stream"))
    assert head.last is False and isinstance(head.reply, bytes)
    reply = pb.ProcessingResponse.FromString(head.reply)
    mutation = reply.response_headers.response.header_mutation
    assert [(h.header.key, h.header.raw_value) for h in mutation.set_headers] == [("x-translated", b"yes")]
    assert list(mutation.remove_headers) == ["content-length"]
    assert reply.mode_override.response_body_mode == pb.ProcessingMode.STREAMED
    assert handler.translator.status == 200

    chunks = [(b"data: a\n\n", False), (b"", False), (b"data: b\n\n", True)]
    for chunk, eos in chunks:
        step = stream.receive(response_body(chunk, eos))
        assert step.last is eos and isinstance(step.reply, bytes)
        common = pb.ProcessingResponse.FromString(step.reply).response_body.response
        assert common.body_mutation.WhichOneof("mutation") == "body"  # set even when empty: drops the chunk
        assert common.body_mutation.body == chunk.upper()
        assert not common.header_mutation.set_headers  # streamed: no length
    assert handler.translator.seen == chunks


@pytest.mark.anyio
async def test_a_buffered_answer_is_translated_whole_with_its_new_length() -> None:
    stream = ProcessStream(TranslatingHandler(), NAMES)
    await decided(stream)
    head = pb.ProcessingResponse.FromString(stream.receive(response_headers(429, "application/json")).reply)  # type: ignore[arg-type]
    assert head.mode_override.response_body_mode == pb.ProcessingMode.BUFFERED
    assert list(head.response_headers.response.header_mutation.remove_headers) == []
    step = stream.receive(response_body(b'{"error":"slow down"}', True))
    assert step.last is True
    common = pb.ProcessingResponse.FromString(step.reply).response_body.response  # type: ignore[arg-type]
    assert common.body_mutation.body == b'{"ERROR":"SLOW DOWN"}'
    assert [(h.header.key, h.header.raw_value) for h in common.header_mutation.set_headers] == [
        ("content-length", b"21")
    ]


@pytest.mark.anyio
async def test_a_response_without_a_body_ends_the_stream_at_its_headers() -> None:
    stream = ProcessStream(TranslatingHandler(), NAMES)
    await decided(stream)
    step = stream.receive(response_headers(204, "application/json", end_of_stream=True))
    assert step.last is True
    assert not pb.ProcessingResponse.FromString(step.reply).HasField("mode_override")  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_headers_get_continue_and_the_body_is_decided_with_the_headers_facts() -> None:
    handler = RecordingHandler()
    stream = ProcessStream(handler, NAMES)
    first = stream.receive(headers_message("/v1/chat/completions", x_model_affinity="s-1", x_tenant="t"))
    assert first == (codec.HEADERS_CONTINUE_WITH_RESPONSE, False)
    second = stream.receive(body_message(b"{}"))
    assert second.last is None and not isinstance(second.reply, bytes)
    reply = pb.ProcessingResponse.FromString(await second.reply)
    assert reply.immediate_response.status.code == 418
    assert stream.finished  # a reply ends the stream: nothing of the response is asked for
    ((facts, body),) = handler.calls
    assert (facts.method, facts.path, facts.affinity, facts.tenant, facts.request_id) == (
        "POST",
        "/v1/chat/completions",
        "s-1",
        "t",
        "rid",
    )
    assert body == b"{}"


@pytest.mark.anyio
async def test_a_bodiless_request_is_decided_on_its_headers() -> None:
    handler = RecordingHandler()
    step = ProcessStream(handler, NAMES).receive(headers_message("/v1/models", method="GET", end_of_stream=True))
    assert step.last and not isinstance(step.reply, bytes)
    reply = pb.ProcessingResponse.FromString(await step.reply)
    assert reply.immediate_response.status.code == 418
    assert handler.calls[0][1] is None


def test_other_message_kinds_pass_through_without_a_decision() -> None:
    handler = RecordingHandler()
    step = ProcessStream(handler, NAMES).receive(pb.ProcessingRequest(response_headers=pb.HttpHeaders()))
    assert not step.last
    assert step.reply == codec.passthrough("response_headers")
    assert handler.calls == []


# ---- both transports, over a gRPC channel


Exchange = Callable[[list[pb.ProcessingRequest]], Awaitable[list[pb.ProcessingResponse]]]


TRANSPORTS = ["grpcio", "native"]


@pytest.fixture(params=TRANSPORTS, ids=TRANSPORTS)
async def exchange(request: pytest.FixtureRequest) -> AsyncIterator[Exchange]:
    """Exchanges, each a whole ext_proc stream, with a fresh app serving the parametrized transport."""
    transport: str = request.param
    app = build_app(parse_config(seed_config_data(admin_port=0, transport=transport), SEED_ENV))
    await app.start(grpc_port=0, admin_port=0)
    channel = client_channel(app.grpc_port)
    call = process_call(channel)

    async def exchange(messages: list[pb.ProcessingRequest]) -> list[pb.ProcessingResponse]:
        async def requests() -> AsyncIterator[pb.ProcessingRequest]:
            for message in messages:
                yield message

        return [reply async for reply in call(requests())]

    try:
        yield exchange
    finally:
        await channel.close(None)
        await app.stop(0)


def set_headers(reply: pb.ProcessingResponse) -> dict[str, str]:
    mutation = reply.request_body.response.header_mutation
    return {o.header.key: o.header.raw_value.decode() for o in mutation.set_headers}


@pytest.mark.anyio
async def test_headers_then_body_gets_continue_then_rewrite(exchange: Exchange) -> None:
    payload = orjson.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]})
    replies = await exchange([headers_message("/v1/chat/completions", x_model_affinity="s-1"), body_message(payload)])
    assert [r.WhichOneof("response") for r in replies] == ["request_headers", "request_body"]
    assert not replies[0].request_headers.HasField("response")
    body_reply = replies[1]
    assert body_reply.request_body.response.clear_route_cache
    new_body = body_reply.request_body.response.body_mutation.body
    assert orjson.loads(new_body)["model"] == "gpt-4o-mini"
    headers = set_headers(body_reply)
    assert headers["content-length"] == str(len(new_body))
    assert headers["authorization"] == "Bearer sk-test-openai-0000"
    assert headers["x-brightstaff-provider"] == "provider_openai_gpt-4o-mini"
    fields = body_reply.dynamic_metadata.fields["brightstaff"].struct_value.fields
    assert fields["affinity"].string_value == "new"

    again = await exchange([headers_message("/v1/chat/completions", x_model_affinity="s-1"), body_message(payload)])
    fields = again[1].dynamic_metadata.fields["brightstaff"].struct_value.fields
    assert fields["affinity"].string_value == "pinned"


@pytest.mark.anyio
async def test_bad_json_is_an_immediate_400_and_the_server_keeps_serving(exchange: Exchange) -> None:
    replies = await exchange([headers_message("/v1/chat/completions"), body_message(b"{not json")])
    immediate = replies[1].immediate_response
    assert immediate.status.code == 400
    assert orjson.loads(immediate.body)["error"]["code"] == "invalid_json"
    ok = await exchange([headers_message("/v1/chat/completions"), body_message(b'{"model":"m","messages":[]}')])
    assert ok[1].WhichOneof("response") == "request_body"


@pytest.mark.anyio
async def test_bodiless_request_is_decided_on_its_headers(exchange: Exchange) -> None:
    models = await exchange([headers_message("/v1/models", method="GET", end_of_stream=True)])
    assert models[0].immediate_response.status.code == 200
    assert len(orjson.loads(models[0].immediate_response.body)["data"]) == 3
    empty = await exchange([headers_message("/v1/chat/completions", end_of_stream=True)])
    assert empty[0].immediate_response.status.code == 400


@pytest.mark.anyio
async def test_unexpected_message_kinds_get_an_empty_reply(exchange: Exchange) -> None:
    replies = await exchange([pb.ProcessingRequest(response_headers=pb.HttpHeaders())])
    assert replies[0].WhichOneof("response") == "response_headers"


@pytest.mark.anyio
async def test_body_without_headers_is_a_500_not_a_hang(exchange: Exchange) -> None:
    replies = await exchange([body_message(b'{"model":"m","messages":[]}')])
    assert replies[0].immediate_response.status.code == 500


@pytest.mark.anyio
async def test_large_bodies_fit_the_grpc_message_limit(exchange: Exchange) -> None:
    big = "x" * (6 * 1024 * 1024)  # over grpcio's 4 MiB default, under brightstaff's 16 MiB limit
    payload = orjson.dumps({"model": "m", "messages": [{"role": "user", "content": big}]})
    replies = await exchange([headers_message("/v1/chat/completions"), body_message(payload)])
    assert replies[1].WhichOneof("response") == "request_body"
