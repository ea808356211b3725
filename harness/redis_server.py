"""A real redis-server for the tests and the benchmark: started on a free loopback port, stopped (or killed)
by its PID.

Missing redis-server raises `RedisServerMissing` with the fix in the message (in a test: a failure, never a
skip; `./dev test` installs it).
"""

from __future__ import annotations

import shutil
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

from harness.free_port import free_port

INSTALL_HINT = (
    "redis-server is not installed, and the Redis pin store tests need a real one. "
    "Run ./dev test (it installs the redis-server package), or: sudo apt-get install redis-server"
)


class RedisServerMissing(RuntimeError):
    pass


def redis_server_binary() -> str:
    binary = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").is_file() else None
    )
    if binary is None:
        raise RedisServerMissing(INSTALL_HINT)
    return binary


# A test CA with a server certificate for 127.0.0.1 and a client certificate (README.md beside them).
TLS_DIR = Path(__file__).resolve().parents[1] / "tests" / "pins" / "tls"


def _ping(port: int, tls: bool) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as raw:
            if not tls:
                raw.sendall(b"PING\r\n")
                return raw.recv(16).startswith(b"+PONG")
            context = ssl.create_default_context(cafile=str(TLS_DIR / "ca.crt"))
            context.load_cert_chain(TLS_DIR / "client.crt", TLS_DIR / "client.key")
            with context.wrap_socket(raw, server_hostname="127.0.0.1") as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One redis-server process without persistence; `restart` keeps the port (and loses the data)."""

    def __init__(self, workdir: Path, *extra_args: str, port: int | None = None, tls: bool = False) -> None:
        self.binary = redis_server_binary()
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.extra_args = extra_args
        self.tls = tls  # TLS only, with the test CA; clients must present a certificate it signed
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / f"redis-{self.port}.log"

    @property
    def url(self) -> str:
        return f"{'rediss' if self.tls else 'redis'}://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        ports = ["--port", str(self.port)]
        if self.tls:
            ports = ["--port", "0", "--tls-port", str(self.port), "--tls-ca-cert-file", str(TLS_DIR / "ca.crt")]
            ports += ["--tls-cert-file", str(TLS_DIR / "server.crt"), "--tls-key-file", str(TLS_DIR / "server.key")]
        args = [self.binary, *ports, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        args += ["--dir", str(self.workdir), *self.extra_args]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited at start-up:\n{self.log_tail()}")
            if _ping(self.port, self.tls):
                return self
            time.sleep(0.02)
        self.stop()
        raise TimeoutError(f"redis-server did not answer PING on port {self.port}:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL, as a crash would: no goodbye to clients."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        self._signal(signal.SIGTERM)

    def restart(self) -> None:
        self.stop()
        self.start()

    def _signal(self, sig: int) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(sig)  # by PID: only the process this object started
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.is_file():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
