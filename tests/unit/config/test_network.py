"""Upstream trust and proxies as settings: read from flags and env, refused clearly at load."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import pytest
import trustme
import truststore
from httpx._utils import get_environment_proxies

from exporter.cli import main
from exporter.config.network import MAX_CA_FILE_BYTES, Network, Route
from exporter.config.settings import Settings
from exporter.errors import ConfigError
from exporter.sources.registry import SOURCES

LIVEPEER = {"LIVEPEER_API_KEY": "k-never-printed"}
NAMES = "--upstream.ca-file / LIVESESSION_UPSTREAM_CA_FILE / SSL_CERT_FILE / REQUESTS_CA_BUNDLE"


def network(argv: list[str] | None = None, /, **env: str) -> Network:
    return Settings.from_sources(argv or [], {**LIVEPEER, **env}, SOURCES).upstream


def problems(argv: list[str] | None = None, /, **env: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        network(argv, **env)
    return list(info.value.problems)


@pytest.fixture
def ca_file(tmp_path: Path) -> Path:
    path = tmp_path / "corporate-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return path


def test_by_default_certifi_is_trusted_and_nothing_is_proxied() -> None:
    """Without a flag or variable the transport uses certifi's bundle, directly."""
    assert network() == Network()
    assert network().trust.context is None


def test_a_ca_file_replaces_the_default_trust(ca_file: Path) -> None:
    """--upstream.ca-file loads exactly that bundle, once, into the shared context."""
    trust = network([f"--upstream.ca-file={ca_file}"]).trust
    assert trust.origin == f"{ca_file} (--upstream.ca-file)"
    assert trust.context is not None
    assert len(trust.context.get_ca_certs()) == 1


@pytest.mark.parametrize("variable", ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"])
def test_the_ecosystem_variables_name_the_ca_file_too(ca_file: Path, variable: str) -> None:
    """SSL_CERT_FILE and REQUESTS_CA_BUNDLE are honoured as OpenSSL and requests honour them."""
    trust = network(**{variable: str(ca_file)}).trust
    assert trust.origin == f"{ca_file} (${variable})"
    assert trust.context is not None


def test_the_flag_beats_ssl_cert_file(ca_file: Path) -> None:
    """A flag wins over the variables (a broken SSL_CERT_FILE is then not even read)."""
    trust = network([f"--upstream.ca-file={ca_file}"], SSL_CERT_FILE="/missing/ca.pem").trust
    assert trust.origin.endswith("(--upstream.ca-file)")


def test_system_uses_the_operating_systems_store() -> None:
    """--upstream.ca-file=system is the OS trust store, through truststore."""
    trust = network(["--upstream.ca-file=system"]).trust
    assert trust.origin == "system"
    assert isinstance(trust.context, truststore.SSLContext)


def test_ssl_cert_dir_is_honoured_when_no_file_is_named(tmp_path: Path) -> None:
    """SSL_CERT_DIR names a hashed-certificate directory, used when no file is named."""
    trust = network(SSL_CERT_DIR=str(tmp_path)).trust
    assert trust.origin == f"{tmp_path} ($SSL_CERT_DIR)"
    assert isinstance(trust.context, ssl.SSLContext)
    assert problems(SSL_CERT_DIR=str(tmp_path / "nope")) == [
        f"$SSL_CERT_DIR: {tmp_path / 'nope'}: not a directory"
    ]


def test_a_missing_ca_file_is_one_problem_naming_the_path_and_where_it_came_from() -> None:
    """SSL_CERT_FILE=/missing is refused at load, naming the path and the variable."""
    assert problems(SSL_CERT_FILE="/missing/ca.pem") == [
        f"{NAMES} (from $SSL_CERT_FILE): /missing/ca.pem: no such file or directory"
    ]


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"", "not a PEM bundle of CA certificates (no certificate or crl found)"),
        (b"hello\n", "not a PEM bundle of CA certificates (no certificate or crl found)"),
        (
            b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
            "not a PEM bundle of CA certificates (damaged PEM data)",
        ),
    ],
)
def test_a_file_that_is_not_a_pem_bundle_is_refused(
    tmp_path: Path, content: bytes, why: str
) -> None:
    """An empty file, text, or a damaged certificate: a problem saying what is wrong."""
    path = tmp_path / "ca.pem"
    path.write_bytes(content)
    assert problems([f"--upstream.ca-file={path}"]) == [
        f"{NAMES} (from --upstream.ca-file): {path}: {why}"
    ]


