"""deploy/kubernetes/secured: the base with /metrics behind ``--web.config.file`` (mutual TLS,
basic auth, headers), probes on the plain health listener, an HTTPS ServiceMonitor.

The overlay renders with the kubectl of the test extras and passes kubernetes-validate
--strict and the prometheus-operator schemas. It changes the base only where it must; the
web configuration and its certificates are one directory projected from Secrets (never
subPath, so a renewed certificate arrives); the example web configuration passes
``promtool check web-config`` with certificates issued by trustme at test time; and the
exporter's own settings parser accepts the container's command line.
"""

from __future__ import annotations

import copy
import functools
import posixpath
import re
from pathlib import Path
from typing import Any

import bcrypt
import pytest
import trustme
import yaml

from exporter.config.settings import Settings
from exporter.sources.registry import SOURCES, all_flags
from tests.deploy.manifests import (
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

OVERLAY = "secured"
DIRECTORY = KUBERNETES / OVERLAY
WEB_SECRET = "livesession-exporter-web"
WEB_TLS_SECRET = "livesession-exporter-web-tls"
SCRAPE_TLS_SECRET = "livesession-exporter-scrape-tls"
SCRAPE_AUTH_SECRET = "livesession-exporter-scrape-auth"
WEB_MOUNT = "/etc/livesession-exporter/web"
WEB_CONFIG_KEY = "web-config.yml"
TLS_KEYS = ("tls.crt", "tls.key", "ca.crt")
"""The keys cert-manager writes into a Certificate's Secret."""
HEALTH_PORT = 9878
EXAMPLE_PASSWORD = "example-password-change-me"
MIN_VERSION = "1.25"
"""The oldest schema kubernetes-validate bundles; the overlay uses nothing newer."""
CRD_VALIDATOR = ROOT / "tools" / "node" / "validate-crds.mjs"
MODELS = Path("@kubernetes-models") / "prometheus-operator" / "monitoring.coreos.com" / "v1"


@functools.cache
def rendered(overlay: str) -> tuple[Manifest, ...]:
    return tuple(documents(kustomize(overlay)))


def _deployment(overlay: str = OVERLAY) -> Manifest:
    return one(rendered(overlay), "Deployment", NAME)


def _pod(overlay: str = OVERLAY) -> Manifest:
    spec: Manifest = _deployment(overlay)["spec"]["template"]["spec"]
    return spec


def _container(overlay: str = OVERLAY) -> Manifest:
    (container,) = _pod(overlay)["containers"]
    assert isinstance(container, dict)
    return container


def _flag(name: str) -> str:
    """The value of ``--name=value`` in the container's args (given exactly once)."""
    args = _container()["args"]
    values = [arg.partition("=")[2] for arg in args if arg.startswith(f"--{name}=")]
    assert len(values) == 1, f"--{name} given {len(values)} times in {args}"
    return str(values[0])


def _examples() -> dict[str, Manifest]:
    """secret.example.yaml's Secrets by name."""
    docs = documents((DIRECTORY / "secret.example.yaml").read_text(encoding="utf-8"))
    assert all(doc["kind"] == "Secret" for doc in docs)
    return {doc["metadata"]["name"]: doc for doc in docs}


def _example_web_config_text() -> str:
    text: str = _examples()[WEB_SECRET]["stringData"][WEB_CONFIG_KEY]
    return text


def _certificates() -> dict[str, Manifest]:
    """certificate.example.yaml's Certificates by name."""
    docs = documents((DIRECTORY / "certificate.example.yaml").read_text(encoding="utf-8"))
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == "Certificate"}


def _endpoint() -> Manifest:
    (endpoint,) = one(rendered(OVERLAY), "ServiceMonitor", NAME)["spec"]["endpoints"]
    assert isinstance(endpoint, dict)
    return endpoint


def _web_volume() -> Manifest:
    (volume,) = [v for v in _pod()["volumes"] if v["name"] == "web"]
    assert isinstance(volume, dict)
    return volume


# -- schemas -----------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [MIN_VERSION, "latest"])
def test_overlay_passes_kubernetes_validate_strict(version: str) -> None:
    """kubectl kustomize secured | kubernetes-validate --strict, oldest and newest schema."""
    command = [venv_tool("kubernetes-validate"), "--strict"]
    if version != "latest":
        command += ["-k", version]
    result = run([*command, "-"], stdin=kustomize(OVERLAY))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "ERROR" not in output
    for resource in ("deployment", "networkpolicy", "service"):
        assert f"passed for resource {resource}/{NAME}" in output, output


