"""The exporter-toolkit web configuration (``--web.config.file``): its schema as typed values.

The shape is the toolkit's current one (``tls_server_config``, ``http_server_config``,
``basic_auth_users``, ``rate_limit``), field for field, with the toolkit's defaults.
:func:`parse_web_config` reads it as the toolkit does (yaml.v2's strict decoding, then the
header rules, then the TLS checks that need no file) with the toolkit's messages, and refuses
what Python's ``ssl`` cannot honour. Reading the files it names is ``tls.py``'s job.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, TypeVar

from exporter.web.security import goscalars, yamlv2

__all__ = [
    "CLIENT_AUTH_TYPES",
    "HTTPServerConfig",
    "RateLimit",
    "TLSServerConfig",
    "WebConfig",
    "WebConfigError",
    "parse_web_config",
]

_T = TypeVar("_T")


class WebConfigError(Exception):
    """The web configuration is invalid; the message names the key and never a secret.

    ``problems`` holds one line per problem; several are reported at once where Go's stage
    (YAML, headers, TLS) would have found them together.
    """

    def __init__(self, *problems: str) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class TLSServerConfig:
    """``tls_server_config``: paths are already resolved against the file's directory."""

    cert_file: str = ""
    key_file: str = ""
    cert: str = ""
    """Inline PEM certificate; ``cert_file`` wins when both are given."""
    key: str = field(default="", repr=False)
    """Inline PEM key (a secret); ``key_file`` wins when both are given."""
    client_auth_type: str = ""
    client_ca_file: str = ""
    client_ca: str = ""
    client_allowed_sans: tuple[str, ...] | None = None
    """None when the key is absent: the check runs only when it is present (as in Go)."""
    min_version: str = "TLS12"
    max_version: str = "TLS13"
    cipher_suites: tuple[str, ...] = ()
    prefer_server_cipher_suites: bool = True
    curve_preferences: tuple[str, ...] = ()

    @property
    def enabled(self) -> bool:
        """Go's ``IsEnabled``: TLS is on when any of these is set (versions alone are not)."""
        return any(
            (
                self.cert_file,
                self.cert,
                self.key_file,
                self.key,
                self.client_ca_file,
                self.client_ca,
                self.client_auth_type,
            )
        )


@dataclass(frozen=True, slots=True)
class HTTPServerConfig:
    """``http_server_config``."""

    http2: bool = True
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RateLimit:
    """``rate_limit``: ``interval`` seconds per token (0 disables), bucket of ``burst``."""

    interval: float = 0.0
    burst: int = 0


@dataclass(frozen=True, slots=True)
class WebConfig:
    """A whole web configuration file, validated."""

    tls: TLSServerConfig = field(default_factory=TLSServerConfig)
    http: HTTPServerConfig = field(default_factory=HTTPServerConfig)
    users: Mapping[str, str] = field(default_factory=dict, repr=False)
    """``basic_auth_users``: user → bcrypt hash (hashes are not checked at load, as in Go)."""
    rate_limit: RateLimit = field(default_factory=RateLimit)


CLIENT_AUTH_TYPES: Final = frozenset(
    {"", "NoClientCert", "VerifyClientCertIfGiven", "RequireAndVerifyClientCert"}
)
"""The ``client_auth_type`` values served; Go's other three are refused (``_UNVERIFIED``)."""
_UNVERIFIED: Final = {
    # Go asks for a certificate and takes it unverified; ssl cannot ask without verifying
    "RequestClientCert": "VerifyClientCertIfGiven",
    "RequireAnyClientCert": "RequireAndVerifyClientCert",
    "RequireClientCert": "RequireAndVerifyClientCert",
}
_HEADERS: Final[Mapping[str, tuple[str, ...]]] = {
    # the toolkit's extraHTTPHeaders: the only keys, and the values of the enumerated ones
    "Strict-Transport-Security": (),
    "X-Content-Type-Options": ("nosniff",),
    "X-Frame-Options": ("deny", "sameorigin"),
    "X-XSS-Protection": (),
    "Content-Security-Policy": (),
}


