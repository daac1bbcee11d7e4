"""deploy/compose/compose.secured.yaml: the compose stack with the exporter behind its web
configuration (mutual TLS, basic auth) and Prometheus scraping it over HTTPS.

No container engine runs here, so the override is checked against the Compose
specification's schema and merged with compose.yaml the way Compose merges files; then
deploy/compose/secured/generate-certs.sh runs in a copy of the repository's layout, and its
output is checked with ``promtool check web-config``, ``promtool check config``, a real
mutual-TLS handshake, and the example password against the configured hash.
"""

from __future__ import annotations

import functools
import os
import posixpath
import shutil
import socket
import ssl
import stat
import threading
from pathlib import Path, PurePosixPath
from typing import Any

import bcrypt
import pytest
import yaml
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from exporter.config.settings import Settings
from exporter.sources.registry import SOURCES
from tests.deploy.manifests import COMPOSE, JOB, KUBERNETES, ROOT, load_yaml, run
from tests.support.tools import system_tool, venv_tool

OVERRIDE = COMPOSE / "compose.secured.yaml"
SECURED = COMPOSE / "secured"
GENERATE = SECURED / "generate-certs.sh"
WEB_CONFIG = SECURED / "web" / "web-config.yml"
PROMETHEUS_CONFIG = SECURED / "prometheus" / "prometheus.yml"
RULES = ROOT / "deploy" / "prometheus" / "livesession-exporter.rules.yml"
EXAMPLE_PASSWORD = "example-password-change-me"
GENERATED = {
    "ca/ca.crt",
    "ca/ca.key",
    "web/tls.crt",
    "web/tls.key",
    "web/ca.crt",
    "prometheus/ca.crt",
    "prometheus/client.crt",
    "prometheus/client.key",
    "prometheus/password",
}
"""What generate-certs.sh writes (and .gitignore keeps out of the repository)."""


@functools.cache
def _base() -> dict[str, Any]:
    document: dict[str, Any] = load_yaml(COMPOSE / "compose.yaml")
    return document


@functools.cache
def _override() -> dict[str, Any]:
    document: dict[str, Any] = load_yaml(OVERRIDE)
    return document


def _merged(name: str) -> dict[str, Any]:
    """A service as ``docker compose -f compose.yaml -f compose.secured.yaml`` sees it: the
    override's ``command`` and ``healthcheck`` replace the base's, ``volumes`` merge by their
    container path, everything else the override leaves alone stays."""
    base: dict[str, Any] = dict(_base()["services"][name])
    override: dict[str, Any] = _override()["services"][name]
    merged = {**base, **{k: v for k, v in override.items() if k != "volumes"}}
    volumes = {volume.split(":")[1]: volume for volume in base.get("volumes", [])}
    volumes.update({volume.split(":")[1]: volume for volume in override.get("volumes", [])})
    merged["volumes"] = list(volumes.values())
    return merged


def _mounts(name: str) -> dict[PurePosixPath, Path]:
    """The merged service's bind mounts: container path -> repository path (read-only, and
    relative to compose.yaml's directory, as Compose resolves every -f file's paths)."""
    mounts: dict[PurePosixPath, Path] = {}
    for volume in _merged(name)["volumes"]:
        host, container, mode = volume.split(":")
        assert mode == "ro", f"{name}: {volume} should be read-only"
        assert host.startswith("."), f"{name}: {volume} is not a bind mount of the repository"
        mounts[PurePosixPath(container)] = (COMPOSE / host).resolve()
    return mounts


def _host_path(name: str, inside: PurePosixPath) -> Path:
    for target, source in _mounts(name).items():
        if inside == target or target in inside.parents:
            return source / inside.relative_to(target)
    raise AssertionError(f"{name}: {inside} is not mounted from the repository")


def _flag(command: list[str], name: str) -> str:
    values = [arg.partition("=")[2] for arg in command if arg.startswith(f"--{name}=")]
    assert len(values) == 1, f"--{name} given {len(values)} times in {command}"
    return values[0]


# -- the override, merged ------------------------------------------------------------------------


