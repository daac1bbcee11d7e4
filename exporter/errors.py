"""The exporter's exceptions, drawn once.

::

    ExporterError
    ├── ConfigError            all problems listed; exit 2
    └── SourceError(reason)    one poll of one target failed → source_up 0, one log line
        ├── AuthError          401/403
        ├── RateLimitedError   429 (retry_after)
        ├── UpstreamError      timeout, connection, tls, dns, proxy, 5xx, other 4xx
        └── PayloadError(path) undecodable body or wrong shape, naming where

Only the poller and the CLI catch these. Messages never carry secrets or upstream bodies:
upstream error bodies may echo the API key (Livepeer's 401 does).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Literal, get_args

__all__ = [
    "REASONS",
    "AuthError",
    "ConfigError",
    "ExporterError",
    "PayloadError",
    "RateLimitedError",
    "Reason",
    "SourceError",
    "UpstreamError",
]

Reason = Literal[
    "auth",
    "rate_limited",
    "timeout",
    "connection",
    "tls",
    "dns",
    "proxy",
    "server_error",
    "client_error",
    "invalid_response",
    "internal",
]
REASONS: Final[tuple[Reason, ...]] = get_args(Reason)
"""Every value of the ``reason`` label of ``poll_errors_total``, in the README's order."""


class ExporterError(Exception):
    """Base of every error the exporter raises on purpose."""


class ConfigError(ExporterError):
    """The configuration is invalid; carries every problem so the user fixes them in one go."""

    def __init__(self, problems: Sequence[str], *, files: Sequence[str] = ()) -> None:
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)
        self.files = tuple(files)
        """The files the refused configuration names (a secret not mounted yet, say), so a
        watcher sees them arrive."""


class SourceError(ExporterError):
    """One poll of one target failed; ``reason`` is the ``poll_errors_total`` label."""

    reason: Reason = "internal"

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        """Seconds the upstream asked us to wait before the next request, if it said."""


class AuthError(SourceError):
    """401 or 403: bad credentials, an expired token, or a plan without API access."""

    reason: Reason = "auth"


class RateLimitedError(SourceError):
    """429: over the upstream quota; ``retry_after`` is honoured by the poller."""

    reason: Reason = "rate_limited"


class UpstreamError(SourceError):
    """The upstream did not answer usefully: a timeout, a connection, TLS, DNS or proxy
    failure (told apart, since each has its own fix), a 5xx or another 4xx."""

    def __init__(
        self,
        message: str,
        *,
        reason: Reason,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, retry_after=retry_after)
        self.reason = reason


class PayloadError(SourceError):
    """A body that is not JSON or not the expected shape; ``path`` names where it broke."""

    reason: Reason = "invalid_response"

    def __init__(self, message: str, *, path: str = "$") -> None:
        super().__init__(f"{message} at {path}")
        self.path = path
