"""gRPC over HTTP/2, server side, without I/O: brightstaff's own framing for the native ext_proc transport.

`connection.ServerConnection` is the state machine (bytes in, events out, bytes to write); the other
modules are its parts: `frames` (RFC 9113 wire constants and frame bytes), `header_blocks` (HPACK:
request blocks decoded with reuse, constant response blocks), `request_headers` (request validation),
`grpc_messages` (gRPC's message prefix, status codes, grpc-message) and `events`. Nothing here imports
asyncio, grpcio or a clock.
"""
