"""RFC 3339 timestamps → integer nanoseconds since the epoch, exactly.

LiveKit's protobuf JSON sends UTC with ``Z`` and 0 to 9 fraction digits; RFC 3339 also allows
``z``, a ``t`` or space separator, an offset, and any number of fraction digits, and all of
those are read too. Nanoseconds are integers, so no precision is lost to floats before the
exposition divides by :data:`NS`.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, date, datetime, timedelta
from typing import Final

__all__ = ["NS", "parse_timestamp_ns"]

NS: Final = 1_000_000_000
"""Nanoseconds in a second."""
_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
_RFC3339: Final = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}"
    r"(?:\.([0-9]+))?(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))"
)
"""RFC 3339 ``date-time`` (and the space separator RFC 3339 allows); fixed positions up to
the seconds, then an optional fraction of any length and ``Z`` or an offset."""
_UTC_FORM: Final = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?Z"
).fullmatch
"""The form LiveKit sends: UTC with ``T`` and ``Z`` and 0-9 fraction digits. A subset of
:data:`_RFC3339` that ``datetime.fromisoformat`` (lax about everything else) reads exactly."""
_UNIX_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)
_MICROS_END: Final = len("2027-01-15T08:00:00.123456")
_NS_PER_DIGIT: Final = (0, 100, 10, 1)
"""Nanoseconds per unit of the 7th to 9th fraction digits, by how many of them there are."""


def parse_timestamp_ns(text: str) -> int:
    """An RFC 3339 timestamp as integer nanoseconds since the epoch, exactly.

    Fractions beyond nanoseconds are truncated; a leap second (``:60``) is taken as the next
    second's start, as the Unix clock does. Raises ValueError if ``text`` is not RFC 3339.
    """
    if _UTC_FORM(text) is not None:  # LiveKit's own form: read in C, twice as fast as below
        try:
            micros = (datetime.fromisoformat(text) - _UNIX_EPOCH) // _MICROSECOND
        except ValueError:  # a leap second, or a day that does not exist: as below
            pass
        else:
            # fromisoformat reads (and truncates to) 6 fraction digits; add the 7th to 9th
            extra = len(text) - _MICROS_END - 1
            sub_micro = int(text[_MICROS_END:-1]) * _NS_PER_DIGIT[extra] if extra > 0 else 0
            return micros * 1000 + sub_micro
    return _parse_rfc3339_ns(text)


def _parse_rfc3339_ns(text: str) -> int:
    """Any RFC 3339 date-time, exactly (:func:`parse_timestamp_ns` without its fast path)."""
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise ValueError("not an RFC 3339 timestamp")
    hours, minutes, seconds = int(text[11:13]), int(text[14:16]), int(text[17:19])
    if hours > 23 or minutes > 59 or seconds > 60:
        raise ValueError("no such time of day")
    total = _epoch_day(text[:10]) * 86400 + hours * 3600 + minutes * 60 + seconds
    fraction, zulu, sign, off_h, off_m = match.groups()
    if zulu is None:
        offset_hours, offset_minutes = int(off_h), int(off_m)
        if offset_hours > 23 or offset_minutes > 59:
            raise ValueError("no such UTC offset")
        offset = offset_hours * 3600 + offset_minutes * 60
        total += -offset if sign == "+" else offset
    return total * NS + (int(fraction[:9].ljust(9, "0")) if fraction else 0)


@functools.lru_cache(maxsize=1024)
def _epoch_day(text: str) -> int:
    """Days since 1970-01-01 of a ``YYYY-MM-DD`` the pattern has matched (a session list
    spans a few days, so this is nearly always a cache hit)."""
    try:
        return date(int(text[:4]), int(text[5:7]), int(text[8:10])).toordinal() - _EPOCH_ORDINAL
    except ValueError:
        raise ValueError("no such date") from None
