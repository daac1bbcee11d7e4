"""The listening sockets the exporter (and the simulator) serve on."""

from __future__ import annotations

import socket

from exporter.config.values import ListenAddress
from exporter.web.server import bind, bound_url


def test_bound_socket_disables_nagle() -> None:
    """The listening socket has TCP_NODELAY, so keep-alive scrapes are not delayed ~40 ms."""
    with bind(ListenAddress("127.0.0.1", 0)) as sock:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        assert bound_url(sock).startswith("http://127.0.0.1:")


def test_all_interfaces_and_ipv6_urls() -> None:
    """An empty host binds every interface; URLs of such and of IPv6 sockets are usable."""
    with bind(ListenAddress("", 0)) as sock:
        assert bound_url(sock).startswith("http://localhost:")
    if socket.has_ipv6:
        with bind(ListenAddress("::1", 0)) as sock:
            assert bound_url(sock).startswith("http://[::1]:")
