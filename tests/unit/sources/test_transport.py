"""A target's client over real sockets: trust, proxies, and the reason each failure gets."""

from __future__ import annotations

import httpx
import pytest
import trustme
from prometheus_client import CollectorRegistry

from exporter.config.network import Network, Route, Trust
from exporter.errors import UpstreamError
from exporter.exposition.self_metrics import SelfMetrics
from exporter.sources.transport import http_client, unreachable
from exporter.sources.upstream import UpstreamClient
from tests.support.network import (
    Server,
    answering,
    closed_port,
    connect_proxy,
    silent,
    tls_server_context,
    trusting,
)

pytestmark = pytest.mark.anyio
OK = answering("200 OK", b"[]", {"content-type": "application/json"})


def upstream(network: Network | None = None, timeout: float = 5.0) -> UpstreamClient:
    telemetry = SelfMetrics(CollectorRegistry()).target("livepeer_studio", "default", "default")
    client = http_client(network, timeout=timeout, headers={"user-agent": "test"})
    return UpstreamClient(client, telemetry)


def proxied(url: str, variable: str = "HTTPS_PROXY", *, trust: Trust | None = None) -> Network:
    return Network(trust or Trust(), (Route("all://", url, variable),))


async def failure(client: UpstreamClient, url: str) -> UpstreamError:
    with pytest.raises(UpstreamError) as info:
        await client.get("list_sessions", url)
    return info.value


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


async def test_an_untrusted_certificate_fails_as_tls_naming_the_host(ca: trustme.CA) -> None:
    """A TLS upstream whose CA is not trusted fails as tls, the host and OpenSSL's words in
    the message."""
    with Server(OK, tls=tls_server_context(ca)) as server:
        error = await failure(upstream(), f"https://{server.address}/api/session?key=no")
    assert error.reason == "tls"
    assert str(error) == (
        f"list_sessions: TLS handshake with {server.address} failed"
        " (certificate verify failed: unable to get local issuer certificate)"
    )


async def test_a_trusted_ca_makes_the_same_upstream_answer(ca: trustme.CA) -> None:
    """With the CA in the network's trust, the same TLS upstream answers 200."""
    network = Network(Trust("test", trusting(ca)))
    with Server(OK, tls=tls_server_context(ca)) as server:
        response = await upstream(network).get("list_sessions", f"https://{server.address}/")
    assert (response.status, response.body) == (200, b"[]")


async def test_a_name_that_does_not_resolve_fails_as_dns() -> None:
    """An unresolvable host fails as dns, naming the host."""
    error = await failure(upstream(), "https://nonexistent.invalid/api")
    assert error.reason == "dns"
    assert str(error).startswith("list_sessions: cannot resolve nonexistent.invalid (")


async def test_a_refused_port_fails_as_connection() -> None:
    """A port nothing listens on fails as connection, with the OS's words for it."""
    port = closed_port()
    error = await failure(upstream(), f"http://127.0.0.1:{port}/api")
    assert error.reason == "connection"
    assert str(error) == (
        f"list_sessions: connection to 127.0.0.1:{port} failed (ConnectError: Connection refused)"
    )


async def test_a_request_left_unanswered_fails_as_timeout() -> None:
    """An upstream that never answers fails as timeout, naming the host."""
    with Server(silent) as server:
        error = await failure(upstream(timeout=0.3), f"http://{server.address}/")
    assert (error.reason, str(error)) == (
        "timeout",
        f"list_sessions: request to {server.address} timed out",
    )


async def test_a_dead_proxy_fails_as_proxy_naming_it_and_the_host() -> None:
    """HTTPS_PROXY pointing at a closed port fails as proxy, not connection."""
    port = closed_port()
    network = proxied(f"http://user:hunter2@127.0.0.1:{port}")
    error = await failure(upstream(network), "https://livepeer.studio/api/session")
    assert error.reason == "proxy"
    assert str(error) == (
        f"list_sessions: proxy 127.0.0.1:{port} ($HTTPS_PROXY) unreachable:"
        " ConnectError: Connection refused (for livepeer.studio)"
    )
    assert "hunter2" not in str(error)


async def test_a_proxy_whose_name_does_not_resolve_fails_as_proxy_not_dns() -> None:
    """An unresolvable proxy host is the proxy's failure: the API's name was never looked up."""
    network = proxied("http://nonexistent.invalid:3128")
    error = await failure(upstream(network), "https://livepeer.studio/api/session")
    assert error.reason == "proxy"
    assert "proxy nonexistent.invalid:3128 ($HTTPS_PROXY) unreachable" in str(error)


async def test_a_socks_proxy_is_supported_and_a_dead_one_fails_as_proxy() -> None:
    """ALL_PROXY=socks5://127.0.0.1:1 builds a client (socksio is installed) and a poll
    through it fails as proxy, without crashing."""
    network = proxied("socks5://127.0.0.1:1", "ALL_PROXY")
    error = await failure(upstream(network), "https://livepeer.studio/api/session")
    assert error.reason == "proxy"
    assert "proxy 127.0.0.1:1 ($ALL_PROXY) unreachable" in str(error)


async def test_a_proxy_refusing_the_tunnel_fails_as_proxy_with_its_answer() -> None:
    """A proxy answering the CONNECT with 403 fails as proxy, its status in the message."""
    with Server(connect_proxy(refuse="403 Forbidden")) as proxy:
        network = proxied(f"http://{proxy.address}")
        error = await failure(upstream(network), "https://livepeer.studio/api/session")
    assert error.reason == "proxy"
    assert f"proxy {proxy.address} ($HTTPS_PROXY) refused: ProxyError: 403 Forbidden" in str(error)


async def test_through_a_working_proxy_the_upstream_certificate_decides(ca: trustme.CA) -> None:
    """Through a CONNECT tunnel an untrusted upstream still fails as tls (not proxy), and
    with its CA trusted the request succeeds through the proxy."""
    seen: list[str] = []
    with (
        Server(OK, tls=tls_server_context(ca)) as server,
        Server(connect_proxy(seen=seen)) as proxy,
    ):
        url = f"https://127.0.0.1:{server.port}/api"
        error = await failure(upstream(proxied(f"http://{proxy.address}")), url)
        assert error.reason == "tls"
        trusted = proxied(f"http://{proxy.address}", trust=Trust("test", trusting(ca)))
        response = await upstream(trusted).get("list_sessions", url)
    assert response.status == 200
    assert seen == [f"CONNECT 127.0.0.1:{server.port} HTTP/1.1"] * 2


async def test_no_proxy_hosts_bypass_the_proxy() -> None:
    """A NO_PROXY route goes direct even when every other URL goes through a dead proxy."""
    with Server(OK) as server:
        network = Network(
            Trust(),
            (
                Route("all://", f"http://127.0.0.1:{closed_port()}", "ALL_PROXY"),
                Route(f"all://{server.address.split(':')[0]}", None, "NO_PROXY"),
            ),
        )
        response = await upstream(network).get("list_sessions", f"http://{server.address}/")
    assert response.status == 200


def test_an_error_without_its_request_still_gets_a_reason() -> None:
    """A transport error carrying no request (httpx always sets one) names no host."""
    error = unreachable(httpx.ConnectError("refused"), "list_sessions")
    assert (error.reason, str(error)) == (
        "connection",
        "list_sessions: connection to the upstream failed (ConnectError)",
    )
