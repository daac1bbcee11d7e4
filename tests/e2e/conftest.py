"""One exporter in demo mode and one private Prometheus scraping it, for the whole session.

Prometheus throttles target discovery for 5 s after start, so its first scrape comes about
6 s in; the ``prometheus`` fixture polls until the exporter is ``up`` and both sources'
series have at least two samples (what ``rate()`` needs), then every test queries it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.prometheus import PrometheusServer, prometheus_config
from tests.e2e.rules import fast_copy, rule_files
from tests.support.processes import ExporterProcess, wait_for
from tests.support.tools import node_modules, system_tool

JOB = "livesession-exporter"

READY = (
    f'up{{job="{JOB}"}} == 1',
    "count_over_time(livekit_cloud_sessions_active[1m]) >= 2",
    "count_over_time(livepeer_studio_sessions_active[1m]) >= 2",
    "count_over_time(livesession_exporter_api_requests_total[1m]) >= 2",
)
"""Queries that all return series once Prometheus holds enough data for every panel."""


@pytest.fixture(scope="session")
def exporter() -> Iterator[ExporterProcess]:
    """The real exporter process polling its built-in simulator every 2 s."""
    process = ExporterProcess(["--demo"]).start()
    try:
        yield process
    finally:
        try:
            process.terminate(within=10)
        finally:
            process.kill()


def _checked_rule_files(promtool: str, directory: Path) -> list[Path]:
    """Fast copies of the shipped rule files that promtool accepts.

    A broken file would stop Prometheus from starting and so fail every test here; left
    out, it fails only its own checks in ``test_rules.py``.
    """
    directory.mkdir()
    copies = []
    for path in rule_files():
        check = subprocess.run(
            [promtool, "check", "rules", str(path)], capture_output=True, timeout=60, check=False
        )
        if check.returncode == 0:
            copies.append(fast_copy(path, directory))
    return copies


@pytest.fixture(scope="session")
def prometheus(
    exporter: ExporterProcess, promtool: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrometheusServer]:
    """Prometheus on loopback, scraping the exporter, evaluating the shipped rules each second."""
    workdir = tmp_path_factory.mktemp("prometheus")
    url = httpx.URL(exporter.url)
    config = prometheus_config(
        job=JOB,
        targets=[f"{url.host}:{url.port}"],
        metrics_path=url.path,
        rule_files=_checked_rule_files(promtool, workdir / "rules"),
    )
    server = PrometheusServer(system_tool("prometheus", "prometheus"), workdir, config).start()
    try:
        wait_for(
            lambda: all(server.query(expr) for expr in READY),
            within=60,
            what="Prometheus to hold two samples of each source: " + ", ".join(READY),
        )
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def dashboard_schema(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A JSON Schema of Grafana's dashboard model, generated from ``@grafana/schema``'s types."""
    node = system_tool("node", "nodejs")
    modules = node_modules()
    schema = tmp_path_factory.mktemp("grafana-schema") / "dashboard.schema.json"
    types = modules / "@grafana/schema/dist/types/raw/dashboard/x/types.gen.d.ts"
    result = subprocess.run(
        [
            node,
            str(modules / ".bin" / "ts-json-schema-generator"),
            f"--path={types}",
            "--type=Dashboard",
            "--no-type-check",
            f"--out={schema}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return schema
