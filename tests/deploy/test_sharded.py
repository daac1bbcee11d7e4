"""deploy/kubernetes/sharded: a StatefulSet of shards splitting the targets of one config file.

The overlay renders with the kubectl of the test extras, passes kubernetes-validate --strict
(oldest and newest bundled schema) and the prometheus-operator schemas, reuses the base's
resources unchanged except the Deployment it replaces and the Service it makes headless, and
wires the exporter the way its flags and its config file loader expect: every shard's
command line and the example targets.yaml, with the example Secret's files in place, are
accepted by the exporter's own settings parser and by ``--config.check``.
"""

from __future__ import annotations

import functools
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from exporter import __version__
from exporter.config.settings import Settings
from exporter.sources.registry import SOURCES
from tests.deploy.manifests import (
    APP_LABEL,
    JOB,
    KUBERNETES,
    NAME,
    ROOT,
    SECRET,
    Manifest,
    documents,
    kinds,
    kustomize,
    load_yaml,
    matches,
    one,
    run,
)
from tests.support.tools import node_modules, system_tool, venv_tool

OVERLAY = "sharded"
TARGETS_CONFIGMAP = "livesession-exporter-targets"
CONFIG_FILE = "/etc/livesession-exporter/config/targets.yaml"
SECRET_MOUNT = "/etc/livesession-exporter/secrets"
MIN_VERSION = "1.25"
"""The oldest schema kubernetes-validate bundles; the StatefulSet uses nothing newer."""
REUSED = ("ServiceAccount", "ServiceMonitor", "PrometheusRule", "NetworkPolicy")
"""Base resources the overlay takes as they are."""
CRD_VALIDATOR = ROOT / "tools" / "node" / "validate-crds.mjs"

_VARIABLE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


@functools.cache
def rendered(overlay: str) -> tuple[Manifest, ...]:
    return tuple(documents(kustomize(overlay)))


def _statefulset() -> Manifest:
    return one(rendered(OVERLAY), "StatefulSet", NAME)


def _pod() -> Manifest:
    template: Manifest = _statefulset()["spec"]["template"]
    return template


def _container() -> Manifest:
    (container,) = _pod()["spec"]["containers"]
    assert isinstance(container, dict)
    return container


def _base_pod() -> Manifest:
    template: Manifest = one(rendered("base"), "Deployment", NAME)["spec"]["template"]
    return template


def _base_container() -> Manifest:
    (container,) = _base_pod()["spec"]["containers"]
    assert isinstance(container, dict)
    return container


def _args() -> list[str]:
    args = _container()["args"]
    assert all(isinstance(arg, str) for arg in args)
    return list(args)


def _flag(name: str) -> str:
    """The value of ``--name=value`` in the container's args (given exactly once)."""
    values = [arg.partition("=")[2] for arg in _args() if arg.startswith(f"--{name}=")]
    assert len(values) == 1, f"--{name} given {len(values)} times in {_args()}"
    return values[0]


def _mount(volume: Manifest) -> Manifest:
    """The container's one mount of ``volume``, checked to be a whole-directory mount."""
    mounts = [m for m in _container()["volumeMounts"] if m["name"] == volume["name"]]
    assert len(mounts) == 1, f"volume {volume['name']} mounted {len(mounts)} times"
    mount: Manifest = mounts[0]
    assert mount.get("readOnly") is True, mount
    assert "subPath" not in mount, "a subPath mount never sees a ConfigMap or Secret update"
    assert "subPathExpr" not in mount
    return mount


def _volume(kind: str, name: str) -> Manifest:
    """The pod's one volume of ``kind`` (configMap, secret) projecting the object ``name``."""
    key = "name" if kind == "configMap" else "secretName"
    found = [v for v in _pod()["spec"]["volumes"] if v.get(kind, {}).get(key) == name]
    assert len(found) == 1, f"expected one {kind} volume of {name}, found {len(found)}"
    volume: Manifest = found[0]
    return volume


def _targets_text() -> str:
    configmap = one(rendered(OVERLAY), "ConfigMap", TARGETS_CONFIGMAP)
    text: str = configmap["data"]["targets.yaml"]
    return text


def _env_configmap() -> Manifest:
    (source,) = _container()["envFrom"]
    return one(rendered(OVERLAY), "ConfigMap", source["configMapRef"]["name"])


def _example_secret() -> dict[str, str]:
    example = load_yaml(KUBERNETES / OVERLAY / "secret.example.yaml")
    assert example["kind"] == "Secret"
    assert example["metadata"]["name"] == SECRET
    data: dict[str, str] = example["stringData"]
    return data