_STRING: Final = yamlv2.Scalar("string", "string")
_SECRET: Final = yamlv2.Scalar("string", "config.plain", secret=True)
_BOOL: Final = yamlv2.Scalar("bool", "bool")
_VERSION: Final = yamlv2.Named("web.TLSVersion", "TLS version", goscalars.TLS_VERSIONS)
_CIPHER: Final = yamlv2.Named("web.Cipher", "cipher", goscalars.CIPHER_SUITES)
_CURVE: Final = yamlv2.Named("web.Curve", "curve", goscalars.CURVES)
_CONFIG: Final = yamlv2.Struct(
    "web.Config",
    {
        "tls_server_config": yamlv2.Struct(
            "web.TLSConfig",
            {
                "cert": _STRING,
                "key": _SECRET,
                "client_ca": _STRING,
                "cert_file": _STRING,
                "key_file": _STRING,
                "client_auth_type": _STRING,
                "client_ca_file": _STRING,
                "cipher_suites": yamlv2.Slice(_CIPHER, "[]web.Cipher"),
                "curve_preferences": yamlv2.Slice(_CURVE, "[]web.Curve"),
                "min_version": _VERSION,
                "max_version": _VERSION,
                "prefer_server_cipher_suites": _BOOL,
                "client_allowed_sans": yamlv2.Slice(_STRING, "[]string"),
            },
        ),
        "http_server_config": yamlv2.Struct(
            "web.HTTPConfig",
            {"http2": _BOOL, "headers": yamlv2.Map(_STRING, "map[string]string")},
        ),
        "rate_limit": yamlv2.Struct(
            "web.RateLimiterConfig",
            {
                "burst": yamlv2.Scalar("int", "int"),
                "interval": yamlv2.Scalar("int", "time.Duration", parse=goscalars.go_duration),
            },
        ),
        "basic_auth_users": yamlv2.Map(_SECRET, "map[string]config.Secret"),
    },
)


def parse_web_config(text: str, directory: str) -> WebConfig:
    """The web configuration in ``text``, with relative paths joined to ``directory``.

    Raises :class:`WebConfigError` in Go's stages: the YAML as yaml.v2's ``UnmarshalStrict``
    decodes it (unknown or repeated keys, wrong types, unknown version, cipher or curve
    names), then the headers, then, when TLS is on, the checks that need no file (cert and
    key given, the client-auth policy) and the settings ``ssl`` cannot honour. Hashes are
    not checked (promtool checks them): a malformed one simply never matches. An empty file
    is plain HTTP.
    """
    defaults = yamlv2.zero(_CONFIG)
    assert isinstance(defaults, dict)  # noqa: S101  # a struct's zero is a dict
    defaults["tls_server_config"].update(  # Go's getConfig starts from these
        min_version="TLS12", max_version="TLS13", prefer_server_cipher_suites=True
    )
    defaults["http_server_config"]["http2"] = True
    decoded, problems = yamlv2.decode(text, _CONFIG, defaults)
    if problems:
        raise WebConfigError(*problems)
    config, problems = _build(decoded, directory)
    problems += [
        f"http_server_config.headers: {problem}"
        for name, value in config.http.headers.items()
        if (problem := _header_problem(name, value))
    ]
    if problems:
        raise WebConfigError(*problems)
    if config.tls.enabled and (problems := _tls_problems(config.tls)):
        raise WebConfigError(*problems)
    return config


