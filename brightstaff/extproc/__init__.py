"""The ext_proc transport: the only package that touches protobuf and gRPC."""
