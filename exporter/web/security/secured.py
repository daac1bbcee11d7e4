"""The web configuration applied to one process: validated at start, then served.

:func:`validate_web_config` is what a start and ``--config.check`` run: the file parsed and,
when TLS is on, its certificate, key and client CA loaded as a handshake would load them, so
a file that cannot serve fails at start (exit 2) rather than at the first scrape.
:func:`secure` wraps the ASGI app for every request (rate limit, headers, basic auth, from the
file as it is now) and, when the file turned TLS on at start, gives uvicorn a context that
rebuilds itself from the file for every new connection. As in Go, whether TLS is on is
decided at start; the rate limiter too.
"""

from __future__ import annotations

from dataclasses import dataclass

from structlog.typing import FilteringBoundLogger

from exporter.web.security.auth import BasicAuth, RateLimiter
from exporter.web.security.middleware import SecuredApp
from exporter.web.security.schema import WebConfig
from exporter.web.security.source import WebConfigSource, load_web_config
from exporter.web.security.tls import ReloadingContext, build_server_context, uvicorn_ssl_factory
from exporter.web.server import ASGIApp, SSLFactory

__all__ = ["Secured", "secure", "validate_web_config"]


@dataclass(frozen=True, slots=True)
class Secured:
    """What to serve: the wrapped app, and the TLS factory when TLS is on."""

    app: ASGIApp
    ssl_factory: SSLFactory | None


def validate_web_config(path: str) -> tuple[WebConfig, tuple[str, ...]]:
    """The file at ``path``, checked as a start would; and warnings about what it allows.

    Raises :class:`~exporter.web.security.schema.WebConfigError` naming every problem.
    """
    config = load_web_config(path)
    if config.tls.enabled:
        build_server_context(config.tls)  # its doubts are logged when serving builds it again
        return config, ()
    if config.users:
        return config, ("basic_auth_users without TLS: passwords cross the network in clear text",)
    return config, ()


def secure(app: ASGIApp, path: str, log: FilteringBoundLogger) -> Secured:
    """``app`` behind the web configuration at ``path`` (validated at start already)."""
    source = WebConfigSource(path, log)
    config = source.current()
    rate = config.rate_limit
    limiter = RateLimiter(rate.interval, rate.burst) if rate.interval > 0 else None
    ssl_factory = None
    if config.tls.enabled:
        reloading = ReloadingContext(lambda: source.current().tls, log)
        ssl_factory = uvicorn_ssl_factory(reloading)
    return Secured(SecuredApp(app, source.current, limiter, BasicAuth(), log), ssl_factory)
