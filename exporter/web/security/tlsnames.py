"""Go's TLS names in ``tls_server_config`` and the ``ssl`` settings they stand for.

The web config names versions, cipher suites, curves and client-auth policies as Go's
``crypto/tls`` does; Python's ``ssl`` (OpenSSL 3) names them otherwise, and some Go settings
have no ``ssl`` equivalent. The tables pin the names promtool 2.42 (Go 1.19) accepts.
"""

from __future__ import annotations

import ssl
import warnings
from typing import Final

from exporter.web.security.schema import TLSServerConfig, WebConfigError

__all__ = ["apply_protocol", "check_names", "verify_mode"]

_VERSIONS: Final = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}
_CIPHERS: Final = {
    # Go 1.19's tls.CipherSuites() (what promtool 2.42 accepts) → OpenSSL names
    "TLS_RSA_WITH_AES_128_CBC_SHA": "AES128-SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
}
_TLS13_CIPHERS: Final = frozenset(
    # accepted by Go but not configurable there (nor in Python 3.11): ignored
    {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}
)
_CURVES: Final = {
    "CurveP256": "prime256v1",
    "CurveP384": "secp384r1",
    "CurveP521": "secp521r1",
    "X25519": "X25519",
}
_VERIFY_MODES: Final = {
    "": ssl.CERT_NONE,
    "NoClientCert": ssl.CERT_NONE,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
_UNVERIFIED: Final = frozenset({"RequestClientCert", "RequireAnyClientCert", "RequireClientCert"})
"""Go asks for a certificate without verifying it; ``ssl`` cannot ask without verifying."""


def check_names(tls: TLSServerConfig) -> None:
    """Reject unknown version, cipher and curve names, and the curve lists ``ssl`` can't set."""
    for version in (tls.min_version, tls.max_version):
        if version not in _VERSIONS:
            raise WebConfigError(f"unknown TLS version: {version}")
    for cipher in tls.cipher_suites:
        if cipher not in _CIPHERS and cipher not in _TLS13_CIPHERS:
            raise WebConfigError(f"unknown cipher: {cipher}")
    for curve in tls.curve_preferences:
        if curve not in _CURVES:
            raise WebConfigError(f"unknown curve: {curve}")
    if len(tls.curve_preferences) > 1:
        raise WebConfigError(
            "curve_preferences: only one curve is supported (Python's ssl module before 3.15 "
            "sets a single group)"
        )


def verify_mode(client_auth_type: str) -> ssl.VerifyMode:
    """The ``verify_mode`` of a ``client_auth_type``, or Go's error for an unknown one."""
    if client_auth_type in _UNVERIFIED:
        raise WebConfigError(
            f"client_auth_type {client_auth_type} is not supported: Python's ssl module "
            "cannot request a client certificate without verifying it; use "
            "VerifyClientCertIfGiven or RequireAndVerifyClientCert"
        )
    if client_auth_type not in _VERIFY_MODES:
        raise WebConfigError(f"invalid ClientAuth: {client_auth_type}")
    return _VERIFY_MODES[client_auth_type]


def apply_protocol(context: ssl.SSLContext, tls: TLSServerConfig) -> None:
    """Set versions, ciphers, cipher preference, curve and ALPN; names already checked."""
    minimum = _VERSIONS[tls.min_version]
    names = [_CIPHERS[name] for name in tls.cipher_suites if name in _CIPHERS]
    if tls.cipher_suites and not names:
        # only TLS 1.3 names: Go then has no suite for TLS 1.2 and below
        minimum = max(minimum, ssl.TLSVersion.TLSv1_3)
    legacy = minimum < ssl.TLSVersion.TLSv1_2
    if legacy and not names:
        names = list(_CIPHERS.values())  # Go's defaults; Python's drop the SHA-1 suites 1.0 needs
    if names:
        # OpenSSL 3 refuses TLS 1.0/1.1 at its default security level; the operator asked
        spec = ":".join(names) + (":@SECLEVEL=0" if legacy else "")
        try:
            context.set_ciphers(spec)
        except ssl.SSLError:  # pragma: no cover  # OpenSSL 3 has all 14; a FIPS build may not
            raise WebConfigError(
                "cipher_suites: none of them is available in this OpenSSL build"
            ) from None
    with warnings.catch_warnings():
        # TLSv1 and TLSv1_1 are deprecated in Python; configuring them is the operator's call
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = minimum
        context.maximum_version = _VERSIONS[tls.max_version]
    if tls.prefer_server_cipher_suites:
        context.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    else:
        context.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    if tls.curve_preferences:
        context.set_ecdh_curve(_CURVES[tls.curve_preferences[0]])
    # HTTP/2 is served as HTTP/1.1: clients offering h2 (Prometheus) fall back through ALPN
    context.set_alpn_protocols(["http/1.1"])
