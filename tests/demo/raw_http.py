"""Raw HTTP/1.1 for the fakes' tests: bytes out, bytes back, and a small reader of the responses in them.

Independent of the server's own code, so that the server is checked byte by byte, not only as far as
one client library cares.
"""

from __future__ import annotations

import socket

Parsed = tuple[int, dict[str, str], bytes]


def exchange(port: int, data: bytes, *, half_close: bool = True, host: str = "127.0.0.1") -> bytes:
    """Send raw bytes, then read until the server closes (10 s socket timeout)."""
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        received = bytearray()
        while chunk := sock.recv(65536):
            received += chunk
    return bytes(received)


def parse_responses(data: bytes) -> list[Parsed]:
    """Every final response in a byte stream (interim 1xx skipped), chunked bodies decoded."""
    out: list[Parsed] = []
    while data:
        head, _, data = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        if status < 200:
            continue
        if headers.get("transfer-encoding") == "chunked":
            body = bytearray()
            while True:
                size_line, _, data = data.partition(b"\r\n")
                size = int(size_line, 16)
                if size == 0:
                    data = data[2:]
                    break
                body += data[:size]
                data = data[size + 2 :]
            out.append((status, headers, bytes(body)))
        else:
            length = int(headers.get("content-length", "0"))
            out.append((status, headers, data[:length]))
            data = data[length:]
    return out


def get(path: str, extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: fake\r\n{extra}\r\n".encode()


def post(path: str, body: bytes, extra: str = "") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: fake\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body
