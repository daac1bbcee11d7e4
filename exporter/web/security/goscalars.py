"""Go's readings of scalar text, as the toolkit's web config gets them.

yaml.v2 types a plain scalar by its text (``resolve``), numbers follow ``strconv``, a
``time.Duration`` takes ``time.ParseDuration``'s syntax, and Go's messages quote names with
``%q``. Each differs from Python's own reading in ways a promtool-accepted file can hit
(``y`` is a bool, ``010`` is octal, ``1.5h`` is a duration but ``1d`` is not), so they are
replayed here, apart from the decoder that uses them (``yamlv2``). So are the names Go's
``crypto/tls`` gives versions, cipher suites and curves, which the toolkit looks strings up in.
"""

from __future__ import annotations

import math
import re
from typing import Final

__all__ = [
    "CIPHER_SUITES",
    "CURVES",
    "TLS_VERSIONS",
    "TagMismatch",
    "as_int64",
    "go_duration",
    "go_quote",
    "resolve",
    "short_tag",
]

TLS_VERSIONS: Final = frozenset({"TLS10", "TLS11", "TLS12", "TLS13"})
CIPHER_SUITES: Final = frozenset(
    # Go 1.19's tls.CipherSuites(), the names promtool 2.42 accepts; the list changes with
    # Go's version, so it is pinned here rather than taken from OpenSSL
    {
        "TLS_RSA_WITH_AES_128_CBC_SHA",
        "TLS_RSA_WITH_AES_256_CBC_SHA",
        "TLS_RSA_WITH_AES_128_GCM_SHA256",
        "TLS_RSA_WITH_AES_256_GCM_SHA384",
        "TLS_AES_128_GCM_SHA256",
        "TLS_AES_256_GCM_SHA384",
        "TLS_CHACHA20_POLY1305_SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    }
)
CURVES: Final = frozenset({"CurveP256", "CurveP384", "CurveP521", "X25519"})
_LONG: Final = "tag:yaml.org,2002:"
_INT64: Final = 2**63
_WORDS: Final[dict[str, bool | float | None]] = {
    **dict.fromkeys(("y", "Y", "yes", "Yes", "YES", "on", "On", "ON"), True),
    **dict.fromkeys(("true", "True", "TRUE"), True),
    **dict.fromkeys(("n", "N", "no", "No", "NO", "off", "Off", "OFF"), False),
    **dict.fromkeys(("false", "False", "FALSE"), False),
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), None),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
}
"""yaml.v2's resolve table (YAML 1.1's words, not PyYAML's: ``y`` and ``n`` included)."""
_RESOLVABLE: Final = ("", "!!str", "!!bool", "!!int", "!!float", "!!null", "!!timestamp")
_FLOAT: Final = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ][0-9:.]+(Z|[-+][0-9:]+)?)?")
_ESCAPES: Final = {"\a": "a", "\b": "b", "\f": "f", "\n": "n", "\r": "r", "\t": "t", "\v": "v"}
_UNITS: Final = {
    "ns": 1,
    "us": 10**3,
    "µs": 10**3,  # U+00B5 micro sign
    "μs": 10**3,  # U+03BC Greek mu
    "ms": 10**6,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
}
_TERM: Final = re.compile(r"([0-9]*)(?:\.([0-9]*))?([^0-9.]*)")


class TagMismatch(Exception):
    """An explicit tag the text does not fit (``!!int abc``): yaml.v2 stops there."""

    def __init__(self, found: str, tag: str) -> None:
        super().__init__(found, tag)
        self.found, self.tag = found, tag


def short_tag(tag: str) -> str:
    """``tag:yaml.org,2002:str`` as ``!!str``; other tags as they are."""
    return "!!" + tag[len(_LONG) :] if tag.startswith(_LONG) else tag