def test_override_follows_the_compose_specification() -> None:
    result = run(
        [venv_tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(OVERRIDE)]
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_override_changes_only_the_exporter_and_prometheus() -> None:
    """No new service, no new port: the same stack, secured; grafana is untouched."""
    assert set(_override()) == {"services"}
    services = _override()["services"]
    assert set(services) == {"exporter", "prometheus"}
    assert set(services["exporter"]) == {"command", "volumes", "healthcheck"}
    assert set(services["prometheus"]) == {"command", "volumes"}


def test_exporter_keeps_the_demo_and_reads_the_mounted_web_config() -> None:
    """The base's --demo and listen address stay; --web.config.file is the repository's
    web/web-config.yml, through a mount of its whole directory."""
    base_command = _base()["services"]["exporter"]["command"]
    command = _merged("exporter")["command"]
    assert command[: len(base_command)] == base_command
    inside = PurePosixPath(_flag(command, "web.config.file"))
    assert _host_path("exporter", inside) == WEB_CONFIG
    assert _mounts("exporter")[inside.parent] == WEB_CONFIG.parent, "the directory is mounted"
    assert WEB_CONFIG.parent.is_dir()


def test_exporter_health_check_asks_the_health_listener() -> None:
    """The image's HEALTHCHECK would ask the main port, which now wants a certificate and a
    password: the override's asks /healthz on --web.health-listen-address, on loopback."""
    command = _merged("exporter")["command"]
    health = _flag(command, "web.health-listen-address")
    host, _, port = health.rpartition(":")
    assert host == "127.0.0.1"
    test = _merged("exporter")["healthcheck"]["test"]
    assert test[0] == "CMD"
    assert f"http://127.0.0.1:{port}/healthz" in " ".join(test)


def test_exporter_command_line_is_accepted_by_its_settings_parser() -> None:
    """The merged command, with the mount's path as it is in the repository."""
    command = [
        arg.replace("/etc/livesession-exporter/web", str(WEB_CONFIG.parent))
        for arg in _merged("exporter")["command"]
    ]
    settings = Settings.from_sources(command, {}, SOURCES)
    assert settings.web_config_file == str(WEB_CONFIG)
    assert settings.health_listen_address is not None
    assert settings.health_listen_address.host == "127.0.0.1"


def test_prometheus_loads_the_secured_config_and_the_projects_rules() -> None:
    """--config.file is secured/prometheus/prometheus.yml through its directory's mount; its
    rule file resolves to deploy/prometheus's in the container and in the repository; the
    base's other flags stay."""
    base_command = _base()["services"]["prometheus"]["command"]
    command = _merged("prometheus")["command"]
    assert [a for a in command if not a.startswith("--config.file=")] == [
        a for a in base_command if not a.startswith("--config.file=")
    ]
    config_inside = PurePosixPath(_flag(command, "config.file"))
    assert _host_path("prometheus", config_inside) == PROMETHEUS_CONFIG
    assert _mounts("prometheus")[config_inside.parent] == PROMETHEUS_CONFIG.parent
    (rule_file,) = load_yaml(PROMETHEUS_CONFIG)["rule_files"]
    inside = PurePosixPath(posixpath.normpath(config_inside.parent / rule_file))
    assert _host_path("prometheus", inside) == RULES
    assert (PROMETHEUS_CONFIG.parent / rule_file).resolve() == RULES


def test_prometheus_scrapes_the_exporter_over_https_with_a_certificate_and_a_password() -> None:
    """One job, the rules' name, https, a client certificate, the exporter's name checked,
    basic auth from a file, as the user web-config.yml knows; all paths relative."""
    (job,) = load_yaml(PROMETHEUS_CONFIG)["scrape_configs"]
    assert job["job_name"] == JOB
    assert job["scheme"] == "https"
    assert job["tls_config"] == {
        "ca_file": "ca.crt",
        "cert_file": "client.crt",
        "key_file": "client.key",
        "server_name": "exporter",
    }
    assert job["basic_auth"] == {"username": "prometheus", "password_file": "password"}
    assert job["basic_auth"]["username"] in load_yaml(WEB_CONFIG)["basic_auth_users"]
    listen = _flag(_merged("exporter")["command"], "web.listen-address")
    assert job["static_configs"] == [{"targets": [f"exporter{listen}"]}]
    tls = job["tls_config"]
    for name in (tls["ca_file"], tls["cert_file"], tls["key_file"], "password"):
        assert f"prometheus/{name}" in GENERATED, name


def test_web_config_is_the_kubernetes_example() -> None:
    """One example web configuration: compose's file is the Kubernetes example Secret's
    web-config.yml, so the two cannot drift apart."""
    docs = yaml.safe_load_all(
        (KUBERNETES / "secured" / "secret.example.yaml").read_text(encoding="utf-8")
    )
    (secret,) = [d for d in docs if d["metadata"]["name"] == "livesession-exporter-web"]
    kubernetes = yaml.safe_load(secret["stringData"]["web-config.yml"])
    assert load_yaml(WEB_CONFIG) == kubernetes
    for name in ("cert_file", "key_file", "client_ca_file"):
        assert f"web/{kubernetes['tls_server_config'][name]}" in GENERATED


def test_gitignore_keeps_every_generated_file_out() -> None:
    lines = (SECURED / ".gitignore").read_text(encoding="utf-8").splitlines()
    ignored = {line.strip("/") for line in lines if line and not line.startswith("#")}
    for path in GENERATED:
        assert path in ignored or path.partition("/")[0] in ignored, path
    assert ".work.*" in ignored, "the script's scratch directory"


# -- generate-certs.sh, run -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """generate-certs.sh run in a copy of deploy/compose/secured (beside a copy of the rules,
    at the same relative place as in the repository); returns the copy's directory."""
    root = tmp_path_factory.mktemp("repo")
    copy = root / "deploy" / "compose" / "secured"
    shutil.copytree(
        SECURED,
        copy,
        ignore=shutil.ignore_patterns(
            *sorted({posixpath.basename(p) for p in GENERATED}), "ca", ".work.*"
        ),
    )
    (root / "deploy" / "prometheus").mkdir(parents=True)
    shutil.copy(RULES, root / "deploy" / "prometheus" / RULES.name)
    system_tool("openssl", "openssl")
    result = run(["bash", str(copy / GENERATE.name)], cwd=Path("/"))
    assert result.returncode == 0, result.stdout + result.stderr
    return copy


