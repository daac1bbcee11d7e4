"""The real exporter process with ``--web.config.file``: what an operator sees at runtime.

Start-up refusal (exit 2), the file re-read per request (a user added works at once; a
broken file answers 500 over HTTP and fails TLS handshakes, logged once), a certificate
rotated on disk served by the next connection, and the probes' plain listener.
"""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import httpx
import pytest
import trustme

from tests.support.processes import ROOT, ExporterProcess, clean_env, wait_for


def _hash(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()


def _write(path: Path, text: str) -> None:
    """Replace ``path`` atomically, as an editor or a kubelet does."""
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


@pytest.fixture
def plain(tmp_path: Path) -> Iterator[tuple[ExporterProcess, Path]]:
    config = tmp_path / "web.yml"
    config.write_text(f"basic_auth_users:\n  alice: {_hash('alice-pass')}\n")
    args = ["--demo", f"--web.config.file={config}", "--web.health-listen-address=127.0.0.1:0"]
    with ExporterProcess(args) as process:
        yield process, config


def test_users_are_read_per_request_and_a_broken_file_is_500_logged_once(
    plain: tuple[ExporterProcess, Path],
) -> None:
    """A user added to the file authenticates at the next request; a broken file answers
    every request 500 with one log line, and its repair is served at once."""
    process, config = plain
    metrics = process.url
    assert httpx.get(metrics, auth=("alice", "alice-pass")).status_code == 200
    assert httpx.get(metrics, auth=("bob", "bob-pass")).status_code == 401
    _write(config, config.read_text() + f"  bob: {_hash('bob-pass')}\n")
    assert httpx.get(metrics, auth=("bob", "bob-pass")).status_code == 200
    _write(config, "basic_auth_users: [not, a, mapping\n")
    for _ in range(3):
        refused = httpx.get(metrics, auth=("alice", "alice-pass"))
        assert (refused.status_code, refused.text) == (500, "Internal Server Error\n")
    assert len(process.events("web_config_invalid")) == 1
    _write(config, f"basic_auth_users:\n  alice: {_hash('alice-pass')}\n")
    assert httpx.get(metrics, auth=("alice", "alice-pass")).status_code == 200


def test_the_probes_listener_answers_without_credentials_and_serves_nothing_else(
    plain: tuple[ExporterProcess, Path],
) -> None:
    """/healthz and /readyz need no password there; the data is not reachable through it."""
    process, _ = plain
    probes = httpx.URL(process.event("exporter_started")["probes_url"])  # type: ignore[index]
    assert httpx.get(probes).status_code == 200
    assert httpx.get(probes.copy_with(path="/metrics")).status_code == 404
    assert httpx.get(probes.copy_with(path="/")).status_code == 404
    assert httpx.get(process.url.replace("/metrics", "/healthz")).status_code == 401


def test_a_rotated_certificate_is_served_by_the_next_connection(tmp_path: Path) -> None:
    """cert-manager renews the certificate in place: no restart, the next connection gets it;
    a broken file then fails new handshakes with one log line, not one per connection."""
    first, second = trustme.CA(), trustme.CA()
    for name, ca in (("first", first), ("second", second)):
        ca.cert_pem.write_to_path(tmp_path / f"{name}-ca.crt")
    issued = first.issue_cert("localhost", "127.0.0.1")
    issued.cert_chain_pems[0].write_to_path(tmp_path / "tls.crt")
    issued.private_key_pem.write_to_path(tmp_path / "tls.key")
    config = tmp_path / "web.yml"
    config.write_text("tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n")
    with ExporterProcess(["--demo", f"--web.config.file={config}"]) as process:
        url = process.url.replace("127.0.0.1", "localhost")

        def trusting(name: str) -> httpx.Client:
            context = ssl.create_default_context(cafile=tmp_path / f"{name}-ca.crt")
            return httpx.Client(verify=context)  # a new client: a new connection

        with trusting("first") as client:
            assert client.get(url).status_code == 200
        renewed = second.issue_cert("localhost", "127.0.0.1")
        renewed.private_key_pem.write_to_path(tmp_path / "tls.key.new")
        renewed.cert_chain_pems[0].write_to_path(tmp_path / "tls.crt.new")
        os.replace(tmp_path / "tls.key.new", tmp_path / "tls.key")
        os.replace(tmp_path / "tls.crt.new", tmp_path / "tls.crt")
        with trusting("second") as client:
            assert client.get(url).status_code == 200
        with trusting("first") as client, pytest.raises(httpx.ConnectError):
            client.get(url)
        _write(config, "tls_server_config: [broken\n")
        for _ in range(3):
            with trusting("second") as client, pytest.raises(httpx.ConnectError):
                client.get(url)
        wait_for(lambda: process.events("web_config_invalid"), within=5, what="the log line")
        assert len(process.events("web_config_invalid")) == 1
        assert process.events("web_config_tls_invalid") == []


def test_an_invalid_file_stops_the_start_with_exit_2(tmp_path: Path) -> None:
    """A bad web configuration is a bad configuration: every problem, exit 2, nothing served."""
    config = tmp_path / "web.yml"
    config.write_text("tls_server_config:\n  cert_file: missing.crt\n  key_file: x.key\n")
    result = subprocess.run(
        [sys.executable, "-m", "exporter", "--demo", f"--web.config.file={config}"],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=ROOT,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert f"--web.config.file {config}:" in result.stderr
    assert "missing.crt" in result.stderr


def test_basic_auth_without_tls_is_served_with_a_warning(
    plain: tuple[ExporterProcess, Path],
) -> None:
    """Allowed, as in Go, but the start says passwords would cross the network in clear."""
    process, _ = plain
    (warning,) = process.events("web_config_warning")
    assert "without TLS" in warning["warning"]
