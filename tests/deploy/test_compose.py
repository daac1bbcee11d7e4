"""deploy/compose: the exporter in --demo mode, Prometheus with the rules, Grafana with the
dashboards. No container engine runs here, so the file is checked against the Compose
specification's schema, then for what `docker compose up` needs: services, ports, and mounts
of files that exist, wired to one another.
"""

from __future__ import annotations

import functools
import posixpath
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from exporter.sources.registry import all_flags
from tests.deploy.manifests import COMPOSE, JOB, ROOT, load_yaml, run
from tests.support.tools import system_tool, venv_tool

FLAGS = all_flags()

COMPOSE_FILE = COMPOSE / "compose.yaml"
PROMETHEUS_CONFIG = COMPOSE / "prometheus.yml"


@functools.cache
def _compose() -> dict[str, Any]:
    document: dict[str, Any] = load_yaml(COMPOSE_FILE)
    return document


def _service(name: str) -> dict[str, Any]:
    service: dict[str, Any] = _compose()["services"][name]
    return service


def _mounts(name: str) -> dict[PurePosixPath, Path]:
    """A service's bind mounts: container path -> repository path (all read-only)."""
    mounts: dict[PurePosixPath, Path] = {}
    for volume in _service(name).get("volumes", []):
        host, container, mode = volume.split(":")
        assert mode == "ro", f"{name}: {volume} should be read-only"
        assert host.startswith("."), f"{name}: {volume} is not a bind mount of the repository"
        mounts[PurePosixPath(container)] = (COMPOSE / host).resolve()
    return mounts


def _host_path(name: str, inside: PurePosixPath) -> Path:
    """Where a path inside a service's container comes from in the repository."""
    for target, source in _mounts(name).items():
        if inside == target or target in inside.parents:
            return source / inside.relative_to(target)
    raise AssertionError(f"{name}: {inside} is not mounted from the repository")


def _published(name: str) -> dict[int, int]:
    """Host port -> container port of a service (``127.0.0.1:HOST:CONTAINER``)."""
    published = {}
    for port in _service(name)["ports"]:
        address, host, container = str(port).split(":")
        assert address == "127.0.0.1", f"{name}: {port} should publish on loopback only"
        published[int(host)] = int(container)
    return published


