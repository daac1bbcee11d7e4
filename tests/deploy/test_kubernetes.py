"""The kustomizations in deploy/kubernetes: they render, pass the Kubernetes API schemas in
strict mode, and wire the exporter the way the code and the image expect.

Both overlays are rendered with the kubectl from the test extras, then checked with
kubernetes-validate (which knows no CRDs: test_crds.py covers those).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from exporter import __version__
from exporter.config.settings import Settings
from exporter.sources.livekit.settings import LiveKitSettings
from exporter.sources.livepeer.settings import LivepeerSettings
from exporter.sources.registry import SOURCES, all_flags
from tests.deploy.manifests import (
    APP_LABEL,
    JOB,
    KUBERNETES,
    NAME,
    SECRET,
    Manifest,
    documents,
    image_user,
    kinds,
    kustomize,
    load_yaml,
    matches,
    one,
    run,
)
from tests.support.tools import venv_tool

FLAGS = all_flags()

IMAGE = f"ghcr.io/livesession-exporter/livesession-exporter:{__version__}"
BASE_MIN_VERSION = "1.25"
"""The oldest schema kubernetes-validate bundles; the base uses nothing newer."""
SIDECAR_MIN_VERSION = "1.29"
"""Native sidecars (restartPolicy: Always on an init container) are on by default from 1.29
(alpha behind a feature gate in 1.28, whose schema already has the field)."""

SECRET_ENV = {"LIVEKIT_API_SECRET", "LIVEPEER_API_KEY"}
"""Variables holding a secret's value: never in a ConfigMap."""

READ_ENV = {flag.env for flag in FLAGS} | {name for flag in FLAGS for name in flag.extra_env}
"""Every variable name the exporter reads (besides SECRET_ENV)."""


@functools.cache
def rendered(overlay: str) -> tuple[Manifest, ...]:
    return tuple(documents(kustomize(overlay)))


def _base_pod() -> Manifest:
    spec: Manifest = one(rendered("base"), "Deployment", NAME)["spec"]["template"]
    return spec


def _sidecar_pod() -> Manifest:
    spec: Manifest = one(rendered("sidecar"), "Deployment", "my-app")["spec"]["template"]
    return spec


def _base_container() -> Manifest:
    (container,) = _base_pod()["spec"]["containers"]
    assert isinstance(container, dict)
    return container


def _sidecar_container() -> Manifest:
    (container,) = _sidecar_pod()["spec"]["initContainers"]
    assert isinstance(container, dict)
    return container


SHAPES: dict[str, tuple[Callable[[], Manifest], Callable[[], Manifest]]] = {
    "base": (_base_pod, _base_container),
    "sidecar": (_sidecar_pod, _sidecar_container),
}


def _env(overlay: str, container: Manifest) -> dict[str, str]:
    """The container's environment: its envFrom ConfigMaps, then its own env entries."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        name = source["configMapRef"]["name"]
        env.update(one(rendered(overlay), "ConfigMap", name)["data"])
    for item in container.get("env", []):
        assert "value" in item, f"{item['name']}: only literal values are expected"
        env[item["name"]] = item["value"]
    return env


def _secret_mount(pod: Manifest, container: Manifest) -> str:
    """The path where ``container`` mounts the credentials Secret (read-only)."""
    volumes = {
        volume["name"]: volume["secret"]
        for volume in pod["spec"]["volumes"]
        if volume.get("secret", {}).get("secretName") == SECRET
    }
    assert len(volumes) == 1, f"expected one volume of the Secret {SECRET}"
    ((volume_name, secret),) = volumes.items()
    assert secret["defaultMode"] & 0o077 == 0o040, "files readable by the pod's group only"
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == volume_name]
    assert mount.get("readOnly") is True
    assert "subPath" not in mount, "a subPath mount would not see a rotated Secret"
    path: str = mount["mountPath"]
    return path


# -- schema validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overlay", "version"),
    [
        ("base", BASE_MIN_VERSION),
        ("base", "latest"),
        ("sidecar", SIDECAR_MIN_VERSION),
        ("sidecar", "latest"),
    ],
)
def test_overlay_passes_kubernetes_validate_strict(overlay: str, version: str) -> None:
    """kubectl kustomize OVERLAY | kubernetes-validate --strict passes, from the oldest
    version each shape supports to the newest schema bundled."""
    command = [venv_tool("kubernetes-validate"), "--strict"]
    if version != "latest":
        command += ["-k", version]
    result = run([*command, "-"], stdin=kustomize(overlay))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "ERROR" not in output
    deployment = NAME if overlay == "base" else "my-app"
    assert f"passed for resource deployment/{deployment}" in output


def test_sidecar_shape_is_refused_before_native_sidecars() -> None:
    """Against 1.27's schema the sidecar fails (restartPolicy on an init container), so the
    version check above is a real floor, not a formality."""
    result = run(
        [venv_tool("kubernetes-validate"), "--strict", "-k", "1.27", "-"],
        stdin=kustomize("sidecar"),
    )
    assert result.returncode == 1
    assert "'restartPolicy' was unexpected" in result.stdout + result.stderr


def test_base_renders_the_standalone_set() -> None:
    """The base holds the exporter's whole standalone shape and no Secret."""
    assert kinds(rendered("base")) == [
        "ConfigMap",
        "Deployment",
        "NetworkPolicy",
        "PrometheusRule",
        "Service",
        "ServiceAccount",
        "ServiceMonitor",
    ]


