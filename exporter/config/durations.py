"""Go/Prometheus duration strings (``500ms``, ``30s``, ``1h30m``) to seconds."""

from __future__ import annotations

import re
from typing import Final

__all__ = ["parse_duration"]

_UNITS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_TERM: Final = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")


def parse_duration(text: str) -> float:
    """Seconds in ``text``; raises ValueError naming the accepted form.

    Units may repeat in any order as Go allows (``1h30m``, ``90s``); a bare ``0`` is zero.
    """
    if text == "0":
        return 0.0
    pos, total = 0, 0.0
    for match in _TERM.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(f"invalid duration {text!r}: use forms like 500ms, 30s, 5m, 1h30m")
    return total