def resolve(tag: str, text: str) -> tuple[str, object]:
    """yaml.v2's ``resolve``: a scalar's short tag and value (None, bool, int, float, or the
    text itself) from its explicit tag (``""`` if none) and text; raises TagMismatch."""
    tag = short_tag(tag)
    if tag not in _RESOLVABLE:
        return tag, text
    found: tuple[str, object] = ("!!str", text)
    if tag != "!!str" and (text == "" or text[0] in "+-.0123456789yYnNtTfFoO~"):
        if text in _WORDS:
            word = _WORDS[text]
            kind = "!!null" if word is None else "!!bool" if isinstance(word, bool) else "!!float"
            found = (kind, word)
        elif text[0] == "." and (number := _float(text)) is not None:
            found = ("!!float", number)
        elif text[0] in "+-0123456789":
            found = _number(text, timestamp=tag in ("", "!!timestamp"))
    if tag in ("", found[0], "!!str"):
        return found
    if tag == "!!float" and found[0] == "!!int":
        return "!!float", float(found[1])  # type: ignore[arg-type]  # an int, as its tag says
    raise TagMismatch(found[0], tag)


def as_int64(resolved: object) -> int | None:
    """A resolved value as yaml.v2 stores it in an int64 field, or None if it does not fit.

    Floats are truncated (``1.9`` → 1) and -Inf becomes MinInt64, as Go on amd64 does.
    """
    if isinstance(resolved, bool):
        return None
    if isinstance(resolved, int):
        return resolved if -_INT64 <= resolved < _INT64 else None
    if isinstance(resolved, float) and not math.isnan(resolved) and resolved < _INT64:
        return -_INT64 if resolved < -_INT64 else int(resolved)
    return None


def go_duration(text: str) -> int | None:
    """Go's ``time.ParseDuration`` in nanoseconds (``1h30m``, ``1.5s``, ``-2ms``), or None.

    Units are ns, us (µs, μs), ms, s, m and h; every number needs one (a bare ``0`` aside),
    so ``10`` and ``1d`` are refused, as in Go.
    """
    negative, rest = text[:1] == "-", text[1:] if text[:1] in "+-" else text
    if rest == "0":
        return 0
    total, pos = 0, 0
    while pos < len(rest):
        match = _TERM.match(rest, pos)
        assert match is not None  # noqa: S101  # every part of the pattern may be empty
        whole, fraction, unit = match.group(1), match.group(2) or "", match.group(3)
        if not (whole or fraction) or unit not in _UNITS or len(whole.lstrip("0")) > 19:
            return None
        scale = _UNITS[unit]
        value = int(whole or "0") * scale
        digits, divisor = 0, 1.0
        for char in fraction:  # Go's leadingFraction: digits past int64 are dropped
            if digits > (_INT64 - 1) // 10 or digits * 10 + int(char) > _INT64:
                break
            digits, divisor = digits * 10 + int(char), divisor * 10
        total += value + int(digits * (scale / divisor))
        if value > _INT64 or total > _INT64:
            return None
        pos = match.end()
    if not rest or (total == _INT64 and not negative):
        return None
    return -total if negative else total


def go_quote(text: str) -> str:
    """Go's ``%q``: the quoted form Go's messages give names and values."""
    out = ['"']
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif char.isprintable():
            out.append(char)
        elif char in _ESCAPES:
            out.append("\\" + _ESCAPES[char])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        else:
            out.append(f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return "".join(out) + '"'


def _number(text: str, *, timestamp: bool) -> tuple[str, object]:
    if timestamp and _DATE.fullmatch(text):
        return "!!timestamp", text
    plain = text.replace("_", "")
    integer = _go_int(plain)
    if integer is not None:
        return "!!int", integer
    if _FLOAT.fullmatch(plain) and (number := _float(plain)) is not None:
        return "!!float", number
    return "!!str", text


def _go_int(text: str) -> int | None:
    """``strconv.ParseInt(text, 0, 64)``, else ``ParseUint``: 0x/0o/0b, leading 0 octal."""
    body = text[1:] if text[:1] in "+-" else text
    base, digits = {"0x": 16, "0o": 8, "0b": 2}.get(body[:2].lower()), body[2:]
    if base is None:
        octal = len(body) > 1 and body[0] == "0"
        base, digits = (8, body[1:]) if octal else (10, body)
    if not (digits.isascii() and digits.isalnum()) or len(digits.lstrip("0")) > 64:
        return None
    try:
        value = int(digits, base)
    except ValueError:
        return None
    if text[:1] == "-":
        return -value if value <= _INT64 else None
    # above int64 only ParseUint takes it, and ParseUint takes no sign
    return value if value < _INT64 or (value < 2 * _INT64 and text[:1] != "+") else None


def _float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return None if math.isinf(value) else value  # Go: out of range is an error, not ±Inf
