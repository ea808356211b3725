"""A free loopback TCP port for a server a test is about to start (tests run servers on 127.0.0.1 only)."""

from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
