"""The real Prometheus scrapes the exporter over HTTPS with mutual TLS and basic auth.

The exporter runs with a ``--web.config.file`` like an operator's: its certificate and the
client CA issued by trustme, ``RequireAndVerifyClientCert``, one bcrypt user. Prometheus 2.42
scrapes it with the matching ``tls_config`` and ``basic_auth`` and must record ``up == 1``;
a second job without a client certificate and a third with a wrong password must record
``up == 0``, with the error Prometheus reports for each.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bcrypt
import httpx
import pytest
import trustme

from tests.e2e.prometheus import PrometheusServer
from tests.support.processes import ExporterProcess, wait_for
from tests.support.tools import system_tool

PASSWORD = "scrape-password-for-this-test"


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ExporterProcess, Path]]:
    """The exporter in ``--demo`` behind mTLS and basic auth, and the directory of the files."""
    directory = tmp_path_factory.mktemp("secured")
    ca = trustme.CA()
    ca.cert_pem.write_to_path(directory / "ca.crt")
    server = ca.issue_cert("localhost", "127.0.0.1")
    server.cert_chain_pems[0].write_to_path(directory / "server.crt")
    server.private_key_pem.write_to_path(directory / "server.key")
    client = ca.issue_cert("prometheus")
    client.cert_chain_pems[0].write_to_path(directory / "client.crt")
    client.private_key_pem.write_to_path(directory / "client.key")
    (directory / "password").write_text(PASSWORD)
    (directory / "wrong-password").write_text("not-" + PASSWORD)
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(10)).decode()
    (directory / "web-config.yml").write_text(
        "tls_server_config:\n"
        "  cert_file: server.crt\n"
        "  key_file: server.key\n"
        "  client_auth_type: RequireAndVerifyClientCert\n"
        "  client_ca_file: ca.crt\n"
        f"basic_auth_users:\n  prometheus: {hashed}\n"
    )
    process = ExporterProcess(
        ["--demo", f"--web.config.file={directory / 'web-config.yml'}"]
    ).start()
    try:
        yield process, directory
    finally:
        try:
            process.terminate(within=10)
        finally:
            process.kill()


def _job(name: str, target: str, directory: Path, **tls: str) -> dict[str, Any]:
    password = "wrong-password" if name == "wrong_password" else "password"
    return {
        "job_name": name,
        "scheme": "https",
        "tls_config": {
            "ca_file": str(directory / "ca.crt"),
            "server_name": "localhost",
            **{key: str(directory / value) for key, value in tls.items()},
        },
        "basic_auth": {"username": "prometheus", "password_file": str(directory / password)},
        "static_configs": [{"targets": [target]}],
    }


def test_prometheus_scrapes_over_mtls_with_basic_auth(
    secured: tuple[ExporterProcess, Path], tmp_path: Path
) -> None:
    """With the client certificate and the password, up is 1 and the data is stored;
    without the certificate, or with a wrong password, up is 0."""
    exporter, directory = secured
    url = httpx.URL(exporter.url)
    assert url.scheme == "https"
    target = f"{url.host}:{url.port}"
    client = {"cert_file": "client.crt", "key_file": "client.key"}
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [
            _job("secured", target, directory, **client),
            _job("no_client_cert", target, directory),
            _job("wrong_password", target, directory, **client),
        ],
    }
    with PrometheusServer(system_tool("prometheus", "prometheus"), tmp_path, config) as server:
        wait_for(
            lambda: (
                server.query('up{job="secured"} == 1')
                and server.query('livekit_cloud_sessions_active{job="secured"}')
            ),
            within=60,
            what="Prometheus to scrape the secured exporter",
        )
        wait_for(
            lambda: len(server.query("up == 0")) == 2,
            within=30,
            what="both refused jobs to record up == 0",
        )
        errors = {
            t["labels"]["job"]: t["lastError"]
            for t in httpx.get(f"{server.url}/api/v1/targets").json()["data"]["activeTargets"]
        }
    assert errors["secured"] == ""
    assert "401 Unauthorized" in errors["wrong_password"]
    assert errors["no_client_cert"] != ""
    assert "401" not in errors["no_client_cert"]  # refused in the handshake, before HTTP
