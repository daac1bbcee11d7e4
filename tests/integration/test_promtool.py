"""The exposition, hostile label values included, passes Prometheus' own linter."""

from __future__ import annotations

import subprocess

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from exporter.app import add_standard_collectors
from exporter.exposition.render import render_chunk
from exporter.exposition.scrape import Exposition
from exporter.exposition.self_metrics import SelfMetrics
from exporter.exposition.store import Published

HOSTILE = ['quote "', "back\\slash", "new\nline", "unicode ✓ 日本 🎥", "x" * 1024, ""]


def exposition() -> bytes:
    gauge = GaugeMetricFamily(
        "livepeer_studio_session_issues",
        "Issues reported for the session by Livepeer Studio, as of the last successful poll.",
        labels=["project", "stream_id", "stream_name", "session_id"],
    )
    counter = CounterMetricFamily(
        "livepeer_studio_session_source_bytes_total",
        "Source bytes ingested, from Livepeer Studio; value of the last successful poll.",
        labels=["project", "stream_id", "stream_name", "session_id"],
    )
    for index, name in enumerate(HOSTILE):
        gauge.add_metric(["p", f"s{index}", name, f"id/{index}/.."], index)
        counter.add_metric(["p", f"s{index}", name, f"id/{index}/.."], 2.0**53 + index)
    registry = CollectorRegistry()
    add_standard_collectors(registry)
    metrics = SelfMetrics(registry)
    target = metrics.target("livepeer_studio", "default", "default")
    target.request("list_sessions", "200", 0.1)
    target.poll_succeeded(duration=0.2, finished=1.8e9, omitted=0)
    published = Published(render_chunk([gauge, counter]), 0.0, sessions=0)
    return b"".join(Exposition(registry).body([published], "text", gzip=False))


def test_promtool_check_metrics_passes(promtool: str) -> None:
    """promtool check metrics finds no problem in a full exposition with hostile labels."""
    result = subprocess.run(
        [promtool, "check", "metrics"],
        input=exposition(),
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stderr == b""
