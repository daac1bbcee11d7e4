"""What the exporter serves in demo mode is valid for Prometheus' linter and its scraper."""

from __future__ import annotations

import subprocess

import httpx
import pytest

from tests.e2e.conftest import JOB
from tests.e2e.prometheus import PrometheusServer
from tests.support.processes import ExporterProcess, wait_for


def test_promtool_check_metrics_passes_on_the_demo_exposition(
    exporter: ExporterProcess, promtool: str
) -> None:
    """``promtool check metrics`` finds nothing to flag in the classic text exposition."""
    response = httpx.get(exporter.url, timeout=10)
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "\nlivekit_cloud_sessions_active{" in response.text
    assert "\nlivepeer_studio_sessions_active{" in response.text
    result = subprocess.run(
        [promtool, "check", "metrics"],
        input=response.content,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stderr == b""


def test_prometheus_stores_every_served_metric(
    exporter: ExporterProcess, prometheus: PrometheusServer
) -> None:
    """Each metric name in the exposition becomes a series name in Prometheus."""
    served = {
        line.split("{", 1)[0].split(" ", 1)[0]
        for line in exporter.scrape().splitlines()
        if line and not line.startswith("#")
    }

    def not_stored() -> set[str]:
        query = f'count by (__name__) ({{job="{JOB}"}})'
        return served - {series["metric"]["__name__"] for series in prometheus.query(query)}

    # A family that first appeared in the poll just before our scrape needs one more scrape.
    try:
        wait_for(lambda: not not_stored(), within=15, what="every served metric in Prometheus")
    except AssertionError:
        pytest.fail(f"served but not stored: {sorted(not_stored())}")
