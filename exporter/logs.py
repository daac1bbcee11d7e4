"""structlog set-up: JSON lines or console, ISO UTC timestamps, snake_case events, to stderr.

Secrets must never reach a log call in the first place; the redaction processor here is a
second line of defence that masks known secret values and drops credential-shaped keys.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, Final, TextIO
from urllib.parse import quote, quote_plus

import structlog

__all__ = ["Redactor", "configure_logging", "get_logger"]

_LEVELS: Final = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
_SENSITIVE_KEYS: Final = frozenset(
    {"authorization", "api_key", "api_secret", "secret", "token", "password", "parent_stream"}
)
MASK: Final = "[REDACTED]"
MIN_MASKED_LENGTH: Final = 8
"""Shorter values are not masked: real keys are far longer, and masking "k" would garble logs."""


class Redactor:
    """A structlog processor that masks registered secret values anywhere in an event."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: list[str] = []
        """Longest first: a form that contains another is masked whole."""
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str) -> None:
        """Register a secret learnt at run time (the credentials ``--demo`` generates).

        Its escaped and URL-encoded forms too: an exception's text shows a value through
        ``repr`` (``\\n`` for a newline) and a URL shows it percent-encoded.
        """
        if len(secret) < MIN_MASKED_LENGTH:
            return
        forms = {
            secret,
            repr(secret)[1:-1],
            secret.encode("unicode_escape").decode("ascii"),
            quote(secret, safe=""),
            quote_plus(secret, safe=""),
        }
        known = set(self._secrets) | forms
        self._secrets = sorted(known, key=len, reverse=True)

    def text(self, value: str) -> str:
        """``value`` with every registered secret masked."""
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return value

    def _mask(self, value: object) -> object:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {key: self._mask(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self._mask(item) for item in value]
        return value

    def __call__(
        self, logger: object, method: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key in list(event):
            if key.lower() in _SENSITIVE_KEYS:
                event[key] = MASK
            else:
                event[key] = self._mask(event[key])
        return event


def configure_logging(
    level: str, fmt: str, redactor: Redactor, stream: TextIO | None = None
) -> None:
    """Configure structlog once at start-up; ``fmt`` is ``json``, ``console`` or ``auto``."""
    out = stream if stream is not None else sys.stderr
    if fmt == "auto":
        fmt = "console" if out.isatty() else "json"
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=out.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redactor,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level]),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )


def get_logger(**context: object) -> structlog.typing.FilteringBoundLogger:
    """A bound logger; the module-level proxy resolves the configuration at call time."""
    logger: structlog.typing.FilteringBoundLogger = structlog.get_logger().bind(**context)
    return logger
