"""Go/Prometheus duration strings."""

from __future__ import annotations

import pytest

from exporter.config.durations import parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("500ms", 0.5),
        ("30s", 30.0),
        ("5m", 300.0),
        ("1h", 3600.0),
        ("1h30m", 5400.0),
        ("1m30s500ms", 90.5),
        ("1.5s", 1.5),
        ("2d", 172800.0),
        ("1w", 604800.0),
        ("0", 0.0),
    ],
)
def test_parse_accepts_go_forms(text: str, seconds: float) -> None:
    """Every Go/Prometheus duration form parses to its seconds."""
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5", "5x", "m5", "1h 30m", "-5s", "1h30", "s"])
def test_parse_rejects_other_forms(text: str) -> None:
    """Anything else is a ValueError that shows the accepted form."""
    with pytest.raises(ValueError, match="use forms like"):
        parse_duration(text)
