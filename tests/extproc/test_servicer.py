"""The ext_proc stream logic on both transports, spoken to over a real gRPC channel as Envoy would.

Every scenario runs against each transport, grpc.aio and native (the `with_server` fixture's parameter):
the behaviour must not depend on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import grpc
import orjson
import pytest
from seed_data import SEED_ENV, seed_config_data

from brightstaff._generated import ext_proc_pb2 as pb
from brightstaff.config import parse_config
from brightstaff.server.app import build_app

METHOD = "/envoy.service.ext_proc.v3.ExternalProcessor/Process"


def headers_message(path: str, method: str = "POST", end_of_stream: bool = False, **extra: str) -> pb.ProcessingRequest:
    values = [(":method", method), (":path", path), ("x-request-id", "rid"), *extra.items()]
    return pb.ProcessingRequest(
        request_headers=pb.HttpHeaders(
            headers=pb.HeaderMap(
                headers=[pb.HeaderValue(key=k.replace("_", "-"), raw_value=v.encode()) for k, v in values]
            ),
            end_of_stream=end_of_stream,
        )
    )


def body_message(payload: bytes) -> pb.ProcessingRequest:
    return pb.ProcessingRequest(request_body=pb.HttpBody(body=payload, end_of_stream=True))


Exchange = Callable[[list[pb.ProcessingRequest]], Awaitable[list[pb.ProcessingResponse]]]


TRANSPORTS = ["grpcio", "native"]
WithServer = Callable[[Callable[[Exchange], Awaitable[None]]], None]


def client_channel(port: int) -> grpc.aio.Channel:
    limit = 32 * 1024 * 1024  # Envoy's side of the stream has no 4 MiB cap; neither may this client
    return grpc.aio.insecure_channel(
        f"127.0.0.1:{port}",
        options=[("grpc.max_receive_message_length", limit), ("grpc.max_send_message_length", limit)],
    )


def process_call(channel: grpc.aio.Channel, method: str = METHOD) -> grpc.aio.StreamStreamMultiCallable:
    return channel.stream_stream(
        method,
        request_serializer=pb.ProcessingRequest.SerializeToString,
        response_deserializer=pb.ProcessingResponse.FromString,
    )


def run_with_server(scenario: Callable[[Exchange], Awaitable[None]], transport: str) -> None:
    async def main() -> None:
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
            await scenario(exchange)
        finally:
            await channel.close()
            await app.stop(0)

    asyncio.run(main())


@pytest.fixture(params=TRANSPORTS)
def with_server(request: pytest.FixtureRequest) -> WithServer:
    """Run a scenario against a fresh app serving the parametrized transport."""
    transport: str = request.param
    return lambda scenario: run_with_server(scenario, transport)


def set_headers(reply: pb.ProcessingResponse) -> dict[str, str]:
    mutation = reply.request_body.response.header_mutation
    return {o.header.key: o.header.raw_value.decode() for o in mutation.set_headers}


def test_headers_then_body_gets_continue_then_rewrite(with_server: WithServer) -> None:
    async def scenario(exchange: Exchange) -> None:
        payload = orjson.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]})
        replies = await exchange(
            [headers_message("/v1/chat/completions", x_model_affinity="s-1"), body_message(payload)]
        )
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

    with_server(scenario)


def test_bad_json_is_an_immediate_400_and_the_server_keeps_serving(with_server: WithServer) -> None:
    async def scenario(exchange: Exchange) -> None:
        replies = await exchange([headers_message("/v1/chat/completions"), body_message(b"{not json")])
        immediate = replies[1].immediate_response
        assert immediate.status.code == 400
        assert orjson.loads(immediate.body)["error"]["code"] == "invalid_json"
        ok = await exchange([headers_message("/v1/chat/completions"), body_message(b'{"model":"m","messages":[]}')])
        assert ok[1].WhichOneof("response") == "request_body"

    with_server(scenario)


def test_bodiless_request_is_decided_on_its_headers(with_server: WithServer) -> None:
    async def scenario(exchange: Exchange) -> None:
        models = await exchange([headers_message("/v1/models", method="GET", end_of_stream=True)])
        assert models[0].immediate_response.status.code == 200
        assert len(orjson.loads(models[0].immediate_response.body)["data"]) == 3
        empty = await exchange([headers_message("/v1/chat/completions", end_of_stream=True)])
        assert empty[0].immediate_response.status.code == 400

    with_server(scenario)


def test_unexpected_message_kinds_get_an_empty_reply(with_server: WithServer) -> None:
    async def scenario(exchange: Exchange) -> None:
        replies = await exchange([pb.ProcessingRequest(response_headers=pb.HttpHeaders())])
        assert replies[0].WhichOneof("response") == "response_headers"

    with_server(scenario)


def test_body_without_headers_is_a_500_not_a_hang(with_server: WithServer) -> None:
    async def scenario(exchange: Exchange) -> None:
        replies = await exchange([body_message(b'{"model":"m","messages":[]}')])
        assert replies[0].immediate_response.status.code == 500

    with_server(scenario)


def test_large_bodies_fit_the_grpc_message_limit(with_server: WithServer) -> None:
    async def scenario(exchange: Exchange) -> None:
        big = "x" * (6 * 1024 * 1024)  # over grpcio's 4 MiB default, under brightstaff's 16 MiB limit
        payload = orjson.dumps({"model": "m", "messages": [{"role": "user", "content": big}]})
        replies = await exchange([headers_message("/v1/chat/completions"), body_message(payload)])
        assert replies[1].WhichOneof("response") == "request_body"

    with_server(scenario)
