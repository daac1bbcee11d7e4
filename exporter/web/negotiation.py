"""Content negotiation of a scrape: which exposition format, and whether to gzip it."""

from __future__ import annotations

from exporter.exposition.render import Format

__all__ = ["accepts_gzip", "negotiate"]


def _media_ranges(header: str) -> list[tuple[str, dict[str, str], float]]:
    """Split an Accept-style header into (value, parameters, q) triples; junk q means 0."""
    ranges = []
    for item in header.split(","):
        value, *raw_params = (part.strip() for part in item.split(";"))
        params = {}
        for raw in raw_params:
            key, _, val = raw.partition("=")
            params[key.strip().lower()] = val.strip().strip('"')
        try:
            q = float(params.get("q", "1"))
        except ValueError:
            q = 0.0
        ranges.append((value.lower(), params, q))
    return ranges


def negotiate(accept: str) -> Format:
    """OpenMetrics 1.0 when ``Accept`` prefers it (by q), else Prometheus text 0.0.4."""
    openmetrics = text = 0.0
    for value, params, q in _media_ranges(accept):
        if value == "application/openmetrics-text" and params.get("version", "1.0.0") == "1.0.0":
            openmetrics = max(openmetrics, q)
        elif value in ("text/plain", "text/*", "*/*"):
            text = max(text, q)
    return "openmetrics" if openmetrics > 0 and openmetrics >= text else "text"


def accepts_gzip(accept_encoding: str) -> bool:
    """True when ``Accept-Encoding`` allows gzip (explicitly or by ``*``) with q > 0."""
    coding = {value: q for value, _, q in _media_ranges(accept_encoding)}
    return coding.get("gzip", coding.get("*", 0.0)) > 0
