"""What tests send to an ext_proc server and how they read its answers: Envoy's messages, gRPC framing
(spelled out here, not taken from brightstaff), the server's frames (hyperframe, hpack), and a grpcio
client channel."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import grpc
import hpack
from hyperframe.frame import DataFrame, Frame, HeadersFrame

from brightstaff._generated import ext_proc_pb2 as pb

METHOD = "/envoy.service.ext_proc.v3.ExternalProcessor/Process"
# The headers a gRPC client sends to call Process over HTTP/2 (grpcio's and Envoy's, minus extras).
GRPC_REQUEST_HEADERS = [
    (":method", "POST"),
    (":scheme", "http"),
    (":path", METHOD),
    (":authority", "127.0.0.1"),
    ("content-type", "application/grpc"),
    ("te", "trailers"),
]


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


def grpc_frame(message: pb.ProcessingRequest | bytes) -> bytes:
    """gRPC length-prefixed message: uncompressed flag, 4-byte big-endian length, the message."""
    body = message if isinstance(message, bytes) else message.SerializeToString()
    return b"\x00" + len(body).to_bytes(4, "big") + body


def grpc_messages(data: bytes) -> list[bytes]:
    """The messages of a gRPC stream's DATA, checked to be whole and uncompressed."""
    messages = []
    offset = 0
    while offset < len(data):
        assert data[offset] == 0, "a message is flagged compressed"
        length = int.from_bytes(data[offset + 1 : offset + 5], "big")
        assert offset + 5 + length <= len(data), "the stream ends inside a message"
        messages.append(data[offset + 5 : offset + 5 + length])
        offset += 5 + length
    return messages


def grpc_replies(data: bytes) -> list[pb.ProcessingResponse]:
    return [pb.ProcessingResponse.FromString(message) for message in grpc_messages(data)]


def kinds(replies: list[pb.ProcessingResponse]) -> list[str | None]:
    return [reply.WhichOneof("response") for reply in replies]


class ServerFrames:
    """The server's frames, parsed with hyperframe as its bytes arrive; header blocks decoded with hpack."""

    def __init__(self) -> None:
        self.inbound = bytearray()
        self.decoder = hpack.Decoder()
        self.frames: list[Frame] = []
        self.headers: dict[int, list[dict[str, str]]] = defaultdict(list)
        self.data: dict[int, bytearray] = defaultdict(bytearray)

    def feed(self, data: bytes) -> None:
        self.inbound += data
        while len(self.inbound) >= 9:
            frame, length = Frame.parse_frame_header(memoryview(bytes(self.inbound[:9])))
            if len(self.inbound) < 9 + length:
                return
            frame.parse_body(memoryview(bytes(self.inbound[9 : 9 + length])))
            del self.inbound[: 9 + length]
            self.frames.append(frame)
            if isinstance(frame, HeadersFrame):
                assert "END_HEADERS" in frame.flags, "the server split a header block"
                fields = {str(k): str(v) for k, v in self.decoder.decode(frame.data)}
                self.headers[frame.stream_id].append(fields)
            elif isinstance(frame, DataFrame):
                self.data[frame.stream_id] += frame.data

    def of(self, kind: type[Frame], stream_id: int | None = None) -> list[Any]:
        return [f for f in self.frames if isinstance(f, kind) and (stream_id is None or f.stream_id == stream_id)]


def client_channel(port: int) -> grpc.aio.Channel:
    limit = 32 * 1024 * 1024  # Envoy's side of the stream has no 4 MiB cap; neither may this client
    return grpc.aio.insecure_channel(
        f"127.0.0.1:{port}",
        options=[("grpc.max_receive_message_length", limit), ("grpc.max_send_message_length", limit)],
    )


def process_call(
    channel: grpc.aio.Channel, method: str = METHOD
) -> grpc.aio.StreamStreamMultiCallable[pb.ProcessingRequest, pb.ProcessingResponse]:
    return channel.stream_stream(
        method,
        request_serializer=pb.ProcessingRequest.SerializeToString,
        response_deserializer=pb.ProcessingResponse.FromString,
    )
