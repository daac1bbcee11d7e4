"""Reading TLS material as Go's exporter-toolkit does, and handing it to OpenSSL privately.

Go reads cert, key and CA with ``os.ReadFile`` and picks PEM blocks itself (``X509KeyPair``,
``AppendCertsFromPEM``); its error messages are what operators' runbooks quote, so they are
reproduced here. OpenSSL only loads key pairs from paths, so the selected blocks are written
to an anonymous memory file (or a 0600 temporary file where there is none): an inline key
never lands in a file another user can read.
"""

from __future__ import annotations

import contextlib
import os
import re
import ssl
import tempfile
from collections.abc import Iterator
from typing import Final

from exporter.web.security.schema import WebConfigError

__all__ = ["certificate_blocks", "key_pair_blocks", "key_pair_error", "read_file", "secret_path"]

_PEM: Final = re.compile(rb"-----BEGIN ([^\r\n]*?)-----\r?\n(?:.*?\n)??-----END \1-----", re.DOTALL)
_KEY_ERRORS: Final = {
    "KEY_VALUES_MISMATCH": "tls: private key does not match public key",
    # OpenSSL files a key of another type under another slot, then finds no cert for it
    "NO_CERTIFICATE_ASSIGNED": "tls: private key type does not match public key type",
    "ENCRYPTED_KEY": "tls: failed to parse private key",
}


def read_file(path: str, key: str | None = None) -> bytes:
    """The bytes of ``path``; errors read like Go's ``os.ReadFile``, prefixed as Go does.

    ``key`` (``cert_file``) gives ``failed to read cert_file (p): open p: …``; without it the
    bare ``open p: …`` of Go's client CA read.
    """
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError as exc:
        # Go opens a directory fine and fails on read; Python fails on open
        op = "read" if isinstance(exc, IsADirectoryError) else "open"
        text = exc.strerror or type(exc).__name__
        detail = f"{op} {path}: {text[:1].lower()}{text[1:]}"
    raise WebConfigError(detail if key is None else f"failed to read {key} ({path}): {detail}")


def _blocks(pem: bytes) -> list[tuple[str, bytes]]:
    return [(m.group(1).decode("ascii", "replace"), m.group(0)) for m in _PEM.finditer(pem)]


def certificate_blocks(pem: bytes) -> list[bytes]:
    """The ``CERTIFICATE`` PEM blocks of ``pem``; anything else is skipped, as Go does."""
    return [block for kind, block in _blocks(pem) if kind == "CERTIFICATE"]


def key_pair_blocks(cert_pem: bytes, key_pem: bytes) -> tuple[list[bytes], bytes]:
    """The certificate blocks and the key block Go's ``X509KeyPair`` would use.

    Raises :class:`WebConfigError` with Go's message when either input lacks its block.
    """
    certs: list[bytes] = []
    skipped: list[str] = []
    for kind, block in _blocks(cert_pem):
        if kind == "CERTIFICATE":
            certs.append(block)
        else:
            skipped.append(kind)
    if not certs:
        if not skipped:
            _fail("tls: failed to find any PEM data in certificate input")
        if len(skipped) == 1 and skipped[0].endswith("PRIVATE KEY"):
            _fail(
                "tls: failed to find certificate PEM data in certificate input, but did find a "
                "private key; PEM inputs may have been switched"
            )
        _fail(
            'tls: failed to find "CERTIFICATE" PEM block in certificate input after skipping '
            f"PEM blocks of the following types: [{' '.join(skipped)}]"
        )
    skipped = []
    for kind, block in _blocks(key_pem):
        if kind == "PRIVATE KEY" or kind.endswith(" PRIVATE KEY"):
            return certs, block
        skipped.append(kind)
    if not skipped:
        _fail("tls: failed to find any PEM data in key input")
    if skipped == ["CERTIFICATE"]:
        _fail("tls: found a certificate rather than a key in the PEM for the private key")
    _fail(
        'tls: failed to find PEM block with type ending in "PRIVATE KEY" in key input after '
        f"skipping PEM blocks of the following types: [{' '.join(skipped)}]"
    )
    raise AssertionError  # _fail raised


def _fail(message: str) -> None:
    raise WebConfigError(f"failed to load X509KeyPair: {message}")


def key_pair_error(exc: Exception, first_cert: bytes) -> str:
    """Go's wording for an error OpenSSL raised while loading a key pair."""
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str):
        # a reason Go has no twin for (a key OpenSSL deems too small), in words
        return _KEY_ERRORS.get(reason, f"openssl: {reason.lower().replace('_', ' ')}")
    # OpenSSL says only "PEM lib": find out which of the two it could not parse
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(
            cadata=first_cert.decode("ascii")
        )
    except (ssl.SSLError, ValueError):
        return "x509: malformed certificate"
    return "tls: failed to parse private key"


@contextlib.contextmanager
def secret_path(data: bytes) -> Iterator[str]:
    """A path holding ``data`` that only this process can read, gone when the block ends."""
    if hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd"):
        fd = os.memfd_create("tls-material", os.MFD_CLOEXEC)
        try:
            with open(fd, "wb", closefd=False) as file:
                file.write(data)
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    fd, path = tempfile.mkstemp(prefix="livesession-tls-")  # mode 0600
    try:
        with open(fd, "wb") as file:
            file.write(data)
        yield path
    finally:
        os.unlink(path)
