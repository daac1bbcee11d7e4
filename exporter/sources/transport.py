"""How a target's HTTP client reaches its upstream, and what failing to reach it means.

:func:`http_client` builds the ``httpx.AsyncClient`` of one target from the network settings
(:mod:`exporter.config.network`): the CA context to verify with, and a mount per proxy route,
httpx's own routing, so ``NO_PROXY`` works as httpx documents it. httpx is told not to read
the environment itself (``trust_env=False``): the settings already did, and checked it.

:func:`unreachable` turns a transport failure into the ``reason`` an operator acts on, since
each has a different fix: ``timeout``, ``tls`` (certificate or handshake: a CA to add), ``dns``
(a name not resolved), ``proxy`` (the configured proxy refused, failed the tunnel, or could not
be reached) and ``connection`` (refused, reset, closed). A connection failure is only known to
be the proxy's because the proxy's mount wraps its transport (:class:`_ViaProxy`). Messages
name the endpoint, the upstream host and the cause, never a URL's credentials or a body.
"""

from __future__ import annotations

import functools
import os
import socket
import ssl
from collections.abc import Mapping
from typing import Final, TypeVar

import httpx

from exporter.config.network import Network, Route
from exporter.errors import Reason, UpstreamError

__all__ = ["http_client", "unreachable"]

_E = TypeVar("_E", bound=BaseException)
_MAX_CHAIN: Final = 16
"""Causes followed at most: a chain is a few links long, a cycle must not loop."""
_MAX_DETAIL: Final = 80
"""Characters of a proxy's refusal kept (its status line; a SOCKS reply)."""


def http_client(
    network: Network | None,
    *,
    timeout: float,
    headers: Mapping[str, str],
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """The client of one target: ``network``'s trust and proxies (None: certifi, direct).

    ``transport`` replaces the direct connection (tests give a fake); proxies keep theirs.
    """
    network = network or Network()
    verify = network.trust.context or _certifi()
    mounts: dict[str, httpx.AsyncBaseTransport | None] = {
        route.pattern: None if route.proxy is None else _ViaProxy(route, verify)
        for route in network.routes
    }
    return httpx.AsyncClient(
        timeout=timeout,
        headers=dict(headers),
        verify=verify,
        transport=transport,
        mounts=mounts,
        trust_env=False,
        follow_redirects=False,
    )


@functools.cache
def _certifi() -> ssl.SSLContext:
    """certifi's bundle, httpx's default, loaded once for every target (about 10 ms each)."""
    return httpx.create_ssl_context(trust_env=False)


class _ViaProxy(httpx.AsyncBaseTransport):
    """A proxy's transport whose failures to reach the proxy are ``httpx.ProxyError``.

    httpx raises the same ConnectError whether the proxy or the upstream refused; only the
    mount knows a proxy was in the way. A TLS failure is the upstream's (through the tunnel),
    and stays what it is.
    """

    def __init__(self, route: Route, verify: ssl.SSLContext) -> None:
        assert route.proxy is not None  # noqa: S101  # built only for proxy routes
        self._inner = httpx.AsyncHTTPTransport(proxy=route.proxy, verify=verify)
        self._where = f"proxy {route.where} (${route.variable})"

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._inner.handle_async_request(request)
        except httpx.ProxyError as exc:
            raise httpx.ProxyError(f"{self._where} refused: {_brief(exc)}") from exc
        except httpx.ConnectError as exc:
            if _cause(exc, ssl.SSLError) is not None:
                raise
            raise httpx.ProxyError(f"{self._where} unreachable: {_brief(exc)}") from exc

    async def aclose(self) -> None:
        await self._inner.aclose()


def unreachable(exc: httpx.TransportError, endpoint: str) -> UpstreamError:
    """The typed error for a request that got no response (see the module docstring)."""
    host = _host(exc)
    reason: Reason
    if isinstance(exc, httpx.TimeoutException):
        reason, message = "timeout", f"request to {host} timed out"
    elif (tls := _cause(exc, ssl.SSLError)) is not None:
        reason, message = "tls", f"TLS handshake with {host} failed ({_tls(tls)})"
    elif isinstance(exc, httpx.ProxyError):
        reason, message = "proxy", f"{exc} (for {host})"
    elif (dns := _cause(exc, socket.gaierror)) is not None:
        reason, message = "dns", f"cannot resolve {host} ({dns.strerror or 'no address'})"
    else:
        reason, message = "connection", f"connection to {host} failed ({_brief(exc)})"
    return UpstreamError(f"{endpoint}: {message}", reason=reason)


def _host(exc: httpx.TransportError) -> str:
    """``host[:port]`` of the request that failed (never its path, query or credentials)."""
    try:
        url = exc.request.url
    except RuntimeError:  # an error raised outside a request, which httpx never does
        return "the upstream"
    host = f"[{url.host}]" if ":" in url.host else url.host
    return host if url.port is None else f"{host}:{url.port}"


def _cause(exc: BaseException, kind: type[_E]) -> _E | None:
    """The first exception of type ``kind`` in ``exc``'s chain of causes, if any."""
    seen: BaseException | None = exc
    for _ in range(_MAX_CHAIN):
        if seen is None:
            return None
        if isinstance(seen, kind):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _tls(exc: ssl.SSLError) -> str:
    """What OpenSSL said, without the file and line: ``certificate verify failed: …``."""
    if isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_message:
        return f"certificate verify failed: {exc.verify_message}"
    return (exc.reason or type(exc).__name__).lower().replace("_", " ")


def _brief(exc: BaseException) -> str:
    """The class of ``exc`` and the OS's words for its root cause (``Connection refused``),
    or a proxy's own answer (``403 Forbidden``), short."""
    if isinstance(exc, httpx.ProxyError) and str(exc):
        return f"{type(exc).__name__}: {str(exc)[:_MAX_DETAIL]}"
    seen: BaseException | None = exc
    for _ in range(_MAX_CHAIN):
        if seen is None:
            break
        if isinstance(seen, OSError) and isinstance(seen.errno, int) and seen.errno > 0:
            return f"{type(exc).__name__}: {os.strerror(seen.errno)}"
        seen = seen.__cause__ or seen.__context__
    return type(exc).__name__