def test_example_secrets_pass_kubernetes_validate_strict() -> None:
    result = run(
        [venv_tool("kubernetes-validate"), "--strict", str(DIRECTORY / "secret.example.yaml")]
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    for name in (WEB_SECRET, WEB_TLS_SECRET, SCRAPE_TLS_SECRET, SCRAPE_AUTH_SECRET):
        assert f"passed for resource secret/{name}" in output, output


def _validate_crds(text: str) -> tuple[int, str]:
    node_modules()
    result = run([system_tool("node", "nodejs"), str(CRD_VALIDATOR), "-"], stdin=text)
    return result.returncode, result.stdout + result.stderr


def test_custom_resources_match_the_operator_schemas() -> None:
    code, output = _validate_crds(kustomize(OVERLAY))
    assert code == 0, output
    assert f"ok ServiceMonitor/{NAME}\n" in output
    assert f"ok PrometheusRule/{NAME}\n" in output


def test_validator_checks_the_secured_endpoint() -> None:
    """A scheme outside the CRD's enum fails, so the check above looks at this endpoint."""
    broken = kustomize(OVERLAY).replace("scheme: https", "scheme: ftp")
    code, output = _validate_crds(broken)
    assert code == 1, output
    assert f"invalid ServiceMonitor/{NAME}" in output


def _declared(model: Path) -> set[str]:
    """The properties a @kubernetes-models declaration file declares (``"name"?: ...``)."""
    text = (node_modules() / model).read_text(encoding="utf-8")
    return set(re.findall(r'^\s+"(\w+)"\??:', text, flags=re.MULTILINE))


def test_servicemonitor_uses_only_field_names_the_operator_declares() -> None:
    """The operator's schema does not refuse unknown fields (a misspelt ``servername`` would
    validate and be ignored), so every key the overlay writes is looked up in the models."""
    endpoint_fields = _declared(MODELS / "Endpoint.d.ts")
    tls_fields = _declared(MODELS / "TLSConfig.d.ts")
    auth_fields = _declared(MODELS / "BasicAuth.d.ts")
    selector_fields = _declared(Path("kubernetes-models") / "v1" / "SecretKeySelector.d.ts")
    source_fields = _declared(MODELS / "SecretOrConfigMap.d.ts")
    assert {"scheme", "tlsConfig", "basicAuth"} <= endpoint_fields
    endpoint = _endpoint()
    assert set(endpoint) <= endpoint_fields
    tls = endpoint["tlsConfig"]
    assert set(tls) <= tls_fields
    for name in ("ca", "cert"):
        assert set(tls[name]) <= source_fields
        assert set(tls[name]["secret"]) <= selector_fields
    assert set(tls["keySecret"]) <= selector_fields
    assert set(endpoint["basicAuth"]) <= auth_fields
    for selector in endpoint["basicAuth"].values():
        assert set(selector) <= selector_fields


# -- what the overlay changes, and only that ---------------------------------------------------


def test_overlay_renders_the_base_set_without_secrets() -> None:
    """The base's resources, no more; the Secrets are made out of band."""
    assert kinds(rendered(OVERLAY)) == kinds(rendered("base"))
    assert "Secret" not in kinds(rendered(OVERLAY))
    kustomization = load_yaml(DIRECTORY / "kustomization.yaml")
    assert kustomization["resources"] == ["../base"]
    patches = {patch["path"] for patch in kustomization["patches"]}
    assert not patches & {"secret.example.yaml", "certificate.example.yaml"}


@pytest.mark.parametrize("kind", ["ServiceAccount", "ConfigMap", "Service", "PrometheusRule"])
def test_resources_the_overlay_does_not_touch_are_the_base_ones(kind: str) -> None:
    """The Service in particular still exposes the metrics port only: the health listener is
    for the kubelet, which probes the pod directly."""
    assert one(rendered(OVERLAY), kind) == one(rendered("base"), kind)


def test_deployment_differs_from_the_base_only_in_the_web_wiring() -> None:
    """Same pod, security contexts, resources, env and credentials; new args, health port,
    probes on it, the web volume and its mount."""
    secured, base = copy.deepcopy(_deployment()), copy.deepcopy(_deployment("base"))
    for deployment in (secured, base):
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        container.pop("args", None)
        container["ports"] = [p for p in container["ports"] if p["name"] != "health"]
        container["volumeMounts"] = [m for m in container["volumeMounts"] if m["name"] != "web"]
        for probe in ("livenessProbe", "readinessProbe"):
            container[probe].pop("httpGet")
        pod["volumes"] = [v for v in pod["volumes"] if v["name"] != "web"]
    assert secured == base


def test_container_args_are_the_web_config_file_and_the_health_listener() -> None:
    """Exactly the two flags, as the exporter names them."""
    flags = {flag.name for flag in all_flags()}
    assert {"web.config.file", "web.health-listen-address"} <= flags
    assert _container()["args"] == [
        f"--web.config.file={WEB_MOUNT}/{WEB_CONFIG_KEY}",
        f"--web.health-listen-address=:{HEALTH_PORT}",
    ]


def test_ports_are_metrics_and_health_on_the_flag_addresses() -> None:
    """metrics 9877 as in the base; health is the port of --web.health-listen-address."""
    ports = {port["name"]: port for port in _container()["ports"]}
    assert ports == {
        "metrics": {"name": "metrics", "containerPort": 9877, "protocol": "TCP"},
        "health": {"name": "health", "containerPort": HEALTH_PORT, "protocol": "TCP"},
    }
    assert _flag("web.health-listen-address").rpartition(":")[2] == str(HEALTH_PORT)


@pytest.mark.parametrize(
    ("probe", "path"), [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")]
)
def test_probes_ask_the_health_listener_in_plain_http_without_credentials(
    probe: str, path: str
) -> None:
    """The kubelet cannot present a client certificate, and a password in httpHeaders would
    sit in clear text in the pod spec: the probes go to the plain health port instead, with
    the base's timings."""
    secured, base = _container()[probe], _container("base")[probe]
    assert secured["httpGet"] == {"path": path, "port": "health"}
    assert {k: v for k, v in secured.items() if k != "httpGet"} == {
        k: v for k, v in base.items() if k != "httpGet"
    }
    assert "startupProbe" not in _container()


def test_web_directory_is_projected_from_the_two_secrets_without_subpath() -> None:
    """One read-only directory at the web config's directory: web-config.yml from the Secret
    you write, tls.crt/tls.key/ca.crt from the one cert-manager can own. Whole-directory,
    so the kubelet's updates (a renewed certificate) reach the running exporter."""
    volume = _web_volume()
    projected = volume["projected"]
    assert projected["defaultMode"] & 0o077 == 0o040, "readable by the pod's group only"
    sources = [source["secret"] for source in projected["sources"]]
    assert sources == [
        {"name": WEB_SECRET, "items": [{"key": WEB_CONFIG_KEY, "path": WEB_CONFIG_KEY}]},
        {"name": WEB_TLS_SECRET, "items": [{"key": key, "path": key} for key in TLS_KEYS]},
    ]
    (mount,) = [m for m in _container()["volumeMounts"] if m["name"] == "web"]
    assert mount == {"name": "web", "mountPath": WEB_MOUNT, "readOnly": True}
    assert posixpath.dirname(_flag("web.config.file")) == WEB_MOUNT
    for other in _container()["volumeMounts"]:
        assert "subPath" not in other, other
        assert "subPathExpr" not in other, other
    # The base's credentials stay where they were.
    (credentials,) = [m for m in _container()["volumeMounts"] if m["name"] == "credentials"]
    assert credentials == next(
        m for m in _container("base")["volumeMounts"] if m["name"] == "credentials"
    )
    (volume_of_secret,) = [
        v for v in _pod()["volumes"] if v.get("secret", {}).get("secretName") == SECRET
    ]
    assert volume_of_secret["name"] == "credentials"


def test_web_config_names_only_files_of_the_projected_directory() -> None:
    """Every relative path of the example web configuration is one of the projected keys."""
    config = yaml.safe_load(_example_web_config_text())
    tls = config["tls_server_config"]
    named = {tls["cert_file"], tls["key_file"], tls["client_ca_file"]}
    assert named == set(TLS_KEYS)
    projected = {
        item["path"]
        for source in _web_volume()["projected"]["sources"]
        for item in source["secret"]["items"]
    }
    assert named <= projected
    assert not any(posixpath.isabs(path) for path in named)


def test_servicemonitor_scrapes_https_with_a_client_certificate_and_basic_auth() -> None:
    """scheme https; tlsConfig with the CA, the client certificate and key, and serverName;
    basicAuth from Secret keys. The base's port, path, interval and job relabeling stay."""
    endpoint = _endpoint()
    (base_endpoint,) = one(rendered("base"), "ServiceMonitor", NAME)["spec"]["endpoints"]
    assert endpoint["scheme"] == "https"
    assert endpoint["tlsConfig"] == {
        "ca": {"secret": {"name": SCRAPE_TLS_SECRET, "key": "ca.crt"}},
        "cert": {"secret": {"name": SCRAPE_TLS_SECRET, "key": "tls.crt"}},
        "keySecret": {"name": SCRAPE_TLS_SECRET, "key": "tls.key"},
        "serverName": NAME,
    }
    assert "insecureSkipVerify" not in endpoint["tlsConfig"]
    assert endpoint["basicAuth"] == {
        "username": {"name": SCRAPE_AUTH_SECRET, "key": "username"},
        "password": {"name": SCRAPE_AUTH_SECRET, "key": "password"},
    }
    kept = {k: v for k, v in endpoint.items() if k not in ("scheme", "tlsConfig", "basicAuth")}
    assert kept == base_endpoint
    assert endpoint["port"] == "metrics"


def test_servicemonitor_secrets_are_keys_of_the_example_secrets() -> None:
    """Every Secret key the ServiceMonitor reads exists in secret.example.yaml; the example
    user and password are the ones the example web configuration accepts."""
    examples = _examples()
    endpoint = _endpoint()
    tls = endpoint["tlsConfig"]
    selectors = [
        tls["ca"]["secret"],
        tls["cert"]["secret"],
        tls["keySecret"],
        *endpoint["basicAuth"].values(),
    ]
    for selector in selectors:
        assert selector["key"] in examples[selector["name"]]["stringData"], selector
    auth = examples[SCRAPE_AUTH_SECRET]["stringData"]
    users = yaml.safe_load(_example_web_config_text())["basic_auth_users"]
    assert auth["password"] == EXAMPLE_PASSWORD
    assert bcrypt.checkpw(auth["password"].encode(), users[auth["username"]].encode())


def test_networkpolicy_admits_the_health_port_and_keeps_the_rest() -> None:
    """The base's rules unchanged, plus one: the health port from any source (the kubelet
    probes from its node's address, which no selector matches). Egress unchanged."""
    secured = one(rendered(OVERLAY), "NetworkPolicy", NAME)["spec"]
    base = one(rendered("base"), "NetworkPolicy", NAME)["spec"]
    assert secured["ingress"][:-1] == base["ingress"]
    assert secured["ingress"][-1] == {"ports": [{"protocol": "TCP", "port": "health"}]}
    assert {k: v for k, v in secured.items() if k != "ingress"} == {
        k: v for k, v in base.items() if k != "ingress"
    }
    assert matches(
        secured["podSelector"]["matchLabels"],
        _deployment()["spec"]["template"]["metadata"]["labels"],
    )


# -- the example web configuration --------------------------------------------------------------


def test_example_web_config_requires_mutual_tls_basic_auth_and_headers() -> None:
    config = yaml.safe_load(_example_web_config_text())
    assert set(config) == {"tls_server_config", "basic_auth_users", "http_server_config"}
    assert config["tls_server_config"] == {
        "cert_file": "tls.crt",
        "key_file": "tls.key",
        "client_auth_type": "RequireAndVerifyClientCert",
        "client_ca_file": "ca.crt",
    }
    assert config["http_server_config"] == {
        "headers": {
            "Strict-Transport-Security": "max-age=31536000",
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "deny",
        }
    }
    ((user, hashed),) = config["basic_auth_users"].items()
    assert user == "prometheus"
    assert bcrypt.checkpw(EXAMPLE_PASSWORD.encode(), hashed.encode())
    assert not bcrypt.checkpw(b"wrong", hashed.encode())
    assert EXAMPLE_PASSWORD in _example_web_config_text(), "the comment names the password"


def _project_web_directory(directory: Path, *, with_key: bool = True) -> Path:
    """What the kubelet would project at /etc/livesession-exporter/web, with a serving
    certificate (for the ServiceMonitor's serverName) and a client CA from trustme."""
    server_ca, client_ca = trustme.CA(), trustme.CA()
    server = server_ca.issue_cert(NAME)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / WEB_CONFIG_KEY).write_text(_example_web_config_text(), encoding="utf-8")
    (directory / "tls.crt").write_bytes(b"".join(blob.bytes() for blob in server.cert_chain_pems))
    if with_key:
        (directory / "tls.key").write_bytes(server.private_key_pem.bytes())
    (directory / "ca.crt").write_bytes(client_ca.cert_pem.bytes())
    return directory / WEB_CONFIG_KEY


def _promtool_check_web_config(path: Path) -> tuple[int, str]:
    # Run from elsewhere: relative paths must resolve against the file's directory.
    result = run(
        [system_tool("promtool", "prometheus"), "check", "web-config", str(path)], cwd=Path("/")
    )
    return result.returncode, result.stdout + result.stderr


def test_example_web_config_passes_promtool_check_web_config(tmp_path: Path) -> None:
    """promtool (the exporter-toolkit's own validator) loads the key pair and the client CA
    the example names, from the file's directory, and accepts the whole file."""
    code, output = _promtool_check_web_config(_project_web_directory(tmp_path / "web"))
    assert code == 0, output
    assert "SUCCESS" in output


def test_promtool_really_reads_the_projected_files(tmp_path: Path) -> None:
    """Without tls.key in the directory the same file fails, so the check above is real."""
    path = _project_web_directory(tmp_path / "web", with_key=False)
    code, output = _promtool_check_web_config(path)
    assert code == 1, output
    assert "tls.key" in output


def test_exporter_accepts_the_container_command_line(tmp_path: Path) -> None:
    """The exporter's own settings parser takes the container's args and environment, with
    the Secrets' files where the kubelet would put them."""
    web = _project_web_directory(tmp_path / "web").parent
    credentials = tmp_path / "secrets"
    credentials.mkdir()
    example = load_yaml(KUBERNETES / "base" / "secret.example.yaml")
    for key, value in example["stringData"].items():
        (credentials / key).write_text(f"{value}\n", encoding="utf-8")
    (source,) = _container()["envFrom"]
    env = dict(one(rendered(OVERLAY), "ConfigMap", source["configMapRef"]["name"])["data"])
    local_env = {
        name: value.replace("/etc/livesession-exporter/secrets", str(credentials))
        for name, value in env.items()
    }
    argv = [arg.replace(WEB_MOUNT, str(web)) for arg in _container()["args"]]
    settings = Settings.from_sources(argv, local_env, SOURCES)
    assert settings.web_config_file == str(web / WEB_CONFIG_KEY)
    assert settings.health_listen_address is not None
    assert (settings.health_listen_address.host, settings.health_listen_address.port) == (
        "",
        HEALTH_PORT,
    )


# -- the cert-manager example -------------------------------------------------------------------


def _spec(certificate: Manifest) -> dict[str, Any]:
    spec: dict[str, Any] = certificate["spec"]
    return spec


def test_certificate_example_writes_the_secrets_the_overlay_reads() -> None:
    """The serving certificate goes to the projected TLS Secret and carries the
    ServiceMonitor's serverName; the client certificate goes to the Secret the
    ServiceMonitor reads. Both come from one CA Issuer, so each Secret's ca.crt is the CA
    that signed the other side's certificate."""
    certificates = _certificates()
    server = _spec(certificates[WEB_TLS_SECRET])
    client = _spec(certificates[SCRAPE_TLS_SECRET])
    assert server["secretName"] == WEB_TLS_SECRET
    assert client["secretName"] == SCRAPE_TLS_SECRET
    assert _endpoint()["tlsConfig"]["serverName"] in server["dnsNames"]
    assert "server auth" in server["usages"]
    assert "client auth" in client["usages"]
    assert server["issuerRef"] == client["issuerRef"]
    ca = _spec(certificates[server["issuerRef"]["name"]])
    assert ca["isCA"] is True
    for spec in (server, client):
        assert spec["privateKey"]["rotationPolicy"] == "Always", "a new key on each renewal"
        renew_before, duration = (
            int(spec[key].removesuffix("h")) for key in ("renewBefore", "duration")
        )
        assert 0 < renew_before < duration


def test_readme_documents_the_overlay() -> None:
    """deploy/kubernetes/README.md explains the Secrets, cert-manager, the probes and rotation."""
    readme = (KUBERNETES / "README.md").read_text(encoding="utf-8")
    for needle in (
        "## Secured (`secured/`)",
        "certificate.example.yaml",
        "--web.health-listen-address",
        "kubectl -n monitoring create secret generic livesession-exporter-web ",
    ):
        assert needle in readme, needle
