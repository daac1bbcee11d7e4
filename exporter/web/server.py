"""Embedded uvicorn on a socket we bind ourselves, running inside the caller's event loop.

Binding the socket here (rather than letting uvicorn do it) means bind errors surface before
anything starts, port 0 works for tests and ``--demo``, and the caller learns the real port.
Signal handling stays with the caller: uvicorn's own handlers would re-raise SIGTERM after
shutdown and turn a clean stop into exit status 143.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import Awaitable, Callable, Generator, MutableMapping
from typing import Any

import anyio
import uvicorn

from exporter.config.values import ListenAddress

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
"""The ASGI 3 callable shape, spelled out so no private uvicorn type leaks into ours."""

__all__ = ["ASGIApp", "SSLFactory", "bind", "bound_url", "serve"]


def bind(address: ListenAddress) -> socket.socket:
    """Bind a listening TCP socket; host '' listens on every IPv4 and IPv6 address."""
    sock = _listen(address.host, address.port)
    # Accepted connections inherit this. asyncio sets it only on sockets created with an
    # explicit IPPROTO_TCP, which create_server does not; without it a small keep-alive reply
    # waits ~40 ms on Nagle plus delayed ACK, on every scrape.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _listen(host: str, port: int) -> socket.socket:
    if not host:
        if socket.has_dualstack_ipv6():
            return socket.create_server(
                ("::", port), family=socket.AF_INET6, dualstack_ipv6=True, backlog=512
            )
        return socket.create_server(("0.0.0.0", port), backlog=512)  # noqa: S104  # ':port' means all
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    family, _, _, _, sockaddr = infos[0]
    return socket.create_server(sockaddr[:2], family=family, backlog=512)


def bound_url(sock: socket.socket, *, tls: bool = False) -> str:
    """``http(s)://host:port`` of a bound socket, for logs and the simulator's base URLs."""
    host, port = sock.getsockname()[:2]
    if host in ("::", "0.0.0.0"):  # noqa: S104  # comparing, not binding
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"{'https' if tls else 'http'}://{host}:{port}"


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers: the composition root owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


SSLFactory = Callable[[uvicorn.Config, Callable[[], ssl.SSLContext]], ssl.SSLContext]
"""uvicorn's ``ssl_context_factory``: called once; the context it returns serves every TLS
connection (``exporter.web.security`` returns one that rebuilds itself per connection)."""


async def serve(
    app: ASGIApp,
    sock: socket.socket,
    *,
    ssl_factory: SSLFactory | None = None,
    task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` on ``sock`` until cancelled; then stop accepting and close connections.

    ``await task_group.start(serve, app, sock)`` returns once the server accepts requests.
    With ``ssl_factory`` it serves HTTPS.
    """
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
        # h11 is pure Python; keep the server's behaviour identical wherever it runs
        http="h11",
        server_header=False,
        ssl_context_factory=ssl_factory,
    )
    server = _Server(config)
    config.load()
    server.lifespan = config.lifespan_class(config)
    try:
        await server.startup(sockets=[sock])
        task_status.started()
        await server.main_loop()
    finally:
        with anyio.CancelScope(shield=True):
            server.force_exit = True
            await server.shutdown(sockets=[sock])