def _secret_references(targets: Any) -> list[str]:
    """Every ``*_file`` value of every target in a parsed targets.yaml."""
    return [
        value
        for source in ("livekit", "livepeer")
        for target in targets.get(source, [])
        for key, value in target.items()
        if key.endswith("_file")
    ]


def _expand(arg: str, env: dict[str, str]) -> str:
    """What the kubelet does to ``$(NAME)`` in args: the container's variable, if defined."""
    return _VARIABLE.sub(lambda m: env.get(m.group(1), m.group(0)), arg)


def _as_the_kubelet_would(tmp_path: Path) -> tuple[Path, Path]:
    """The config and secret mounts, projected under ``tmp_path``: the example targets.yaml
    with its secret paths pointing at files holding the example Secret's values."""
    config, secrets = tmp_path / "config", tmp_path / "secrets"
    config.mkdir()
    secrets.mkdir()
    for key, value in _example_secret().items():
        (secrets / key).write_text(f"{value}\n", encoding="utf-8")
    (config / "targets.yaml").write_text(
        _targets_text().replace(SECRET_MOUNT + "/", f"{secrets}/"), encoding="utf-8"
    )
    return config, secrets


def _shard_command(pod_name: str, config: Path) -> tuple[list[str], dict[str, str]]:
    """Shard ``pod_name``'s argv and environment, with the config mount at ``config``."""
    env: dict[str, str] = dict(_env_configmap()["data"])
    for item in _container()["env"]:
        if "value" in item:
            env[item["name"]] = item["value"]
        elif item["valueFrom"].get("fieldRef", {}).get("fieldPath") == "metadata.name":
            env[item["name"]] = pod_name
    config_mount = _mount(_volume("configMap", TARGETS_CONFIGMAP))["mountPath"]
    argv = [_expand(arg, env).replace(config_mount + "/", f"{config}/") for arg in _args()]
    return argv, env


def _pod_names() -> list[str]:
    replicas = _statefulset()["spec"]["replicas"]
    return [f"{_statefulset()['metadata']['name']}-{ordinal}" for ordinal in range(replicas)]


# -- schemas -------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [MIN_VERSION, "latest"])
def test_sharded_passes_kubernetes_validate_strict(version: str) -> None:
    """kubectl kustomize sharded | kubernetes-validate --strict passes, at the base's floor
    and at the newest schema bundled."""
    command = [venv_tool("kubernetes-validate"), "--strict"]
    if version != "latest":
        command += ["-k", version]
    result = run([*command, "-"], stdin=kustomize(OVERLAY))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "ERROR" not in output
    for resource in (
        f"statefulset/{NAME}",
        f"service/{NAME}",
        f"configmap/{TARGETS_CONFIGMAP}",
        f"networkpolicy/{NAME}",
        f"serviceaccount/{NAME}",
    ):
        assert f"passed for resource {resource}" in output, output


def test_sharded_custom_resources_match_the_operator_schemas() -> None:
    """The ServiceMonitor and PrometheusRule pass the prometheus-operator's CRD schemas."""
    node_modules()
    result = run([system_tool("node", "nodejs"), str(CRD_VALIDATOR), "-"], stdin=kustomize(OVERLAY))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert f"ok ServiceMonitor/{NAME}\n" in output, output
    assert f"ok PrometheusRule/{NAME}\n" in output, output
    assert "invalid" not in output


# -- what the overlay renders ----------------------------------------------------------------


def test_sharded_renders_a_statefulset_instead_of_the_deployment_and_no_secret() -> None:
    """The base's set with the Deployment replaced by a StatefulSet, plus the targets'
    ConfigMap; the example Secret is never rendered."""
    assert kinds(rendered(OVERLAY)) == [
        "ConfigMap",
        "ConfigMap",
        "NetworkPolicy",
        "PrometheusRule",
        "Service",
        "ServiceAccount",
        "ServiceMonitor",
        "StatefulSet",
    ]
    kustomization = load_yaml(KUBERNETES / OVERLAY / "kustomization.yaml")
    assert "secret.example.yaml" not in kustomization["resources"]


@pytest.mark.parametrize("kind", REUSED)
def test_sharded_reuses_the_base_resource_unchanged(kind: str) -> None:
    """ServiceAccount, ServiceMonitor, PrometheusRule and NetworkPolicy are the base's own,
    so the two shapes cannot drift apart."""
    assert one(rendered(OVERLAY), kind, NAME) == one(rendered("base"), kind, NAME)


def test_every_sharded_resource_is_labelled_with_name_part_of_and_version() -> None:
    for doc in rendered(OVERLAY):
        labels = doc["metadata"]["labels"]
        assert labels["app.kubernetes.io/part-of"] == NAME, doc["kind"]
        assert labels["app.kubernetes.io/version"] == __version__, doc["kind"]
        if doc["kind"] != "ConfigMap":
            assert labels[APP_LABEL] == NAME, doc["kind"]


