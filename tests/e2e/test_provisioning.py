"""Grafana's provisioning files point where deploy/compose/compose.yaml mounts things: the
datasource at the compose Prometheus (uid ``prometheus``), the dashboard provider at the
directory holding grafana/dashboards."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
PROVISIONING = ROOT / "grafana" / "provisioning"
COMPOSE = ROOT / "deploy" / "compose"
DASHBOARDS_IN_GRAFANA = "/var/lib/grafana/dashboards/livesession-exporter"


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _grafana_mounts() -> dict[Path, str]:
    """Host directory (resolved) → container path, for the compose Grafana's volumes."""
    service = _yaml(COMPOSE / "compose.yaml")["services"]["grafana"]
    mounts = {}
    for volume in service["volumes"]:
        host, container, *_ = volume.split(":")
        mounts[(COMPOSE / host).resolve()] = container
    return mounts


def test_datasource_is_the_compose_prometheus() -> None:
    """One default Prometheus datasource, uid ``prometheus``, at the compose service."""
    document = _yaml(PROVISIONING / "datasources" / "prometheus.yml")
    assert document["apiVersion"] == 1
    [datasource] = document["datasources"]
    assert datasource["type"] == "prometheus"
    assert datasource["uid"] == "prometheus"
    assert datasource["url"] == "http://prometheus:9090"
    assert datasource["access"] == "proxy"
    assert datasource["isDefault"] is True
    assert "prometheus" in _yaml(COMPOSE / "compose.yaml")["services"]


def test_datasource_scrape_interval_matches_the_compose_prometheus() -> None:
    """``timeInterval``, which Grafana's ``$__rate_interval`` builds on, is the scrape interval."""
    datasource = _yaml(PROVISIONING / "datasources" / "prometheus.yml")["datasources"][0]
    scrape = _yaml(COMPOSE / "prometheus.yml")["global"]["scrape_interval"]
    assert datasource["jsonData"]["timeInterval"] == scrape


def test_dashboard_provider_reads_the_mounted_dashboards() -> None:
    """A file provider reads the directory compose mounts grafana/dashboards at, into the
    folder "livesession-exporter"."""
    document = _yaml(PROVISIONING / "dashboards" / "livesession-exporter.yml")
    assert document["apiVersion"] == 1
    [provider] = document["providers"]
    assert provider["type"] == "file"
    assert provider["folder"] == "livesession-exporter"
    assert provider["options"]["path"] == DASHBOARDS_IN_GRAFANA
    mounts = _grafana_mounts()
    assert mounts[ROOT / "grafana" / "dashboards"] == DASHBOARDS_IN_GRAFANA
    assert mounts[PROVISIONING] == "/etc/grafana/provisioning"
    assert PurePosixPath(DASHBOARDS_IN_GRAFANA).is_absolute()
