"""How the upstream APIs are reached: the CAs their certificates must chain to, and proxies.

Both are read with the rest of the configuration, from the flags and the ``env`` passed in,
so a mistake is one clear line and exit 2 instead of a traceback at start (``SSL_CERT_FILE``
naming a missing file) or a failure on every poll:

- **trust**: ``--upstream.ca-file`` (or ``SSL_CERT_FILE`` / ``REQUESTS_CA_BUNDLE``) names a
  PEM bundle that *replaces* the default trust, as OpenSSL and requests read those variables;
  the word ``system`` takes the operating system's store (:mod:`truststore`: the Keychain,
  the Windows store, or the distribution's bundle on Linux); else ``SSL_CERT_DIR``, else
  certifi's bundle, httpx's default. A file is loaded here, once, so a missing, unreadable or
  non-PEM file is refused at load and every target shares one context.
- **proxies**: ``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY`` (``http``, ``https``,
  ``socks5``, ``socks5h``) and ``NO_PROXY``, lower case winning over upper case, turned into
  httpx mount patterns exactly as httpx reads them itself. The exporter reads them from here,
  not httpx from ``os.environ``, so the routing the sources use is the one that was checked.

A proxy URL may carry credentials: it is never put in a problem or a ``repr``.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

import httpx
import truststore

from exporter.config.flags import UPSTREAM_CA_FILE
from exporter.config.resolve import Resolver

__all__ = ["MAX_CA_FILE_BYTES", "PROXY_SCHEMES", "SYSTEM", "Network", "Route", "Trust", "network"]

SYSTEM: Final = "system"
"""The ``--upstream.ca-file`` value that means the operating system's trust store."""
MAX_CA_FILE_BYTES: Final = 8 * 1024 * 1024
"""Largest CA bundle read (certifi's is about 0.3 MB): a wrong path costs no memory."""
PROXY_SCHEMES: Final = ("http", "https", "socks5", "socks5h")
"""What httpx can proxy through (SOCKS with its ``socks`` extra, a dependency)."""


@dataclass(frozen=True, slots=True)
class Trust:
    """The certificate authorities an upstream's TLS certificate must chain to."""

    origin: str = "certifi"
    """Where they come from: ``certifi``, ``system``, or the path and what named it."""
    context: ssl.SSLContext | None = field(default=None, compare=False, repr=False)
    """The loaded context; None for certifi's bundle, which the transport builds once."""


@dataclass(frozen=True, slots=True)
class Route:
    """One httpx mount: requests whose URL matches ``pattern`` go through ``proxy``, or
    directly when it is None (a ``NO_PROXY`` entry)."""

    pattern: str
    proxy: str | None = field(default=None, repr=False)
    """The proxy's URL, credentials included: never logged."""
    variable: str = ""
    """The environment variable it came from, for messages."""

    @property
    def where(self) -> str:
        """``host:port`` of the proxy, the only part of it a message may show."""
        if self.proxy is None:
            return "direct"
        url = httpx.URL(self.proxy)
        port = url.port or {"https": 443, "http": 80}.get(url.scheme, 1080)
        host = f"[{url.host}]" if ":" in url.host else url.host
        return f"{host}:{port}"


@dataclass(frozen=True, slots=True)
class Network:
    """Everything about reaching the upstream APIs that is not per target."""

    trust: Trust = field(default_factory=Trust)
    routes: tuple[Route, ...] = ()

    @property
    def secrets(self) -> tuple[str, ...]:
        """The proxies' passwords, for the log redactor (a second line of defence only)."""
        return tuple(
            password
            for route in self.routes
            if route.proxy is not None and (password := httpx.URL(route.proxy).password)
        )


def network(resolver: Resolver) -> Network:
    """The network settings from the flags and ``resolver.env``; problems go to the resolver.

    ``--demo`` polls the simulator on loopback, which no proxy should stand in front of.
    """
    routes = () if resolver.demo else _routes(resolver.env, resolver.problems)
    return Network(_trust(resolver), routes)