# -- the StatefulSet ---------------------------------------------------------------------------


def test_replicas_equal_total_shards() -> None:
    """Every pod is one shard: replicas == --total-shards (3 in the example)."""
    replicas = _statefulset()["spec"]["replicas"]
    assert replicas == int(_flag("total-shards")) == 3


def test_statefulset_starts_shards_in_parallel_and_rolls_them_one_at_a_time() -> None:
    """Parallel pod management (shards are independent); a rolling update; ordinals from 0
    (the shard is the pod name's ordinal), governed by the headless Service."""
    spec = _statefulset()["spec"]
    assert spec["podManagementPolicy"] == "Parallel"
    assert spec["updateStrategy"] == {"type": "RollingUpdate"}
    assert spec.get("ordinals", {}).get("start", 0) == 0
    assert matches(spec["selector"]["matchLabels"], _pod()["metadata"]["labels"])
    service = one(rendered(OVERLAY), "Service", spec["serviceName"])
    assert service["spec"]["clusterIP"] == "None"


def test_container_args_load_the_file_reload_it_and_shard_by_pod_name() -> None:
    """The file, a 30 s auto-reload, the ordinal from $(POD_NAME), the total; no per-source
    flags (they conflict with a file) and no lifecycle endpoint (auto-reload suffices)."""
    assert _args() == [
        f"--config.file={CONFIG_FILE}",
        "--config.auto-reload-interval=30s",
        "--shard.from-pod-name=$(POD_NAME)",
        "--total-shards=3",
    ]
    assert "command" not in _container(), "the image's ENTRYPOINT is the exporter"