def _build(decoded: object, directory: str) -> tuple[WebConfig, list[str]]:
    fields = _as(dict, decoded)
    tls, http = _as(dict, fields["tls_server_config"]), _as(dict, fields["http_server_config"])
    limit, problems = _as(dict, fields["rate_limit"]), []
    lists: dict[str, tuple[str, ...]] = {}
    for key in ("cipher_suites", "curve_preferences"):
        entries = _as(list, tls[key] or [])
        if None in entries:  # yaml.v2 makes ~ id 0, a suite or curve no peer offers
            problems.append(f"tls_server_config.{key}: an entry is null")
        lists[key] = tuple(entry for entry in entries if entry is not None)
    sans, files = tls["client_allowed_sans"], ("cert_file", "key_file", "client_ca_file")
    paths = {key: _join(directory, _as(str, tls[key])) for key in files}
    config = WebConfig(
        tls=TLSServerConfig(
            cert=_as(str, tls["cert"]),
            key=_as(str, tls["key"]),
            client_auth_type=_as(str, tls["client_auth_type"]),
            client_ca=_as(str, tls["client_ca"]),
            # None (absent or null) and [] differ: Go checks the SANs for any non-nil list
            client_allowed_sans=None if sans is None else tuple(_as(list, sans)),
            # null is Go's zero, which crypto/tls reads as its default (1.2 up to 1.3)
            min_version=_as(str, tls["min_version"] or "TLS12"),
            max_version=_as(str, tls["max_version"] or "TLS13"),
            cipher_suites=lists["cipher_suites"],
            prefer_server_cipher_suites=tls["prefer_server_cipher_suites"] is True,
            curve_preferences=lists["curve_preferences"],
            **paths,
        ),
        http=HTTPServerConfig(http2=http["http2"] is True, headers=_mapping(http["headers"])),
        users=_mapping(fields["basic_auth_users"]),
        # a negative interval makes Go's rate.Every infinite: no limit, as 0 means
        rate_limit=RateLimit(
            interval=max(_as(int, limit["interval"]), 0) / 1e9, burst=_as(int, limit["burst"])
        ),
    )
    return config, problems


def _header_problem(name: str, value: str) -> str | None:
    allowed, quote = _HEADERS.get(name), goscalars.go_quote
    if allowed is None:
        return f"HTTP header {quote(name)} can not be configured"
    if allowed and value not in allowed:
        expected = " ".join(map(quote, allowed))
        return f"invalid value for {name}. Expected one of: [{expected}], but got: {quote(value)}"
    return None


def _tls_problems(tls: TLSServerConfig) -> list[str]:
    problems = []
    if not tls.cert_file and not tls.cert:
        problems.append("missing one of cert or cert_file")
    if not tls.key_file and not tls.key:
        problems.append("missing one of key or key_file")
    auth = tls.client_auth_type
    if auth in _UNVERIFIED:
        problems.append(
            f"client_auth_type {auth} is not supported: Python's ssl module cannot ask for a "
            f"client certificate without verifying it; use {_UNVERIFIED[auth]} with "
            "client_ca_file (the CA of the client certificates, or a self-signed one itself)"
        )
    elif auth not in CLIENT_AUTH_TYPES:
        problems.append(f"invalid ClientAuth: {auth}")
    elif (tls.client_ca_file or tls.client_ca) and auth in ("", "NoClientCert"):
        problems.append("client CA's have been configured without a Client Auth Policy")
    if len(tls.curve_preferences) > 1:
        problems.append(
            f"curve_preferences lists {len(tls.curve_preferences)} curves but Python's ssl "
            "module (before 3.15) can offer only one: keep one, or remove the key for "
            "OpenSSL's defaults"
        )
    return [f"tls_server_config: {problem}" for problem in problems]


def _join(directory: str, path: str) -> str:
    # config_util.JoinDir: empty and absolute paths stay, relative ones join the file's dir
    if not path or os.path.isabs(path):
        return path
    return os.path.normpath(os.path.join(directory, path))


def _as(kind: type[_T], value: object) -> _T:
    assert isinstance(value, kind)  # noqa: S101  # yamlv2 gives each Go type one Python type
    return value


def _mapping(value: object) -> Mapping[str, str]:
    # read-only, and the same object while the file is unchanged: callers cache by identity
    return MappingProxyType({_as(str, k): _as(str, v) for k, v in _as(dict, value or {}).items()})
