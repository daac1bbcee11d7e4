"""Real sockets for the network tests: a TLS upstream, a relay, an HTTP CONNECT proxy.

Each server listens on 127.0.0.1 in daemon threads (one per connection, so a failed TLS
handshake ends only its own), so the exporter's real transport (httpx, httpcore, anyio and
OpenSSL) is what is tested, not a fake of it. The TLS side uses a trustme CA made per test:
:func:`tls_server_context` serves its certificate, :func:`trusting` is a client context that
trusts it.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Self

import trustme

__all__ = [
    "Server",
    "answering",
    "closed_port",
    "connect_proxy",
    "relaying",
    "silent",
    "tls_server_context",
    "trusting",
]

Handler = Callable[[socket.socket], None]


def closed_port() -> int:
    """A loopback port nothing listens on (bound once, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def tls_server_context(ca: trustme.CA) -> ssl.SSLContext:
    """A server context with a certificate from ``ca`` for 127.0.0.1 and localhost."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


def trusting(ca: trustme.CA) -> ssl.SSLContext:
    """A client context that trusts exactly ``ca``."""
    context = ssl.create_default_context()
    context.load_verify_locations(cadata=ca.cert_pem.bytes().decode("ascii"))
    return context


class Server:
    """A loopback server calling ``handler`` with each connection (TLS-wrapped if asked)."""

    def __init__(self, handler: Handler, *, tls: ssl.SSLContext | None = None) -> None:
        self._handler = handler
        self._tls = tls
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port: int = self._listener.getsockname()[1]
        self.connections = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # closed
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            conn.settimeout(10)
            if self._tls is not None:
                with self._tls.wrap_socket(conn, server_side=True) as secured:
                    self._handler(secured)
            else:
                self._handler(conn)


def _read_head(conn: socket.socket) -> bytes:
    """The request line and headers, up to the blank line."""
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = conn.recv(4096)
        if not chunk:
            break
        head += chunk
    return head


def answering(status: str, body: bytes = b"", headers: dict[str, str] | None = None) -> Handler:
    """A handler answering every request with ``status``, ``headers`` and ``body``, then
    closing; the body is sent in 64 KiB writes, as a server streams it."""

    def handle(conn: socket.socket) -> None:
        _read_head(conn)
        fields = {"content-length": str(len(body)), "connection": "close", **(headers or {})}
        head = f"HTTP/1.1 {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items())
        conn.sendall(head.encode("ascii") + b"\r\n")
        view = memoryview(body)
        for start in range(0, len(body), 65536):
            conn.sendall(view[start : start + 65536])

    return handle


def silent(conn: socket.socket) -> None:
    """A handler that reads the request and never answers (until the client gives up)."""
    _read_head(conn)
    with contextlib.suppress(OSError):
        conn.recv(1)


def _pipe(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""

    def copy(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    other = threading.Thread(target=copy, args=(b, a), daemon=True)
    other.start()
    copy(a, b)
    other.join(10)


def relaying(port: int) -> Handler:
    """A handler relaying each connection to 127.0.0.1:``port`` (TLS in front of the
    simulator, which serves plain HTTP)."""

    def handle(conn: socket.socket) -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as backend:
            _pipe(conn, backend)

    return handle


def connect_proxy(*, refuse: str | None = None, seen: list[str] | None = None) -> Handler:
    """An HTTP proxy that tunnels ``CONNECT host:port`` (only to loopback ports: the target
    host is ignored), or answers ``refuse`` (``"403 Forbidden"``) instead; the request
    lines it received are appended to ``seen``."""

    def handle(conn: socket.socket) -> None:
        head = _read_head(conn)
        line = head.split(b"\r\n", 1)[0].decode("ascii", "replace")
        if seen is not None:
            seen.append(line)
        if refuse is not None or not line.startswith("CONNECT "):
            conn.sendall(f"HTTP/1.1 {refuse or '405 Method Not Allowed'}\r\n\r\n".encode())
            return
        port = int(line.split()[1].rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as upstream:
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            _pipe(conn, upstream)

    return handle
