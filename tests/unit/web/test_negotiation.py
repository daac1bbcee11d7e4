"""Content negotiation: the exposition format from Accept, gzip from Accept-Encoding."""

from __future__ import annotations

import pytest

from exporter.web.negotiation import accepts_gzip, negotiate

PROMETHEUS_2 = (  # what Prometheus 2 sends when scraping
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
PROMETHEUS_3 = (  # and Prometheus 3
    "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
    "application/openmetrics-text;version=0.0.1;q=0.5,"
    "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
)


@pytest.mark.parametrize(
    ("accept", "fmt"),
    [
        ("", "text"),
        ("*/*", "text"),
        ("text/plain", "text"),
        (PROMETHEUS_2, "openmetrics"),
        (PROMETHEUS_3, "openmetrics"),
        ("application/openmetrics-text", "openmetrics"),
        ("application/openmetrics-text;version=0.0.1", "text"),
        ("application/openmetrics-text;q=0", "text"),
        ("application/openmetrics-text;q=0.2,text/plain;q=0.9", "text"),
        ("application/openmetrics-text;q=junk", "text"),
    ],
)
def test_negotiation(accept: str, fmt: str) -> None:
    """Accept picks OpenMetrics 1.0 only when it is preferred by q; text otherwise."""
    assert negotiate(accept) == fmt


@pytest.mark.parametrize(
    ("header", "allowed"),
    [("gzip", True), ("gzip, deflate, br", True), ("*", True), ("gzip;q=0", False), ("", False)],
)
def test_gzip_acceptance(header: str, allowed: bool) -> None:
    """gzip is used when Accept-Encoding allows it with q > 0."""
    assert accepts_gzip(header) is allowed