def test_pod_name_comes_from_the_downward_api() -> None:
    """POD_NAME is the pod's metadata.name, declared in env (so $(POD_NAME) expands)."""
    (item,) = [item for item in _container()["env"] if item["name"] == "POD_NAME"]
    assert item["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert "value" not in item


def test_pod_and_container_hardening_match_the_base() -> None:
    """The base's pod and container security contexts, image, port, probes and resources."""
    pod, base_pod = _pod()["spec"], _base_pod()["spec"]
    for key in (
        "securityContext",
        "automountServiceAccountToken",
        "enableServiceLinks",
        "serviceAccountName",
        "terminationGracePeriodSeconds",
    ):
        assert pod[key] == base_pod[key], key
    container, base = _container(), _base_container()
    for key in ("image", "ports", "securityContext", "resources"):
        assert container[key] == base[key], key


def test_probes_are_healthz_and_readyz_like_the_base() -> None:
    container = _container()
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    assert container["livenessProbe"] == _base_container()["livenessProbe"]
    assert container["readinessProbe"] == _base_container()["readinessProbe"]


# -- the ConfigMap and the Secret, mounted as directories --------------------------------------


def test_targets_configmap_is_mounted_as_a_directory_at_the_config_file() -> None:
    """--config.file names a key of the targets ConfigMap, mounted whole (no subPath)."""
    volume = _volume("configMap", TARGETS_CONFIGMAP)
    mount = _mount(volume)
    directory, _, key = _flag("config.file").rpartition("/")
    assert mount["mountPath"] == directory
    assert "items" not in volume["configMap"]
    configmap = one(rendered(OVERLAY), "ConfigMap", TARGETS_CONFIGMAP)
    assert list(configmap["data"]) == [key]


def test_targets_configmap_name_has_no_hash_so_edits_apply_in_place() -> None:
    """A hashed name would roll every shard on each edit; in place, auto-reload applies it.
    The environment's ConfigMap keeps its hash (variables are read only at start)."""
    kustomization = load_yaml(KUBERNETES / OVERLAY / "kustomization.yaml")
    (generator,) = [
        g for g in kustomization["configMapGenerator"] if g["name"] == TARGETS_CONFIGMAP
    ]
    assert generator["options"]["disableNameSuffixHash"] is True
    assert _volume("configMap", TARGETS_CONFIGMAP)["configMap"]["name"] == TARGETS_CONFIGMAP
    assert _env_configmap()["metadata"]["name"].startswith("livesession-exporter-config-")


def test_secret_is_mounted_as_a_directory_readable_by_the_pod_group_only() -> None:
    volume = _volume("secret", SECRET)
    assert volume["secret"]["defaultMode"] & 0o077 == 0o040
    assert "items" not in volume["secret"]
    assert _mount(volume)["mountPath"] == SECRET_MOUNT


def test_every_secret_reference_is_a_key_of_the_example_secret_in_the_mount() -> None:
    """Each *_file of targets.yaml is a file of the Secret mount, and the example Secret has
    exactly the keys the targets name; no target carries a secret inline or by env."""
    targets = yaml.safe_load(_targets_text())
    references = _secret_references(targets)
    assert references, "the example names no secret file"
    keys = []
    for path in references:
        directory, _, key = path.rpartition("/")
        assert directory == SECRET_MOUNT, path
        keys.append(key)
    assert sorted(keys) == sorted(_example_secret())
    for source in ("livekit", "livepeer"):
        for target in targets[source]:
            assert not [key for key in target if key.endswith("_env")], target["name"]


def test_environment_holds_only_process_settings() -> None:
    """With a file, per-source variables are refused at start; none is in the ConfigMap."""
    for name in _env_configmap()["data"]:
        assert not name.startswith(("LIVEKIT_", "LIVEPEER_")), name
        assert not name.startswith(("LIVESESSION_LIVEKIT_", "LIVESESSION_LIVEPEER_")), name


# -- the exporter accepts what the pods would run ----------------------------------------------


def test_example_targets_yaml_parses_as_yaml_with_targets_of_both_sources() -> None:
    targets = yaml.safe_load(_targets_text())
    assert isinstance(targets, dict)
    assert len(targets["livekit"]) >= 2
    assert len(targets["livepeer"]) >= 2


def test_every_shard_command_line_is_accepted_and_the_shards_partition_the_targets(
    tmp_path: Path,
) -> None:
    """For each pod name, the exporter's settings parser accepts the container's args and
    environment with the example file and Secret projected; each takes its ordinal from its
    name, and every enabled target is polled by exactly one shard (each shard owning some in
    the example, so it shows the split)."""
    config, _ = _as_the_kubelet_would(tmp_path)
    owners: dict[str, list[int]] = {}
    for ordinal, pod_name in enumerate(_pod_names()):
        argv, env = _shard_command(pod_name, config)
        settings = Settings.from_sources(argv, env, SOURCES)
        assert settings.config_file == str(config / "targets.yaml")
        assert settings.auto_reload_interval == 30
        assert (settings.shard.ordinal, settings.shard.total) == (ordinal, 3)
        targets = settings.targets
        for target in targets:
            if target.enabled and settings.shard.owns(target.identity):
                owners.setdefault(f"{target.kind}/{target.name}", []).append(ordinal)
    enabled = {f"{t.kind}/{t.name}" for t in targets if t.enabled}
    assert len(targets) > len(enabled), "the example shows a disabled target too"
    assert set(owners) == enabled
    assert all(len(shards) == 1 for shards in owners.values()), owners
    assert {shard for shards in owners.values() for shard in shards} == {0, 1, 2}


def test_config_check_accepts_the_example_as_shard_0(tmp_path: Path) -> None:
    """``livesession-exporter --config.check`` with shard 0's args exits 0 and lists every
    target without printing a secret."""
    config, _ = _as_the_kubelet_would(tmp_path)
    (pod_name, *_) = _pod_names()
    argv, env = _shard_command(pod_name, config)
    result = subprocess.run(
        [sys.executable, "-m", "exporter", "--config.check", *argv],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "configuration OK" in result.stdout
    for name in ("prod-eu", "studio-main", "studio-archive"):
        assert f"name={name} " in result.stdout
    for value in _example_secret().values():
        assert value not in result.stdout + result.stderr


# -- scraping every shard as one job ------------------------------------------------------------


def test_servicemonitor_scrapes_every_pod_of_the_headless_service_as_one_job() -> None:
    """The ServiceMonitor selects the headless Service, whose endpoints are every shard's
    pod on the metrics port, and pins job="livesession-exporter" for all of them."""
    service = one(rendered(OVERLAY), "Service", NAME)
    monitor = one(rendered(OVERLAY), "ServiceMonitor", NAME)
    assert matches(monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"])
    assert matches(service["spec"]["selector"], _pod()["metadata"]["labels"])
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] == _container()["ports"][0]["name"]
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == port["name"]
    assert {"action": "replace", "targetLabel": "job", "replacement": JOB} in endpoint[
        "relabelings"
    ]


def test_shard_alerts_are_installed_and_group_by_job() -> None:
    """The PrometheusRule holds the two shard alerts, which compare shards within a job."""
    rule = one(rendered(OVERLAY), "PrometheusRule", NAME)
    alerts = {
        r["alert"]: r["expr"] for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r
    }
    for name in ("LivesessionShardingMismatch", "LivesessionShardsMissing"):
        assert "by (job)" in alerts[name], name


def test_networkpolicy_selects_the_shards() -> None:
    policy = one(rendered(OVERLAY), "NetworkPolicy", NAME)
    assert matches(policy["spec"]["podSelector"]["matchLabels"], _pod()["metadata"]["labels"])
