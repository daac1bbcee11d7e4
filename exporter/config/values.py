"""Parsers of flag values: text in, a typed value out, or ValueError saying what is accepted.

Each :class:`Parser` carries the ``kind`` that ``--help`` and the README show beside its flag,
so a flag's declared type and the function that parses it are one object and cannot disagree.
Values are parsed here once; the rest of the program receives typed values (a
:class:`ListenAddress`, seconds as floats, a URL without its trailing slash) and never parses
them again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

import httpx

from exporter.config.durations import parse_duration

__all__ = [
    "BOOLEAN",
    "DURATION",
    "LISTEN_ADDRESS",
    "NONEMPTY",
    "PATH",
    "POSITIVE_DURATION",
    "TELEMETRY_PATH",
    "TEXT",
    "URL",
    "ListenAddress",
    "Parser",
    "choice",
    "integer",
    "min_duration",
    "parse_bool",
]

_T = TypeVar("_T", covariant=True)
_TRUE: Final = frozenset({"true", "1", "yes", "on"})
_FALSE: Final = frozenset({"false", "0", "no", "off"})


@dataclass(frozen=True, slots=True)
class Parser(Generic[_T]):
    """A flag's type: its name in ``--help`` and the function from text to value."""

    kind: str
    parse: Callable[[str], _T]
    choices: tuple[str, ...] = ()
    low: int | None = None
    high: int | None = None


@dataclass(frozen=True, slots=True)
class ListenAddress:
    """Where to serve: ``host`` '' means every IPv4 and IPv6 address."""

    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> ListenAddress:
        """``host:port``, ``:port`` or ``[v6]:port``; ValueError naming the accepted forms."""
        host, sep, port_text = text.rpartition(":")
        if not sep:
            raise ValueError(f"{text!r} is not host:port, :port or [host]:port")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        elif ":" in host:
            raise ValueError(f"{text!r}: put an IPv6 host in brackets, as in [::1]:9877")
        if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
            raise ValueError(f"{text!r}: port must be a number from 0 to 65535")
        return cls(host, int(port_text))

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_bool(text: str) -> bool:
    """``true/1/yes/on`` or ``false/0/no/off``, any case, surrounding space ignored."""
    word = text.strip().lower()
    if word not in _TRUE | _FALSE:
        raise ValueError(f"{text!r} is not a boolean (true or false)")
    return word in _TRUE


def _nonempty(text: str) -> str:
    if not text:
        raise ValueError("must not be empty")
    return text


def _positive_duration(text: str) -> float:
    seconds = parse_duration(text)
    if seconds <= 0:
        raise ValueError("must be longer than zero")
    return seconds


def min_duration(floor: float, why: str) -> Parser[float]:
    """A duration of at least ``floor`` seconds; the error says ``why``."""

    def parse(text: str) -> float:
        seconds = parse_duration(text)
        if seconds < floor:
            raise ValueError(why)
        return seconds

    return Parser("duration", parse)


def integer(low: int | None = None, high: int | None = None) -> Parser[int]:
    """A whole number within ``[low, high]`` (either bound may be open)."""

    def parse(text: str) -> int:
        value = int(text)
        if low is not None and value < low:
            raise ValueError(f"{value} is below the minimum {low}")
        if high is not None and value > high:
            raise ValueError(f"{value} is above the maximum {high}")
        return value

    return Parser("int", parse, low=low, high=high)


def choice(*options: str) -> Parser[str]:
    """One of ``options``, exactly as spelled."""

    def parse(text: str) -> str:
        if text not in options:
            raise ValueError(f"{text!r} is not one of {', '.join(options)}")
        return text

    return Parser("choice", parse, choices=options)


def _telemetry_path(text: str) -> str:
    if not text.startswith("/") or text in ("/", "/healthz", "/readyz"):
        raise ValueError(f"{text!r} must start with / and not be /, /healthz or /readyz")
    return text


def _url(text: str) -> str:
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as exc:
        raise ValueError(f"{text!r} is not a URL: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"{text!r} must be an http:// or https:// URL with a host")
    return text.rstrip("/")


def _duration(text: str) -> float:
    return parse_duration(text)


TEXT: Final = Parser("str", str)
NONEMPTY: Final = Parser("str", _nonempty)
PATH: Final = Parser("path", str)
BOOLEAN: Final = Parser("bool", parse_bool)
POSITIVE_DURATION: Final = Parser("duration", _positive_duration)
DURATION: Final = Parser("duration", _duration)
"""A duration that may be zero (``0`` switches the feature it sets off)."""
URL: Final = Parser("url", _url)
"""An http(s) URL with a host, returned without its trailing slash."""
LISTEN_ADDRESS: Final = Parser("address", ListenAddress.parse)
TELEMETRY_PATH: Final = Parser("str", _telemetry_path)
