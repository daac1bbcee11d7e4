"""Embedded uvicorn on a socket we bind ourselves, running inside the caller's event loop.

Binding the socket here (rather than letting uvicorn do it) means bind errors surface before
anything starts, port 0 works for tests and ``--demo``, and the caller learns the real port.
Signal handling stays with the caller: uvicorn's own handlers would re-raise SIGTERM after
shutdown and turn a clean stop into exit status 143.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Awaitable, Callable, Generator, MutableMapping
from typing import Any

import anyio
import uvicorn

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
"""The ASGI 3 callable shape, spelled out so no private uvicorn type leaks into ours."""

__all__ = ["ASGIApp", "AddressError", "bind", "bound_url", "parse_listen_address", "serve"]


class AddressError(ValueError):
    """A listen address that cannot be parsed; the message says why."""


def parse_listen_address(address: str) -> tuple[str, int]:
    """Split ``host:port``, ``:port`` or ``[v6]:port`` into host ('' = all) and port."""
    host, sep, port_text = address.rpartition(":")
    if not sep:
        raise AddressError(f"{address!r} is not host:port, :port or [host]:port")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise AddressError(f"{address!r}: put an IPv6 host in brackets, as in [::1]:9877")
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise AddressError(f"{address!r}: port must be a number from 0 to 65535")
    return host, int(port_text)


def bind(address: str) -> socket.socket:
    """Bind a listening TCP socket; ``:port`` listens on every IPv4 and IPv6 address."""
    sock = _listen(*parse_listen_address(address))
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


def bound_url(sock: socket.socket) -> str:
    """``http://host:port`` of a bound socket, for logs and the simulator's base URLs."""
    host, port = sock.getsockname()[:2]
    if host in ("::", "0.0.0.0"):  # noqa: S104  # comparing, not binding
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers: the composition root owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def serve(
    app: ASGIApp,
    sock: socket.socket,
    *,
    task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` on ``sock`` until cancelled; then stop accepting and close connections.

    ``await task_group.start(serve, app, sock)`` returns once the server accepts requests.
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
