"""Checks made inside the TLS handshake: ``client_allowed_sans``, and failed handshakes reported.

uvicorn puts nothing about TLS into the ASGI scope, so a client certificate can only be judged
in the TLS layer. ``SSLContext.sslobject_class`` lets us run code when OpenSSL finishes a
handshake and before the connection reaches the application: raising there drops the
connection, as Go's ``VerifyPeerCertificate`` does. The same hook is the only place a failed
handshake is visible at all (asyncio and uvicorn log nothing for one).
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import ClassVar, Final

__all__ = ["SAN_REFUSED", "HandshakeFailureHook", "go_san_values", "handshake_class"]

HandshakeFailureHook = Callable[[ssl.SSLError], None]
"""Called with every error that ends a server handshake (never with want-read/want-write)."""

SAN_REFUSED: Final = "CLIENT_SAN_NOT_ALLOWED"
"""``reason`` of the error raised when no SAN of the client certificate is allowed."""

_SAN_KINDS: Final = frozenset({"DNS", "email", "URI"})
"""getpeercert() names of the SAN kinds Go compares verbatim (DNS, email, URI)."""


def _go_ip(text: str) -> str | None:
    """An IP SAN as Go's ``net.IP.String()`` prints it, from OpenSSL's text.

    OpenSSL writes IPv6 uncompressed (``0:0:0:0:0:0:0:1``), Go compresses it (``::1``); Go
    prints an IPv4-mapped address as plain IPv4, since ``To4()`` succeeds for it.
    """
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None  # OpenSSL prints "<invalid>" for an address of odd length; Go drops it too
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def go_san_values(peercert: object) -> list[str]:
    """The SANs of a ``getpeercert()`` result in the textual forms Go matches against.

    DNS names, email addresses and URIs are taken as written; IP addresses are normalised; the
    subject CN is ignored, as in Go.
    """
    values: list[str] = []
    if not isinstance(peercert, dict):
        return values
    entries: Iterable[tuple[str, str]] = peercert.get("subjectAltName", ())
    for kind, value in entries:
        if kind in _SAN_KINDS:
            values.append(value)
        elif kind == "IP Address":
            ip = _go_ip(value)
            if ip is not None:
                values.append(ip)
    return values


@dataclass(frozen=True, slots=True)
class _Policy:
    allowed: frozenset[str] | None
    report: HandshakeFailureHook | None


class _CheckingSSLObject(ssl.SSLObject):
    """Runs the SAN check once OpenSSL has verified the chain, and reports failures."""

    policy: ClassVar[_Policy] = _Policy(None, None)

    def do_handshake(self) -> None:
        try:
            super().do_handshake()
            if self.policy.allowed is not None:
                _check_sans(self.getpeercert(), self.policy.allowed)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            raise  # the handshake is merely waiting for the peer
        except ssl.SSLError as exc:
            if self.policy.report is not None:
                self.policy.report(exc)
            raise


def _check_sans(peercert: object, allowed: frozenset[str]) -> None:
    # getpeercert() is None when the client sent no certificate (VerifyClientCertIfGiven):
    # there is nothing to match, so the connection is refused, as newer toolkits do
    if not any(value in allowed for value in go_san_values(peercert)):
        error = ssl.SSLCertVerificationError("could not find allowed SANs in client cert")
        error.reason = SAN_REFUSED
        raise error


def handshake_class(
    allowed: Iterable[str] | None, report: HandshakeFailureHook | None
) -> type[ssl.SSLObject]:
    """The ``sslobject_class`` for a context: checks ``allowed`` SANs, calls ``report``.

    ``allowed`` None skips the SAN check (the key is absent); an empty list refuses everyone,
    as Go's does. Each context gets its own class, so a rebuilt context never sees another
    configuration's list.
    """
    if allowed is None and report is None:
        return ssl.SSLObject

    class _Checking(_CheckingSSLObject):
        policy = _Policy(None if allowed is None else frozenset(allowed), report)

    return _Checking
