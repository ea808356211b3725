"""The sans-IO core, the bottom layer: request facts, affinity ids, client request parsing, the
conversation view routers read, the decision rules and the outcome handed to the transport.

Everything here is plain data and pure functions: no sockets, no asyncio, no clocks, no gRPC or
protobuf, no pin store or router. Tests drive it with tables of plain values (tests/core/).
"""
