"""RFC 3339 timestamps to exact integer nanoseconds: every form, the fast path, rejections."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exporter.sources.livekit.timestamps import _parse_rfc3339_ns, parse_timestamp_ns

NS = 1_000_000_000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2027-01-15T08:00:00Z", 1_800_000_000 * NS),
        ("2027-01-15T08:00:00z", 1_800_000_000 * NS),
        ("2027-01-15t08:00:00Z", 1_800_000_000 * NS),
        ("2027-01-15T08:00:00.1Z", 1_800_000_000 * NS + 100_000_000),
        ("2027-01-15T08:00:00.000000001Z", 1_800_000_000 * NS + 1),
        ("2027-01-15T08:00:00.999999999Z", 1_800_000_000 * NS + 999_999_999),
        ("2027-01-15T08:00:00.1234567891Z", 1_800_000_000 * NS + 123_456_789),
        ("2027-01-15T09:30:00+01:30", 1_800_000_000 * NS),
        ("2027-01-15T05:00:00.5-03:00", 1_800_000_000 * NS + 500_000_000),
        ("2016-12-31T23:59:60Z", 1_483_228_800 * NS),
        ("1970-01-01T00:00:00Z", 0),
    ],
)
def test_timestamps_parse_exactly(text: str, expected: int) -> None:
    """RFC 3339 with Z or an offset and 0-9 fractional digits gives exact nanoseconds."""
    assert parse_timestamp_ns(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2027-01-15",
        "2027-01-15T08:00:00",
        "2027-01-15T08:00Z",
        "2027-01-15T08:00:00.Z",
        "2027-13-01T00:00:00Z",
        "2027-01-15T24:00:00Z",
        "2027-01-15T08:00:00+25:00",
        "\uff12\uff10\uff12\uff17-01-15T08:00:00Z",  # full-width digits
        " 2027-01-15T08:00:00Z",
    ],
)
def test_non_rfc3339_timestamps_are_rejected(text: str) -> None:
    """Anything that is not an RFC 3339 date-time raises ValueError."""
    with pytest.raises(ValueError, match=r"no such|not an RFC 3339"):
        parse_timestamp_ns(text)


@given(st.datetimes(timezones=st.just(UTC)), st.integers(0, 999), st.integers(0, 9))
def test_timestamps_round_trip(when: datetime, extra_ns: int, digits: int) -> None:
    """Any UTC instant, printed with 0-9 fraction digits, parses back to that instant."""
    micro_ns = when.microsecond * 1000 + extra_ns
    fraction = f"{micro_ns:09d}"[:digits]
    stamp = f"{when.year:04d}-{when:%m-%dT%H:%M:%S}"
    text = stamp + (f".{fraction}" if digits else "") + "Z"
    whole = int((when.replace(microsecond=0) - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds())
    assert parse_timestamp_ns(text) == whole * NS + int(fraction.ljust(9, "0"))


_STAMP_CHARS = "0123456789-:.TtZz +"


@given(
    st.datetimes(),
    st.text(alphabet="0123456789", max_size=11),
    st.sampled_from(["Z", "z", "+01:30", ""]),
    st.text(alphabet=_STAMP_CHARS, max_size=2),
    st.integers(0, 32),
)
def test_the_fast_timestamp_path_agrees_with_the_exact_parser(
    when: datetime, fraction: str, zone: str, junk: str, where: int
) -> None:
    """Timestamps in LiveKit's own form (read by fromisoformat) and near misses give the
    same nanoseconds, or the same error, as the exact RFC 3339 parser."""
    stamp = f"{when.year:04d}-{when:%m-%dT%H:%M:%S}" + (f".{fraction}" if fraction else "")
    for text in (stamp + zone, (stamp + zone)[:where] + junk + (stamp + zone)[where:]):
        try:
            expected: int | str = _parse_rfc3339_ns(text)
        except ValueError as exc:
            expected = str(exc)
        try:
            got: int | str = parse_timestamp_ns(text)
        except ValueError as exc:
            got = str(exc)
        assert got == expected