def test_sidecar_renders_the_app_its_config_and_a_podmonitor() -> None:
    """The sidecar example: the app's Deployment, the exporter's ConfigMap, a PodMonitor."""
    assert kinds(rendered("sidecar")) == ["ConfigMap", "Deployment", "PodMonitor"]


def test_every_base_resource_is_labelled_with_name_part_of_and_version() -> None:
    """Selectable by app.kubernetes.io labels; the version label is the package version."""
    for doc in rendered("base"):
        labels = doc["metadata"]["labels"]
        assert labels["app.kubernetes.io/part-of"] == NAME, doc["kind"]
        assert labels["app.kubernetes.io/version"] == __version__, doc["kind"]
        if doc["kind"] != "ConfigMap":
            assert labels[APP_LABEL] == NAME, doc["kind"]


# -- the exporter's pod, standalone and as a sidecar -----------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
def test_pod_security_context_is_hardened(shape: str) -> None:
    """Non-root as the image's own numeric user, seccomp RuntimeDefault, no API token."""
    pod_of, _ = SHAPES[shape]
    spec = pod_of()["spec"]
    uid, gid = image_user()
    assert spec["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": gid,
        "fsGroup": gid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert spec["automountServiceAccountToken"] is False
    assert spec["enableServiceLinks"] is False


@pytest.mark.parametrize("shape", SHAPES)
def test_container_security_context_is_hardened(shape: str) -> None:
    """Read-only root, no privilege escalation, every capability dropped."""
    _, container_of = SHAPES[shape]
    assert container_of()["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }


@pytest.mark.parametrize("shape", SHAPES)
def test_container_runs_the_released_image_on_the_metrics_port(shape: str) -> None:
    """The image tag is the package version; port 9877 is named metrics."""
    _, container_of = SHAPES[shape]
    container = container_of()
    assert container["image"] == IMAGE
    assert container["ports"] == [{"name": "metrics", "containerPort": 9877, "protocol": "TCP"}]
    assert "args" not in container
    assert "command" not in container, "the image's ENTRYPOINT is the exporter"


@pytest.mark.parametrize("shape", SHAPES)
def test_container_has_cpu_and_memory_requests_and_limits(shape: str) -> None:
    """Requests and limits for CPU and memory, each request within its limit."""
    _, container_of = SHAPES[shape]
    resources = container_of()["resources"]
    units = {"Mi": 2**20, "Gi": 2**30, "m": 0.001}

    def quantity(text: str) -> float:
        for suffix, factor in units.items():
            if text.endswith(suffix):
                return float(text.removesuffix(suffix)) * factor
        return float(text)

    for resource in ("cpu", "memory"):
        request = quantity(resources["requests"][resource])
        limit = quantity(resources["limits"][resource])
        assert 0 < request <= limit, resource


@pytest.mark.parametrize("shape", SHAPES)
def test_liveness_probe_is_healthz(shape: str) -> None:
    """Liveness asks /healthz on the metrics port, never /metrics (upstreams never restart it)."""
    _, container_of = SHAPES[shape]
    probe = container_of()["livenessProbe"]
    assert probe["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert probe["timeoutSeconds"] >= 2


def test_readiness_probe_is_readyz() -> None:
    """Standalone, readiness asks /readyz (200 once every source finished a first poll)."""
    probe = _base_container()["readinessProbe"]
    assert probe["httpGet"] == {"path": "/readyz", "port": "metrics"}


def test_sidecar_is_native_and_does_not_gate_the_apps_readiness() -> None:
    """An init container with restartPolicy Always, without a readiness or startup probe."""
    container = _sidecar_container()
    assert container["restartPolicy"] == "Always"
    assert "readinessProbe" not in container
    assert "startupProbe" not in container, "the app would wait for the exporter to start"
    app = _sidecar_pod()["spec"]["containers"]
    assert [c["name"] for c in app] == ["app"]


@pytest.mark.parametrize("shape", SHAPES)
def test_credentials_are_files_from_the_secret_named_by_file_variables(
    shape: str, tmp_path: Path
) -> None:
    """Every *_FILE variable points into the read-only Secret mount, and with the example
    Secret's files there, the exporter's own settings parser enables both sources."""
    pod_of, container_of = SHAPES[shape]
    pod, container = pod_of(), container_of()
    overlay = "base" if shape == "base" else "sidecar"
    env = _env(overlay, container)
    mount = _secret_mount(pod, container)

    assert not SECRET_ENV & env.keys(), "secret values belong in the Secret, not the env"
    assert set(env) <= READ_ENV, f"variables the exporter does not read: {set(env) - READ_ENV}"
    files = {name: value for name, value in env.items() if name.endswith("_FILE")}
    assert set(files) == {"LIVEKIT_API_SECRET_FILE", "LIVEPEER_API_KEY_FILE"}

    example = load_yaml(KUBERNETES / "base" / "secret.example.yaml")
    assert example["metadata"]["name"] == SECRET
    for path in files.values():
        directory, _, key = path.rpartition("/")
        assert directory == mount, f"{path} is not in the Secret mount {mount}"
        assert key in example["stringData"], f"{key} is not a key of secret.example.yaml"

    # What the kubelet would project, then the exporter's parser on that environment.
    for key, value in example["stringData"].items():
        (tmp_path / key).write_text(f"{value}\n", encoding="utf-8")
    local = {name: value.replace(mount, str(tmp_path)) for name, value in env.items()}
    settings = Settings.from_sources([], local, SOURCES)
    credentials = settings.of(LiveKitSettings).credentials
    assert credentials is not None
    assert credentials.api_secret.reveal() == example["stringData"]["livekit-api-secret"]
    api_key = settings.of(LivepeerSettings).api_key
    assert api_key is not None
    assert api_key.reveal() == example["stringData"]["livepeer-api-key"]


def test_sidecar_config_matches_the_base() -> None:
    """The sidecar's config.env is the base's, so the two shapes cannot drift apart."""
    base = (KUBERNETES / "base" / "config.env").read_text(encoding="utf-8")
    assert (KUBERNETES / "sidecar" / "config.env").read_text(encoding="utf-8") == base


def test_example_secret_is_not_rendered() -> None:
    """secret.example.yaml documents the Secret; no kustomization applies it."""
    for overlay in ("base", "sidecar"):
        assert "Secret" not in kinds(rendered(overlay))
        kustomization = load_yaml(KUBERNETES / overlay / "kustomization.yaml")
        assert "secret.example.yaml" not in kustomization.get("resources", [])


def test_base_runs_one_replica_replaced_not_rolled() -> None:
    """One replica, and Recreate, so two exporters never poll the same project at once."""
    deployment = one(rendered("base"), "Deployment", NAME)
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert one(rendered("sidecar"), "Deployment", "my-app")["spec"]["replicas"] == 1


@pytest.mark.parametrize("shape", SHAPES)
def test_termination_grace_period_covers_the_5_second_shutdown(shape: str) -> None:
    """The exporter exits within 5 s of SIGTERM; the pod waits longer than that, not forever."""
    pod_of, _ = SHAPES[shape]
    assert 5 < pod_of()["spec"]["terminationGracePeriodSeconds"] <= 30


# -- Service, monitors, NetworkPolicy ----------------------------------------------------------


def test_service_selects_the_pod_on_the_metrics_port() -> None:
    """The Service selects the exporter's pods and targets the named port."""
    service = one(rendered("base"), "Service", NAME)
    assert matches(service["spec"]["selector"], _base_pod()["metadata"]["labels"])
    assert service["spec"]["ports"] == [
        {"name": "metrics", "port": 9877, "targetPort": "metrics", "protocol": "TCP"}
    ]


def _job_relabeling(endpoint: Manifest) -> None:
    assert {
        "action": "replace",
        "targetLabel": "job",
        "replacement": JOB,
    } in endpoint["relabelings"], f"the rules select job={JOB!r}"


def test_servicemonitor_scrapes_the_service_as_the_rules_job() -> None:
    """The ServiceMonitor selects the Service, scrapes its metrics port, and sets the job."""
    service = one(rendered("base"), "Service", NAME)
    monitor = one(rendered("base"), "ServiceMonitor", NAME)
    assert matches(monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"])
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == service["spec"]["ports"][0]["name"]
    assert endpoint["path"] == "/metrics"
    _job_relabeling(endpoint)


def test_podmonitor_scrapes_the_sidecar_as_the_rules_job() -> None:
    """The PodMonitor selects the app's pods, scrapes the sidecar's port, and sets the job."""
    monitor = one(rendered("sidecar"), "PodMonitor")
    assert matches(monitor["spec"]["selector"]["matchLabels"], _sidecar_pod()["metadata"]["labels"])
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["port"] == _sidecar_container()["ports"][0]["name"]
    assert endpoint["path"] == "/metrics"
    _job_relabeling(endpoint)


def _ports(rules: list[Any]) -> set[tuple[str, Any]]:
    return {(port["protocol"], port["port"]) for rule in rules for port in rule["ports"]}


def test_networkpolicy_allows_only_metrics_in_and_https_and_dns_out() -> None:
    """Ingress to the metrics port only; egress to TCP 443 and DNS (UDP and TCP 53) only."""
    policy = one(rendered("base"), "NetworkPolicy", NAME)["spec"]
    assert matches(policy["podSelector"]["matchLabels"], _base_pod()["metadata"]["labels"])
    assert sorted(policy["policyTypes"]) == ["Egress", "Ingress"]
    assert _ports(policy["ingress"]) == {("TCP", "metrics")}
    assert _ports(policy["egress"]) == {("TCP", 443), ("UDP", 53), ("TCP", 53)}
    assert all(rule["ports"] for rule in policy["egress"]), "no rule may allow every port"
