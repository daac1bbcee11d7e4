"""``tls_server_config`` as ``ssl`` server contexts, rebuilt for new connections when it changes.

Go re-reads the web config, the certificate, the key and the client CA for every new TLS
connection, so cert-manager rotations and policy edits apply without a restart. asyncio (and
uvloop) call ``wrap_bio`` on the listening context once per accepted connection;
:class:`ReloadingContext` overrides it to hand each connection a context built from the
current configuration. Contexts are built afresh, never mutated: CPython's contexts are
thread-safe only while unchanged after first use, and a CA can be added to one but never
removed. Build errors follow Go's ``ConfigToTLSConfig`` order and wording.
"""

from __future__ import annotations

import os
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from exporter.web.security.pemfiles import (
    certificate_blocks,
    key_pair_blocks,
    key_pair_error,
    read_file,
    secret_path,
)
from exporter.web.security.sans import handshake_class
from exporter.web.security.schema import TLSServerConfig, WebConfigError
from exporter.web.security.tlsnames import apply_protocol, check_names, verify_mode

if TYPE_CHECKING:
    import uvicorn
    from structlog.typing import FilteringBoundLogger

__all__ = [
    "ReloadingContext",
    "ServerContext",
    "build_server_context",
    "uvicorn_ssl_factory",
]


@dataclass(frozen=True, slots=True)
class ServerContext:
    """A server context and the warnings its (valid but doubtful) configuration deserves."""

    context: ssl.SSLContext
    warnings: tuple[str, ...] = ()


def build_server_context(
    tls: TLSServerConfig,
    *,
    on_handshake_failure: Callable[[ssl.SSLError], None] | None = None,
) -> ServerContext:
    """Read the key pair and client CA of ``tls`` and build a server context from them.

    ``on_handshake_failure`` is called with the error of every failed handshake. Raises
    :class:`WebConfigError`; messages name paths and keys, never PEM text.
    """
    check_names(tls)  # Go rejects unknown names while decoding the YAML, before anything else
    if not tls.enabled:
        raise WebConfigError("TLS config is not present")
    if not tls.cert_file and not tls.cert:
        raise WebConfigError("missing one of cert or cert_file")
    if not tls.key_file and not tls.key:
        raise WebConfigError("missing one of key or key_file")
    cert_pem = read_file(tls.cert_file, "cert_file") if tls.cert_file else tls.cert.encode()
    key_pem = read_file(tls.key_file, "key_file") if tls.key_file else tls.key.encode()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    _load_key_pair(context, cert_pem, key_pem)
    notes: list[str] = []
    ca_pem = read_file(tls.client_ca_file) if tls.client_ca_file else tls.client_ca.encode()
    context.verify_mode = verify_mode(tls.client_auth_type)
    has_ca = bool(tls.client_ca_file or tls.client_ca)
    if has_ca and context.verify_mode == ssl.CERT_NONE:
        raise WebConfigError("client CA's have been configured without a Client Auth Policy")
    if has_ca:
        if _load_client_cas(context, ca_pem) == 0:
            where = f"client_ca_file ({tls.client_ca_file})" if tls.client_ca_file else "client_ca"
            notes.append(f"{where} holds no PEM certificate: every client certificate is refused")
    elif context.verify_mode != ssl.CERT_NONE:
        context.load_default_certs(ssl.Purpose.CLIENT_AUTH)
        notes.append(
            f"client_auth_type {tls.client_auth_type} without client_ca_file or client_ca: "
            "client certificates are verified against the system's CA certificates"
        )
    if tls.client_allowed_sans is not None and context.verify_mode != ssl.CERT_REQUIRED:
        # Go's own check panics (older) or refuses the file (newer); we refuse the client
        notes.append(
            "client_allowed_sans without client_auth_type RequireAndVerifyClientCert: "
            + (
                "no client certificate is asked for, so every connection is refused"
                if context.verify_mode == ssl.CERT_NONE
                else "a client that sends no certificate is refused"
            )
        )
    apply_protocol(context, tls)
    context.sslobject_class = handshake_class(tls.client_allowed_sans, on_handshake_failure)
    return ServerContext(context, tuple(notes))


def _load_key_pair(context: ssl.SSLContext, cert_pem: bytes, key_pem: bytes) -> None:
    # Only the blocks Go's X509KeyPair would use reach OpenSSL, through paths no other
    # user can read: load_cert_chain takes paths, never bytes.
    certs, key = key_pair_blocks(cert_pem, key_pem)
    with secret_path(b"".join(certs)) as cert_path, secret_path(key) as key_path:
        try:
            context.load_cert_chain(cert_path, key_path, password=_refuse_password)
        except (ssl.SSLError, _EncryptedKeyError) as exc:
            raise WebConfigError(
                f"failed to load X509KeyPair: {key_pair_error(exc, certs[0])}"
            ) from None


class _EncryptedKeyError(Exception):
    """The key asks for a password: Go cannot load it, and OpenSSL must not prompt on a TTY."""

    reason = "ENCRYPTED_KEY"


def _refuse_password() -> bytes:
    raise _EncryptedKeyError