def test_script_writes_every_file_the_configs_name(generated: Path) -> None:
    written = {str(path.relative_to(generated)) for path in generated.rglob("*") if path.is_file()}
    assert GENERATED.issubset(written)
    assert not [path for path in generated.iterdir() if path.name.startswith(".work.")]


def test_containers_can_read_the_mounted_files_but_not_the_ca_key(generated: Path) -> None:
    """The exporter (uid 10001) and Prometheus (nobody) read the bind mounts as other users
    than the one who ran the script; the CA's key, never mounted, stays private."""
    for path in GENERATED - {"ca/ca.key"}:
        assert os.stat(generated / path).st_mode & stat.S_IROTH, path
    assert stat.S_IMODE(os.stat(generated / "ca" / "ca.key").st_mode) == 0o600


def test_promtool_accepts_the_web_config_with_the_generated_files(generated: Path) -> None:
    result = run(
        [
            system_tool("promtool", "prometheus"),
            "check",
            "web-config",
            str(generated / "web" / "web-config.yml"),
        ],
        cwd=Path("/"),
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "SUCCESS" in output


def test_promtool_accepts_the_prometheus_config_with_the_generated_files(generated: Path) -> None:
    """promtool check config reads the CA, the client key pair and the password file."""
    result = run(
        [
            system_tool("promtool", "prometheus"),
            "check",
            "config",
            str(generated / "prometheus" / "prometheus.yml"),
        ],
        cwd=Path("/"),
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "SUCCESS: 1 rule files found" in output


def _server_context(generated: Path) -> ssl.SSLContext:
    """What web-config.yml asks of the exporter: its key pair, a client certificate from ca.crt."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(generated / "web" / "tls.crt", generated / "web" / "tls.key")
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(generated / "web" / "ca.crt")
    return context


def _client_context(generated: Path, *, certificate: bool = True) -> ssl.SSLContext:
    """What prometheus.yml's tls_config gives Prometheus."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(generated / "prometheus" / "ca.crt")
    if certificate:
        context.load_cert_chain(
            generated / "prometheus" / "client.crt", generated / "prometheus" / "client.key"
        )
    return context


def _handshake(server: ssl.SSLContext, client: ssl.SSLContext, name: str) -> str:
    """Both ends of a TLS handshake over a socket pair, then one message from the server.
    Returns the client certificate's CN as the server saw it; raises the server's error when
    it refused the client."""
    left, right = socket.socketpair()
    seen: list[str] = []
    refused: list[ssl.SSLError] = []

    def serve() -> None:
        try:
            with server.wrap_socket(left, server_side=True) as tls:
                der = tls.getpeercert(binary_form=True)
                assert der is not None
                peer = x509.load_der_x509_certificate(der).subject
                seen.extend(str(a.value) for a in peer.get_attributes_for_oid(NameOID.COMMON_NAME))
                tls.sendall(b"ok")
        except ssl.SSLError as exc:
            refused.append(exc)

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        with client.wrap_socket(right, server_hostname=name) as tls:
            answer = tls.recv(2)
    except (ssl.SSLError, ConnectionError):
        answer = b""
    finally:
        right.close()
        thread.join(timeout=10)
        left.close()
    if refused:
        raise refused[0]
    assert answer == b"ok"
    return ",".join(seen)


@pytest.mark.parametrize("name", ["exporter", "localhost"])
def test_mutual_tls_handshake_succeeds_with_the_generated_files(generated: Path, name: str) -> None:
    """Prometheus (server_name exporter) and curl on the host (localhost) verify the
    exporter's certificate; the exporter verifies Prometheus' (CN prometheus)."""
    assert _handshake(_server_context(generated), _client_context(generated), name) == (
        "prometheus"
    )


def test_a_client_without_a_certificate_is_refused(generated: Path) -> None:
    """So the handshake above proves that the client certificate is checked."""
    without = _client_context(generated, certificate=False)
    with pytest.raises(ssl.SSLError, match=r"(?i)certificate"):
        _handshake(_server_context(generated), without, "exporter")


def test_the_password_file_holds_the_password_web_config_hashes(generated: Path) -> None:
    password = (generated / "prometheus" / "password").read_bytes()
    assert password == EXAMPLE_PASSWORD.encode()
    (hashed,) = load_yaml(generated / "web" / "web-config.yml")["basic_auth_users"].values()
    assert bcrypt.checkpw(password, hashed.encode())


def test_certificates_carry_the_names_and_usages_the_configs_rely_on(generated: Path) -> None:
    server = x509.load_pem_x509_certificate((generated / "web" / "tls.crt").read_bytes())
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"exporter", "localhost"} <= set(names.get_values_for_type(x509.DNSName))
    server_usage = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in server_usage
    client = x509.load_pem_x509_certificate((generated / "prometheus" / "client.crt").read_bytes())
    client_usage = client.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in client_usage


def test_running_the_script_again_renews_the_certificates_with_the_same_ca(
    generated: Path,
) -> None:
    """Rotation: a second run keeps the CA and issues new certificates, and the old client
    certificate still passes the exporter's check, so no side needs a restart."""
    before = {path: (generated / path).read_bytes() for path in GENERATED}
    result = run(["bash", str(generated / GENERATE.name)], cwd=Path("/"))
    assert result.returncode == 0, result.stdout + result.stderr
    after = {path: (generated / path).read_bytes() for path in GENERATED}
    for same in (
        "ca/ca.crt",
        "ca/ca.key",
        "web/ca.crt",
        "prometheus/ca.crt",
        "prometheus/password",
    ):
        assert after[same] == before[same], same
    for renewed in ("web/tls.crt", "web/tls.key", "prometheus/client.crt", "prometheus/client.key"):
        assert after[renewed] != before[renewed], renewed
    assert _handshake(_server_context(generated), _client_context(generated), "exporter")