def _trust(resolver: Resolver) -> Trust:
    value = resolver.optional(UPSTREAM_CA_FILE)
    raw = resolver.raw(UPSTREAM_CA_FILE)
    if value is not None and raw is not None:
        if value == SYSTEM:
            return Trust(SYSTEM, truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
        try:
            return Trust(f"{value} ({raw.origin})", _load_ca_file(value))
        except ValueError as exc:
            resolver.problems.append(f"{resolver.where(UPSTREAM_CA_FILE, raw)}: {value}: {exc}")
            return Trust()
    directory = resolver.env.get("SSL_CERT_DIR", "").strip()
    if directory:
        if not os.path.isdir(directory):
            resolver.problems.append(f"$SSL_CERT_DIR: {directory}: not a directory")
            return Trust()
        return Trust(f"{directory} ($SSL_CERT_DIR)", ssl.create_default_context(capath=directory))
    return Trust()


def _load_ca_file(path: str) -> ssl.SSLContext:
    """A client context trusting exactly the certificates of the PEM file at ``path``.

    Only a regular file (or a symlink to one, as Kubernetes mounts a ConfigMap) is opened: a
    FIFO would block the start, a device could be endless.
    """
    try:
        info = os.stat(path)
    except OSError as exc:
        raise ValueError((exc.strerror or type(exc).__name__).lower()) from None
    if not stat.S_ISREG(info.st_mode):
        raise ValueError("not a regular file")
    if info.st_size > MAX_CA_FILE_BYTES:
        raise ValueError(f"{info.st_size} bytes, over the {MAX_CA_FILE_BYTES}-byte limit")
    try:
        return ssl.create_default_context(cafile=path)
    except ssl.SSLError as exc:
        why = exc.reason.lower().replace("_", " ") if exc.reason else "damaged PEM data"
        raise ValueError(f"not a PEM bundle of CA certificates ({why})") from None
    except OSError as exc:
        raise ValueError((exc.strerror or type(exc).__name__).lower()) from None


def _routes(env: Mapping[str, str], problems: list[str]) -> tuple[Route, ...]:
    """httpx's mounts for the proxy variables (``httpx._utils.get_environment_proxies``)."""
    routes: list[Route] = []
    for scheme in ("http", "https", "all"):
        name, value = _variable(env, f"{scheme}_proxy")
        if not value:
            continue
        url = value if "://" in value else f"http://{value}"
        problem = _proxy_problem(url)
        if problem:
            problems.append(f"${name}: {problem}")
            continue
        routes.append(Route(f"{scheme}://", url, name))
    name, value = _variable(env, "no_proxy")
    for entry in (host.strip() for host in value.split(",")):
        if entry == "*":
            return ()
        if not entry:
            continue
        pattern = _no_proxy_pattern(entry)
        try:
            httpx.URL(pattern)
        except httpx.InvalidURL:
            problems.append(f"${name}: {entry!r} is not a host name, address or URL")
            continue
        routes.append(Route(pattern, None, name))
    return tuple(routes)


def _variable(env: Mapping[str, str], lower: str) -> tuple[str, str]:
    """The variable's name and value; the lower-case spelling wins, as in urllib and curl."""
    name = lower if lower in env else lower.upper()
    return name, env.get(name, "").strip()


def _proxy_problem(url: str) -> str | None:
    """Why httpx could not proxy through ``url``, never echoing it (it may hold a password)."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return "not a URL"
    if parsed.scheme not in PROXY_SCHEMES:
        return f"proxy scheme {parsed.scheme!r} is not one of {', '.join(PROXY_SCHEMES)}"
    if not parsed.host:
        return "the proxy URL has no host"
    return None


def _no_proxy_pattern(entry: str) -> str:
    """The mount pattern of one ``NO_PROXY`` entry, as httpx makes it: a domain matches
    itself and its subdomains, ``.domain`` only the subdomains."""
    if "://" in entry:
        return entry
    try:
        address = ipaddress.ip_address(entry.split("/")[0])
    except ValueError:
        address = None
    if address is not None:
        return f"all://[{entry}]" if address.version == 6 else f"all://{entry}"
    if entry.lower() == "localhost":
        return f"all://{entry}"
    return f"all://*{entry}"