def test_only_a_regular_file_of_bounded_size_is_read(tmp_path: Path) -> None:
    """A directory, a FIFO (which would block the start) and an oversized file are refused
    without being read."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    big = tmp_path / "big.pem"
    with big.open("wb") as out:
        out.truncate(MAX_CA_FILE_BYTES + 1)
    for path, why in [
        (tmp_path, "not a regular file"),
        (fifo, "not a regular file"),
        (big, f"{MAX_CA_FILE_BYTES + 1} bytes, over the {MAX_CA_FILE_BYTES}-byte limit"),
    ]:
        assert problems([f"--upstream.ca-file={path}"]) == [
            f"{NAMES} (from --upstream.ca-file): {path}: {why}"
        ]


def test_a_missing_ca_file_exits_2_naming_the_path(capsys: pytest.CaptureFixture[str]) -> None:
    """The CLI prints the problem and exits 2, with no traceback and no secret."""
    status = main(["--upstream.ca-file=/missing/ca.pem"], LIVEPEER)
    err = capsys.readouterr().err
    assert status == 2
    assert "/missing/ca.pem: no such file or directory" in err
    assert "Traceback" not in err
    assert LIVEPEER["LIVEPEER_API_KEY"] not in err


def test_proxy_variables_become_routes_lower_case_winning() -> None:
    """HTTPS_PROXY without a scheme is http://; https_proxy beats HTTPS_PROXY; ALL_PROXY may
    be SOCKS."""
    routes = network(
        HTTPS_PROXY="ignored:1",
        https_proxy="proxy.corp:3128",
        ALL_PROXY="socks5h://socks.corp:1080",
    ).routes
    assert routes == (
        Route("https://", "http://proxy.corp:3128", "https_proxy"),
        Route("all://", "socks5h://socks.corp:1080", "ALL_PROXY"),
    )
    assert [route.where for route in routes] == ["proxy.corp:3128", "socks.corp:1080"]


@pytest.mark.parametrize(
    "env",
    [
        {"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": ".internal,example.com,10.0.0.1,::1"},
        {"ALL_PROXY": "socks5://s:1080", "NO_PROXY": "localhost, http://plain.example"},
        {"HTTP_PROXY": "proxy:8080", "HTTPS_PROXY": "proxy:8443", "NO_PROXY": "a.example,*"},
    ],
)
def test_routes_are_the_mounts_httpx_would_make_itself(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same variables give exactly httpx's own mount patterns and proxies."""
    for name in [n for n in os.environ if n.lower().endswith("_proxy")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    ours = {route.pattern: route.proxy for route in network(**env).routes}
    assert ours == get_environment_proxies()


def test_a_proxy_httpx_cannot_use_is_a_problem_that_hides_its_credentials() -> None:
    """socks4://, or a URL without a host, is refused at load; the password is not shown."""
    found = problems(ALL_PROXY="socks4://user:hunter2@s:1080", HTTPS_PROXY="http://")
    assert found == [
        "$HTTPS_PROXY: the proxy URL has no host",
        "$ALL_PROXY: proxy scheme 'socks4' is not one of http, https, socks5, socks5h",
    ]
    settings = Settings.from_sources(
        [], {**LIVEPEER, "ALL_PROXY": "socks5://u:hunter2@s:1"}, SOURCES
    )
    assert "hunter2" not in repr(settings)
    assert "hunter2" in settings.secrets  # masked in logs, should it ever reach one


def test_demo_polls_the_simulator_directly() -> None:
    """--demo ignores the proxy variables: the simulator is on loopback."""
    assert network(["--demo"], HTTPS_PROXY="http://proxy:3128").routes == ()
