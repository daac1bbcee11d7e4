"""goscalars: yaml.v2's resolve table, strconv's integers, time.ParseDuration and Go's %q."""

from __future__ import annotations

import math

import pytest

from exporter.web.security.goscalars import (
    TagMismatch,
    as_int64,
    go_duration,
    go_quote,
    resolve,
    short_tag,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("y", ("!!bool", True)),
        ("ON", ("!!bool", True)),
        ("n", ("!!bool", False)),
        ("Off", ("!!bool", False)),
        ("oFF", ("!!str", "oFF")),
        ("", ("!!null", None)),
        ("~", ("!!null", None)),
        ("Null", ("!!null", None)),
        ("nULL", ("!!str", "nULL")),
        ("0x1F", ("!!int", 31)),
        ("0o17", ("!!int", 15)),
        ("017", ("!!int", 15)),
        ("-0b11", ("!!int", -3)),
        ("+5", ("!!int", 5)),
        ("1_000", ("!!int", 1000)),
        ("18446744073709551615", ("!!int", 2**64 - 1)),  # ParseUint's range
        ("18446744073709551616", ("!!float", 2.0**64)),
        ("+9223372036854775808", ("!!float", 2.0**63)),  # ParseUint takes no sign
        ("09", ("!!float", 9.0)),
        ("1.5", ("!!float", 1.5)),
        (".5", ("!!float", 0.5)),
        (".", ("!!str", ".")),
        ("-.inf", ("!!float", -math.inf)),
        ("1e400", ("!!str", "1e400")),  # out of float64's range: not a number to Go
        ("1:30", ("!!str", "1:30")),  # YAML 1.1's sexagesimal: PyYAML's, not yaml.v2's
        ("2001-02-03", ("!!timestamp", "2001-02-03")),
        ("2001-2-3T04:05:06Z", ("!!timestamp", "2001-2-3T04:05:06Z")),
        ("<<", ("!!str", "<<")),
        ("yes please", ("!!str", "yes please")),
    ],
)
def test_plain_scalars_resolve_as_yaml_v2_resolves_them(
    text: str, expected: tuple[str, object]
) -> None:
    """The type yaml.v2 gives an untagged plain scalar, by its text alone."""
    assert resolve("", text) == expected


def test_explicit_tags_resolve_or_mismatch() -> None:
    """``!!str`` takes anything, ``!!float`` takes ints, other tags must fit."""
    assert resolve("tag:yaml.org,2002:str", "yes") == ("!!str", "yes")
    assert resolve("tag:yaml.org,2002:bool", "y") == ("!!bool", True)
    assert resolve("tag:yaml.org,2002:float", "3") == ("!!float", 3.0)
    assert resolve("!local", "3") == ("!local", "3")
    assert resolve("tag:yaml.org,2002:binary", "aGk=") == ("!!binary", "aGk=")
    with pytest.raises(TagMismatch) as caught:
        resolve("tag:yaml.org,2002:int", "y")
    assert (caught.value.found, caught.value.tag) == ("!!bool", "!!int")
    assert short_tag("tag:yaml.org,2002:seq") == "!!seq"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5, 5),
        (2**63, None),
        (-(2**63), -(2**63)),
        (1.9, 1),
        (-math.inf, -(2**63)),
        (True, None),
        (math.nan, None),
        (math.inf, None),
        ("5", None),
        (None, None),
    ],
)
def test_as_int64_stores_what_an_int64_field_takes(value: object, expected: int | None) -> None:
    """Ints in range, floats truncated; bools, strings, NaN and +Inf do not fit."""
    assert as_int64(value) == expected


@pytest.mark.parametrize(
    ("text", "nanoseconds"),
    [
        # from Go's time package tests (parseDurationTests)
        ("0", 0),
        ("5s", 5 * 10**9),
        ("30s", 30 * 10**9),
        ("1478s", 1478 * 10**9),
        ("-5s", -5 * 10**9),
        ("+5s", 5 * 10**9),
        ("-0", 0),
        ("+0", 0),
        ("5.0s", 5 * 10**9),
        ("5.6s", 5 * 10**9 + 600 * 10**6),
        ("5.s", 5 * 10**9),
        (".5s", 500 * 10**6),
        ("1.0s", 10**9),
        ("1.00s", 10**9),
        ("1.004s", 10**9 + 4 * 10**6),
        ("1.0040s", 10**9 + 4 * 10**6),
        ("100.00100s", 100 * 10**9 + 1 * 10**6),
        ("10ns", 10),
        ("11us", 11 * 10**3),
        ("12µs", 12 * 10**3),
        ("12μs", 12 * 10**3),
        ("13ms", 13 * 10**6),
        ("14s", 14 * 10**9),
        ("15m", 15 * 60 * 10**9),
        ("16h", 16 * 3600 * 10**9),
        ("3h30m", (3 * 3600 + 30 * 60) * 10**9),
        ("10.5s4m", 4 * 60 * 10**9 + 10 * 10**9 + 500 * 10**6),
        ("-2m3.4s", -(2 * 60 * 10**9 + 3 * 10**9 + 400 * 10**6)),
        ("1h2m3s4ms5us6ns", 3600 * 10**9 + 2 * 60 * 10**9 + 3 * 10**9 + 4 * 10**6 + 5006),
        ("39h9m14.425s", 39 * 3600 * 10**9 + 9 * 60 * 10**9 + 14 * 10**9 + 425 * 10**6),
        ("52763797000ns", 52763797000),
        ("0.3333333333333333333h", 20 * 60 * 10**9),
        ("9007199254740993ns", (1 << 53) + 1),
        ("9223372036854775807ns", 2**63 - 1),
        ("9223372036854775.807us", 2**63 - 1),
        ("-9223372036854775808ns", -(2**63)),
        ("0.100000000000000000000h", 6 * 60 * 10**9),
        ("0.830103483285477580700h", 49 * 60 * 10**9 + 48 * 10**9 + 372539827),
    ],
)
def test_durations_parse_as_go_parses_them(text: str, nanoseconds: int) -> None:
    """time.ParseDuration's accepted forms, with its rounding of long fractions."""
    assert go_duration(text) == nanoseconds


@pytest.mark.parametrize(
    "text",
    ["", "3", "-", "s", ".", "-.", ".s", "+.s", "1d", "1 s", "1.5", "3000000h",
     "9223372036854775808ns", "9223372036854775.808us", "-9223372036854775809ns"],
)  # fmt: skip
def test_durations_go_refuses_are_refused(text: str) -> None:
    """No unit, an unknown unit (``d``), no digits, or beyond int64 nanoseconds."""
    assert go_duration(text) is None


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("deny", '"deny"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ("tab\tnew\nline", '"tab\\tnew\\nline"'),
        ("\x00\x1b\x7f", '"\\x00\\x1b\\x7f"'),
        ("\u0085\u00a0", '"\\u0085\\u00a0"'),
        ("日本 ✓", '"日本 ✓"'),
        ("\U000e0001", '"\\U000e0001"'),
    ],
)
def test_go_quote_is_percent_q(text: str, quoted: str) -> None:
    """strconv.Quote: printable runes kept, escapes for quotes, backslashes and controls."""
    assert go_quote(text) == quoted