def test_compose_file_follows_the_compose_specification() -> None:
    """The file validates against the Compose spec's JSON Schema (check-jsonschema's copy)."""
    result = run(
        [
            venv_tool("check-jsonschema"),
            "--builtin-schema",
            "vendor.compose-spec",
            str(COMPOSE_FILE),
        ]
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_the_three_services_on_their_usual_ports() -> None:
    """exporter :9877, prometheus :9090, grafana :3000, each published on loopback."""
    assert set(_compose()["services"]) == {"exporter", "prometheus", "grafana"}
    assert _published("exporter") == {9877: 9877}
    assert _published("prometheus") == {9090: 9090}
    assert _published("grafana") == {3000: 3000}


def test_exporter_is_built_from_the_repository_and_runs_the_demo_hardened() -> None:
    """Built from the repo's Dockerfile, --demo on :9877, read-only and without capabilities."""
    exporter = _service("exporter")
    context = (COMPOSE / exporter["build"]["context"]).resolve()
    assert context == ROOT
    assert (context / exporter["build"]["dockerfile"]).is_file()
    assert "--demo" in exporter["command"]
    listen = [arg for arg in exporter["command"] if arg.startswith("--web.listen-address=")]
    default = next(flag.default for flag in FLAGS if flag.name == "web.listen-address")
    assert [arg.partition("=")[2] for arg in listen] in ([], [":9877"])
    assert default == ":9877"
    assert exporter["read_only"] is True
    assert exporter["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in exporter["security_opt"]


@pytest.mark.parametrize("name", ["prometheus", "grafana"])
def test_images_are_pinned(name: str) -> None:
    """Third-party images carry an explicit version tag, never latest."""
    image = _service(name)["image"]
    _, _, tag = image.rpartition(":")
    assert tag
    assert tag != "latest"
    assert tag[0].isdigit() or tag.startswith("v"), image


@pytest.mark.parametrize("name", ["prometheus", "grafana"])
def test_every_mount_is_a_file_or_directory_of_the_repository(name: str) -> None:
    """Bind mounts point at things that exist, so `up` does not create empty directories."""
    for source in _mounts(name).values():
        assert source.exists(), f"{name} mounts {source}, which does not exist"
        assert ROOT in source.parents


def test_prometheus_loads_the_mounted_config_and_the_projects_rules() -> None:
    """--config.file is the mounted compose config, and its rule file, resolved inside the
    container, is deploy/prometheus's rules file."""
    command = _service("prometheus")["command"]
    (config_flag,) = [arg for arg in command if arg.startswith("--config.file=")]
    config_inside = PurePosixPath(config_flag.partition("=")[2])
    assert _host_path("prometheus", config_inside) == PROMETHEUS_CONFIG

    (rule_file,) = load_yaml(PROMETHEUS_CONFIG)["rule_files"]
    # Prometheus resolves a relative rule file against its config file's directory.
    inside = PurePosixPath(posixpath.normpath(config_inside.parent / rule_file))
    rules = ROOT / "deploy" / "prometheus" / "livesession-exporter.rules.yml"
    assert _host_path("prometheus", inside) == rules
    # ...and the same relative path works from the repository's copy, for promtool.
    assert (PROMETHEUS_CONFIG.parent / rule_file).resolve() == rules


def test_prometheus_scrapes_the_exporter_service_as_the_rules_job() -> None:
    """One job, named as the rules expect, scraping the exporter service's port."""
    (job,) = load_yaml(PROMETHEUS_CONFIG)["scrape_configs"]
    assert job["job_name"] == JOB
    assert job["static_configs"] == [{"targets": ["exporter:9877"]}]
    assert "exporter" in _service("prometheus")["depends_on"]


def test_promtool_accepts_the_compose_prometheus_config() -> None:
    """promtool check config passes, rule file included (the relative path resolves here too)."""
    result = run([system_tool("promtool", "prometheus"), "check", "config", str(PROMETHEUS_CONFIG)])
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "SUCCESS: 1 rule files found" in output


def test_grafana_mounts_the_provisioning_and_the_dashboards_where_they_are_read() -> None:
    """Provisioning at /etc/grafana/provisioning; the dashboards at the provider's path; the
    datasource URL is the prometheus service's port."""
    mounts = _mounts("grafana")
    provisioning = mounts[PurePosixPath("/etc/grafana/provisioning")]
    assert provisioning == ROOT / "grafana" / "provisioning"
    (provider,) = load_yaml(provisioning / "dashboards" / "livesession-exporter.yml")["providers"]
    dashboards = mounts[PurePosixPath(provider["options"]["path"])]
    assert dashboards == ROOT / "grafana" / "dashboards"
    assert sorted(dashboards.glob("*.json")), "no dashboards to show"

    (datasource,) = load_yaml(provisioning / "datasources" / "prometheus.yml")["datasources"]
    assert datasource["url"] == "http://prometheus:9090"
    assert 9090 in _published("prometheus").values()


def test_grafana_login_is_documented_and_anonymous_users_only_view() -> None:
    """Anonymous access is read-only; the admin login is the one the header comment gives."""
    environment = _service("grafana")["environment"]
    assert environment["GF_AUTH_ANONYMOUS_ENABLED"] == "true"
    assert environment["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"
    user, password = (
        environment["GF_SECURITY_ADMIN_USER"],
        environment["GF_SECURITY_ADMIN_PASSWORD"],
    )
    assert f"{user} / {password}" in COMPOSE_FILE.read_text(encoding="utf-8")
