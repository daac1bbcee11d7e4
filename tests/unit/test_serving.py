"""Listen addresses and the sockets bound for them."""

from __future__ import annotations

import socket

import pytest

from exporter.config.values import ListenAddress
from exporter.web.server import bind, bound_url


@pytest.mark.parametrize(
    ("address", "parsed"),
    [(":9877", ("", 9877)), ("127.0.0.1:0", ("127.0.0.1", 0)), ("[::1]:80", ("::1", 80))],
)
def test_parse_listen_address(address: str, parsed: tuple[str, int]) -> None:
    """host:port, :port and [v6]:port split into host and port, and print as given."""
    assert ListenAddress.parse(address) == ListenAddress(*parsed)
    assert str(ListenAddress.parse(address)) == address


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


def test_bad_address_says_why() -> None:
    """A malformed address raises ValueError with the accepted forms."""
    with pytest.raises(ValueError, match="host:port"):
        ListenAddress.parse("9877")