def _load_client_cas(context: ssl.SSLContext, pem: bytes) -> int:
    """Add every parsable certificate, skipping the rest as Go's AppendCertsFromPEM does."""
    loaded = 0
    for block in certificate_blocks(pem):
        try:
            context.load_verify_locations(cadata=block.decode("ascii"))
        except (ssl.SSLError, ValueError):
            continue
        loaded += 1
    return loaded


def _stat_key(path: str) -> object:
    if not path:
        return None
    try:
        st = os.stat(path)  # follows a Kubernetes ..data symlink, so a swap changes the inode
    except OSError as exc:
        return exc.errno
    return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns)


def _failing_context() -> ssl.SSLContext:
    """A context whose every handshake ends with an internal_error alert, before any cert."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.sni_callback = lambda *_: ssl.ALERT_DESCRIPTION_INTERNAL_ERROR
    return context


_MAX_REASONS: Final = 64
"""Distinct handshake-failure reasons logged per configuration; OpenSSL has a finite set."""


class ReloadingContext(ssl.SSLContext):
    """The listening context: each new connection gets a context built from ``current()``.

    ``current`` returns the web config's ``tls_server_config`` (behind its own stat cache) and
    raises :class:`WebConfigError` when the file is invalid. A context is rebuilt only when that
    value or the stat of cert, key or CA file changes. While either is invalid, handshakes fail
    through a context that refuses them: the last good context is not reused, as in Go. Each
    change is logged once (``web_config_tls_invalid``), not each connection. Only ``wrap_bio``
    and ``wrap_socket`` are meaningful; this context's own settings are never used.
    """

    def __new__(
        cls, current: Callable[[], TLSServerConfig], log: FilteringBoundLogger
    ) -> ReloadingContext:
        return super().__new__(cls, ssl.PROTOCOL_TLS_SERVER)

    def __init__(self, current: Callable[[], TLSServerConfig], log: FilteringBoundLogger) -> None:
        """Build the first context; raises :class:`WebConfigError` so start-up can exit 2."""
        self._current = current
        self._log = log
        self._failing = _failing_context()
        self._seen: set[str] = set()
        tls = current()
        self._key: object = (tls, self._stat_keys(tls))
        self._active = self._build(tls)

    def wrap_bio(
        self,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        server_side: bool = False,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLObject:
        """Wrap one accepted connection with the context of the current configuration."""
        return self.current_context().wrap_bio(
            incoming, outgoing, server_side, server_hostname, session
        )

    def wrap_socket(
        self,
        sock: socket.socket,
        server_side: bool = False,
        do_handshake_on_connect: bool = True,
        suppress_ragged_eofs: bool = True,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLSocket:
        """Wrap one accepted blocking socket with the context of the current configuration."""
        context = self.current_context()
        return context.wrap_socket(
            sock,
            server_side,
            do_handshake_on_connect,
            suppress_ragged_eofs,
            server_hostname,
            session,
        )

    def current_context(self) -> ssl.SSLContext:
        """The context for the next connection, rebuilt if the configuration changed."""
        try:
            tls = self._current()
        except WebConfigError as exc:
            # the file itself is invalid: its loader logs that once per change already
            return self._refuse(("invalid", str(exc)), exc, logged=True)
        key = (tls, self._stat_keys(tls))
        if key == self._key:
            return self._active
        try:
            context = self._build(tls)
        except WebConfigError as exc:
            return self._refuse(key, exc)
        self._key, self._active = key, context
        return context

    def _refuse(self, key: object, exc: WebConfigError, *, logged: bool = False) -> ssl.SSLContext:
        if key != self._key:
            self._key = key
            if not logged:
                self._log.warning("web_config_tls_invalid", error=str(exc))
        self._active = self._failing
        return self._failing

    def _build(self, tls: TLSServerConfig) -> ssl.SSLContext:
        built = build_server_context(tls, on_handshake_failure=self._handshake_failed)
        for note in built.warnings:
            self._log.warning("web_config_tls_doubtful", warning=note)
        self._seen.clear()
        self._log.info("web_config_tls_loaded", cert_file=tls.cert_file or None)
        return built.context

    @staticmethod
    def _stat_keys(tls: TLSServerConfig) -> tuple[object, ...]:
        return tuple(_stat_key(p) for p in (tls.cert_file, tls.key_file, tls.client_ca_file))

    def _handshake_failed(self, exc: ssl.SSLError) -> None:
        reason = getattr(exc, "reason", None) or type(exc).__name__
        if reason in self._seen or len(self._seen) >= _MAX_REASONS:
            return
        self._seen.add(reason)
        self._log.info("tls_handshake_failed", reason=reason, error=str(exc))


def uvicorn_ssl_factory(
    reloading: ReloadingContext,
) -> Callable[[uvicorn.Config, Callable[[], ssl.SSLContext]], ssl.SSLContext]:
    """An ``ssl_context_factory`` for ``uvicorn.Config`` that serves ``reloading``."""

    def factory(
        config: uvicorn.Config, default_factory: Callable[[], ssl.SSLContext]
    ) -> ssl.SSLContext:
        return reloading

    return factory
