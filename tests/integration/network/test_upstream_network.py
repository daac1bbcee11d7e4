"""The exporter process behind a broken or corporate network: each way of not reaching the
upstream has its own reason and log line, SOCKS proxies work, a custom CA is trusted, and a
CA file that is not there stops the start with exit 2.

The Livepeer source alone, against real sockets: a TLS relay (trustme certificate) in front
of the simulator, which serves plain HTTP, a closed port, an unresolvable name and a dead
proxy.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import trustme

from exporter.simulator import SimulatorConfig
from exporter.simulator.simulator import Simulator
from tests.integration.faults.scrape import Exposition
from tests.support.network import Server, closed_port, relaying, tls_server_context
from tests.support.processes import ROOT, ExporterProcess, clean_env, running_simulator, wait_for

KEY = "lp-key-that-must-never-be-logged-0123456789"
LABELS = {"source": "livepeer_studio", "target": "default"}
ERRORS = "livesession_exporter_source_poll_errors_total"
FLAGS = ("--poll.interval=1s", "--poll.timeout=5s")


@pytest.fixture(scope="module")
def simulator() -> Iterator[Simulator]:
    with running_simulator(SimulatorConfig(seed=7, livepeer_sessions=4)) as sim:
        yield sim


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def tls_upstream(simulator: Simulator, ca: trustme.CA) -> Iterator[str]:
    """The simulator's Livepeer API over real TLS: ``https://127.0.0.1:PORT/api``."""
    assert simulator.endpoints is not None
    plain = httpx.URL(simulator.endpoints.livepeer_url)
    assert plain.port is not None
    with Server(relaying(plain.port), tls=tls_server_context(ca)) as relay:
        yield str(plain.copy_with(scheme="https", port=relay.port))


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "corporate-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@contextmanager
def livepeer(url: str, *flags: str, key: str = KEY, **env: str) -> Iterator[ExporterProcess]:
    variables = {"LIVEPEER_API_URL": url, "LIVEPEER_API_KEY": key, **env}
    with ExporterProcess([*FLAGS, *flags], variables) as process:
        yield process


def first_failure(process: ExporterProcess) -> tuple[Exposition, dict[str, object]]:
    """The first failed poll: a scrape counting it, and its ``poll_failed`` line."""

    def failed() -> tuple[Exposition, dict[str, object]] | None:
        m = Exposition(process.scrape())
        event = process.event("poll_failed")
        return (m, event) if m.total(ERRORS, **LABELS) >= 1 and event else None

    found: tuple[Exposition, dict[str, object]] = wait_for(failed, within=20, what="a failed poll")
    return found


@pytest.mark.parametrize("reason", ["tls", "dns", "connection", "proxy"])
def test_each_way_of_not_reaching_the_upstream_has_its_own_reason(
    reason: str, tls_upstream: str
) -> None:
    """An untrusted certificate, an unresolvable name, a refused port and a dead proxy fail
    polls as tls, dns, connection and proxy; the log line names the reason and the host."""
    port = closed_port()
    url, host, env = {
        "tls": (tls_upstream, httpx.URL(tls_upstream).netloc.decode(), {}),
        "dns": ("https://nonexistent.invalid/api", "nonexistent.invalid", {}),
        "connection": (f"http://127.0.0.1:{port}/api", f"127.0.0.1:{port}", {}),
        "proxy": (
            "https://livepeer.studio/api",
            "livepeer.studio",
            {"HTTPS_PROXY": f"http://127.0.0.1:{port}"},
        ),
    }[reason]
    with livepeer(url, **env) as process:
        m, event = first_failure(process)
        assert m.value(ERRORS, reason=reason, **LABELS) == m.total(ERRORS, **LABELS)
        assert m.value("livesession_exporter_source_up", **LABELS) == 0
        assert event["reason"] == reason
        assert host in str(event["error"])
        if reason == "proxy":
            assert f"proxy 127.0.0.1:{port} ($HTTPS_PROXY) unreachable" in str(event["error"])
        assert KEY not in process.stderr


def test_a_socks_proxy_no_longer_crashes_the_start() -> None:
    """ALL_PROXY=socks5://127.0.0.1:1 starts (socksio is a dependency); polls through the
    dead SOCKS proxy fail as proxy."""
    with livepeer("https://livepeer.studio/api", ALL_PROXY="socks5://127.0.0.1:1") as process:
        m, event = first_failure(process)
        assert m.value(ERRORS, reason="proxy", **LABELS) == m.total(ERRORS, **LABELS)
        assert "proxy 127.0.0.1:1 ($ALL_PROXY) unreachable" in str(event["error"])
        assert process.returncode is None


@pytest.mark.parametrize("how", ["flag", "SSL_CERT_FILE"])
def test_a_custom_ca_makes_a_tls_upstream_succeed(
    how: str, tls_upstream: str, ca_file: Path, simulator: Simulator
) -> None:
    """With --upstream.ca-file (or SSL_CERT_FILE) naming the CA, the same TLS upstream that
    fails as tls without it is polled successfully."""
    flags = [f"--upstream.ca-file={ca_file}"] if how == "flag" else []
    env = {"SSL_CERT_FILE": str(ca_file)} if how == "SSL_CERT_FILE" else {}
    assert simulator.endpoints is not None
    key = simulator.endpoints.livepeer_api_key
    with livepeer(tls_upstream, *flags, key=key, **env) as process:

        def up() -> Exposition | None:
            m = Exposition(process.scrape())
            return m if m.value("livesession_exporter_source_up", **LABELS) == 1 else None

        m: Exposition = wait_for(up, within=20, what="a successful poll over TLS")
        assert m.total(ERRORS, **LABELS) == 0
        assert m.has("livepeer_studio_sessions_active", target="default")


@pytest.mark.parametrize(
    ("args", "env", "origin"),
    [
        (["--upstream.ca-file=/missing/ca.pem"], {}, "--upstream.ca-file"),
        ([], {"SSL_CERT_FILE": "/missing/ca.pem"}, "$SSL_CERT_FILE"),
    ],
)
def test_a_missing_ca_file_exits_2_naming_the_path(
    args: list[str], env: dict[str, str], origin: str
) -> None:
    """A CA file that is not there is a configuration error, not a traceback."""
    done = subprocess.run(
        [sys.executable, "-m", "exporter", "--log.format=json", *args],
        env=clean_env({"LIVEPEER_API_KEY": KEY, **env}),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert f"(from {origin}): /missing/ca.pem: no such file or directory" in done.stderr
    assert "Traceback" not in done.stderr
    assert KEY not in done.stderr
