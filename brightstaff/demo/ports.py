"""Which port a demo server takes: the seed's well-known one when it is free, any free one otherwise."""

from __future__ import annotations

import socket

AGENT_PORT = 8000  # the seed's agent server port (its start_agents.sh: AGENT_PORT)


def port_or_free(preferred: int, host: str = "127.0.0.1") -> int:
    """`preferred` when nothing listens on it at `host` now, else a free port the system picks.

    A trial bind tells. With SO_REUSEADDR, as Envoy and uvicorn bind, connections of an earlier run
    still in TIME_WAIT do not count as busy; a listening socket does, also one bound with SO_REUSEPORT
    (as Envoy binds its listeners), which a second Envoy would otherwise share silently.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for port in (preferred, 0):
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise OSError(f"no free port on {host}")
