"""Server contexts from ``tls_server_config``: Go's checks and messages, the ssl mapping, reload.

Covers exporter/web/security/tls.py and the modules it is split into (tlsnames, pemfiles,
sans). Handshakes here run in memory; tests/integration/web/test_tls.py runs them on sockets.
"""

from __future__ import annotations

import os
import socket
import ssl
import stat
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import trustme
import uvicorn
from cryptography.hazmat.primitives import serialization
from structlog.testing import capture_logs

from exporter.logs import get_logger
from exporter.web.security.pemfiles import secret_path
from exporter.web.security.sans import go_san_values, handshake_class
from exporter.web.security.schema import TLSServerConfig, WebConfigError
from exporter.web.security.tls import (
    ReloadingContext,
    build_server_context,
    uvicorn_ssl_factory,
)


def context_of(tls: TLSServerConfig) -> ssl.SSLContext:
    """The server context ``tls`` builds (raises WebConfigError as a start would)."""
    return build_server_context(tls).context


@dataclass(frozen=True)
class Material:
    """A server key pair, a key of another type and of the same type, and a CA file."""

    dir: Path
    ca: trustme.CA
    cert: str
    key: str
    ec_key: str
    other_rsa_key: str
    ca_file: str

    def tls(self, **changes: Any) -> TLSServerConfig:
        return replace(TLSServerConfig(cert_file=self.cert, key_file=self.key), **changes)

    def write(self, name: str, data: bytes) -> str:
        path = self.dir / name
        path.write_bytes(data)
        return str(path)


@pytest.fixture(scope="module")
def material(tmp_path_factory: pytest.TempPathFactory) -> Material:
    where = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    leaf = ca.issue_cert("localhost", key_type=trustme.KeyType.RSA)
    paths = {
        "server.crt": leaf.cert_chain_pems[0].bytes(),
        "server.key": leaf.private_key_pem.bytes(),
        "ec.key": ca.issue_cert("x").private_key_pem.bytes(),
        "other.key": ca.issue_cert("x", key_type=trustme.KeyType.RSA).private_key_pem.bytes(),
        "ca.pem": ca.cert_pem.bytes(),
    }
    for name, data in paths.items():
        (where / name).write_bytes(data)
    names = [str(where / name) for name in paths]
    return Material(where, ca, *names)


def message(tls: TLSServerConfig) -> str:
    with pytest.raises(WebConfigError) as caught:
        context_of(tls)
    return str(caught.value)


def test_nothing_enabling_tls_is_go_no_tls_config() -> None:
    """Versions alone do not enable TLS: Go's errNoTLSConfig."""
    assert message(TLSServerConfig(min_version="TLS13")) == "TLS config is not present"


def test_missing_cert_then_missing_key() -> None:
    """A lone client_auth_type misses the cert first; a lone cert misses the key."""
    assert message(TLSServerConfig(client_auth_type="RequireAndVerifyClientCert")) == (
        "missing one of cert or cert_file"
    )
    assert message(TLSServerConfig(cert_file="/x")) == "missing one of key or key_file"


def test_unreadable_files_read_like_go(material: Material) -> None:
    """Read errors quote the key, the path and Go's os error text."""
    gone = str(material.dir / "gone.crt")
    assert message(material.tls(cert_file=gone)) == (
        f"failed to read cert_file ({gone}): open {gone}: no such file or directory"
    )
    assert message(material.tls(key_file=gone)) == (
        f"failed to read key_file ({gone}): open {gone}: no such file or directory"
    )
    folder = str(material.dir)
    assert message(material.tls(cert_file=folder)) == (
        f"failed to read cert_file ({folder}): read {folder}: is a directory"
    )


@pytest.mark.parametrize(
    ("cert", "key", "expected"),
    [
        ("junk", "server.key", "tls: failed to find any PEM data in certificate input"),
        (
            "server.key",
            "server.crt",
            "tls: failed to find certificate PEM data in certificate input, but did find a "
            "private key; PEM inputs may have been switched",
        ),
        (
            "params",
            "server.key",
            'tls: failed to find "CERTIFICATE" PEM block in certificate input after skipping '
            "PEM blocks of the following types: [EC PARAMETERS X509 CRL]",
        ),
        ("server.crt", "junk", "tls: failed to find any PEM data in key input"),
        (
            "server.crt",
            "server.crt",
            "tls: found a certificate rather than a key in the PEM for the private key",
        ),
        (
            "server.crt",
            "params",
            'tls: failed to find PEM block with type ending in "PRIVATE KEY" in key input '
            "after skipping PEM blocks of the following types: [EC PARAMETERS X509 CRL]",
        ),
        ("server.crt", "other.key", "tls: private key does not match public key"),
        ("server.crt", "ec.key", "tls: private key type does not match public key type"),
        ("bad.crt", "server.key", "x509: malformed certificate"),
        ("server.crt", "bad.key", "tls: failed to parse private key"),
    ],
)
def test_key_pair_errors_are_go_x509keypair_messages(
    material: Material, cert: str, key: str, expected: str
) -> None:
    """Each way a key pair can be wrong gets the message Go's X509KeyPair gives."""
    material.write("junk", b"no pem here\n")
    material.write(
        "params",
        b"-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"
        b"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n",
    )
    material.write("bad.crt", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    material.write("bad.key", b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    tls = material.tls(cert_file=str(material.dir / cert), key_file=str(material.dir / key))
    assert message(tls) == f"failed to load X509KeyPair: {expected}"


def test_encrypted_key_is_refused_without_prompting(material: Material) -> None:
    """A password-protected key fails like Go's (OpenSSL would otherwise prompt on the TTY)."""
    key = serialization.load_pem_private_key(Path(material.key).read_bytes(), None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    )
    tls = material.tls(key_file=material.write("encrypted.key", encrypted))
    assert message(tls) == "failed to load X509KeyPair: tls: failed to parse private key"


def test_messages_never_quote_key_material(material: Material) -> None:
    """An unparsable inline key is reported without a byte of it."""
    key = "-----BEGIN PRIVATE KEY-----\nTOPSECRETTOPSECRET\n-----END PRIVATE KEY-----\n"
    text = message(TLSServerConfig(cert_file=material.cert, key=key))
    assert "TOPSECRET" not in text
    assert text == "failed to load X509KeyPair: tls: failed to parse private key"


def test_client_ca_checks_follow_go_order(material: Material) -> None:
    """The CA file is read before the policy is checked; then the policy's name, then its CA."""
    gone = str(material.dir / "gone.pem")
    assert message(material.tls(client_ca_file=gone, client_auth_type="x")) == (
        f"open {gone}: no such file or directory"
    )
    assert message(material.tls(client_auth_type="requireandverifyclientcert")) == (
        "invalid ClientAuth: requireandverifyclientcert"
    )
    for policy in ("", "NoClientCert"):
        for ca in ({"client_ca_file": material.ca_file}, {"client_ca": "x"}):
            assert message(material.tls(client_auth_type=policy, **ca)) == (
                "client CA's have been configured without a Client Auth Policy"
            )


@pytest.mark.parametrize(
    "policy", ["RequestClientCert", "RequireAnyClientCert", "RequireClientCert"]
)
def test_policies_ssl_cannot_honour_are_refused(material: Material, policy: str) -> None:
    """Asking for a certificate without verifying it is impossible in ssl: a clear error."""
    text = message(material.tls(client_auth_type=policy))
    assert text.startswith(f"client_auth_type {policy} is not supported: ")


def test_unknown_names_come_first_as_in_go_yaml_decoding() -> None:
    """Unknown version, cipher and curve names fail before any TLS check, with Go's words."""
    assert message(TLSServerConfig(min_version="TLS1.2")) == "unknown TLS version: TLS1.2"
    assert message(TLSServerConfig(cipher_suites=("AES128-SHA",))) == "unknown cipher: AES128-SHA"
    assert message(TLSServerConfig(curve_preferences=("P256",))) == "unknown curve: P256"
    two = TLSServerConfig(curve_preferences=("X25519", "CurveP256"))
    assert message(two).startswith("curve_preferences: only one curve is supported")


@pytest.mark.parametrize(
    ("policy", "mode"),
    [
        ("", ssl.CERT_NONE),
        ("NoClientCert", ssl.CERT_NONE),
        ("VerifyClientCertIfGiven", ssl.CERT_OPTIONAL),
        ("RequireAndVerifyClientCert", ssl.CERT_REQUIRED),
    ],
)
def test_client_auth_types_map_to_verify_modes(
    material: Material, policy: str, mode: ssl.VerifyMode
) -> None:
    """Each supported client_auth_type is an ssl verify mode."""
    ca = {"client_ca_file": material.ca_file} if mode != ssl.CERT_NONE else {}
    assert context_of(material.tls(client_auth_type=policy, **ca)).verify_mode == mode


def test_versions_and_server_preference(material: Material) -> None:
    """min/max versions and prefer_server_cipher_suites reach the context."""
    context = context_of(material.tls(min_version="TLS13", prefer_server_cipher_suites=False))
    assert context.minimum_version == ssl.TLSVersion.TLSv1_3
    assert context.maximum_version == ssl.TLSVersion.TLSv1_3
    assert not context.options & ssl.OP_CIPHER_SERVER_PREFERENCE
    assert context_of(material.tls()).options & ssl.OP_CIPHER_SERVER_PREFERENCE


def test_tls10_lowers_the_security_level_without_deprecation_warnings(material: Material) -> None:
    """TLS10 builds quietly (warnings are errors here) with SHA-1 suites OpenSSL 3 would hide."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        context = context_of(material.tls(min_version="TLS10", max_version="TLS11"))
    assert context.minimum_version == ssl.TLSVersion.TLSv1
    assert "ECDHE-RSA-AES128-SHA" in {c["name"] for c in context.get_ciphers()}


def test_cipher_suites_restrict_tls12_and_tls13_names_are_ignored(material: Material) -> None:
    """Go names become OpenSSL's; a list of only TLS 1.3 names means TLS 1.3 only."""
    names = ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256")
    context = context_of(material.tls(cipher_suites=names))
    tls12 = {c["name"] for c in context.get_ciphers() if c["protocol"] == "TLSv1.2"}
    assert tls12 == {"ECDHE-RSA-AES128-GCM-SHA256"}
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    only13 = context_of(material.tls(cipher_suites=("TLS_AES_256_GCM_SHA384",)))
    assert only13.minimum_version == ssl.TLSVersion.TLSv1_3


def test_file_wins_over_inline(material: Material) -> None:
    """With both given, the files are used and the inline PEM is not even parsed."""
    context_of(material.tls(cert="junk", key="junk"))
    text = message(TLSServerConfig(cert_file=str(material.dir), cert="x", key_file=material.key))
    assert text.startswith("failed to read cert_file")


def test_inline_material(material: Material) -> None:
    """Inline cert, key and client CA are loaded like files."""
    tls = TLSServerConfig(
        cert=Path(material.cert).read_text(),
        key=Path(material.key).read_text(),
        client_auth_type="RequireAndVerifyClientCert",
        client_ca="junk\n" + Path(material.ca_file).read_text(),
    )
    built = build_server_context(tls)
    assert built.context.cert_store_stats()["x509_ca"] == 1
    assert built.warnings == ()


def test_doubtful_but_valid_configs_come_with_warnings(material: Material) -> None:
    """System CAs, an empty CA pool and SANs without a required cert are worth a warning."""
    system = build_server_context(material.tls(client_auth_type="VerifyClientCertIfGiven"))
    assert "verified against the system's CA certificates" in system.warnings[0]
    empty_file = material.write("empty.pem", b"nothing\n")
    empty = build_server_context(
        material.tls(client_auth_type="RequireAndVerifyClientCert", client_ca_file=empty_file)
    )
    assert empty.warnings == (
        f"client_ca_file ({empty_file}) holds no PEM certificate: every client certificate "
        "is refused",
    )
    assert empty.context.cert_store_stats()["x509_ca"] == 0
    sans = build_server_context(material.tls(client_allowed_sans=("a",)))
    assert "every connection is refused" in sans.warnings[0]


def test_secret_path_is_private_and_gone_afterwards(monkeypatch: pytest.MonkeyPatch) -> None:
    """Key material sits in a memfd, or else a 0600 temporary file removed after use."""
    with secret_path(b"key") as path:
        assert path.startswith("/proc/self/fd/")
        assert Path(path).read_bytes() == b"key"
    monkeypatch.delattr(os, "memfd_create")
    with secret_path(b"key") as path:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert Path(path).read_bytes() == b"key"
    assert not Path(path).exists()


def test_san_values_in_go_textual_form() -> None:
    """IPs are printed as Go prints them; DNS, email and URI as written; others ignored."""
    peer = {
        "subject": ((("commonName", "cli3"),),),
        "subjectAltName": (
            ("DNS", "scraper.example"),
            ("IP Address", "0:0:0:0:0:0:0:1\n"),
            ("IP Address", "0:0:0:0:0:FFFF:C000:0201"),
            ("IP Address", "2001:DB8:0:1:1:1:1:1"),
            ("IP Address", "<invalid>"),
            ("email", "ops@example.com"),
            ("URI", "spiffe://example.org/x"),
            ("DirName", ((("commonName", "d"),),)),
        ),
    }
    assert go_san_values(peer) == [
        "scraper.example",
        "::1",
        "192.0.2.1",
        "2001:db8:0:1:1:1:1:1",
        "ops@example.com",
        "spiffe://example.org/x",
    ]
    assert go_san_values(None) == []
    assert handshake_class(None, None) is ssl.SSLObject


def handshake(server: ssl.SSLContext, client: ssl.SSLContext) -> ssl.SSLObject:
    """Run a handshake in memory; returns the server side, or raises the first side's error."""
    server_in, server_out, client_in, client_out = (ssl.MemoryBIO() for _ in range(4))
    served = server.wrap_bio(server_in, server_out, server_side=True)
    calling = client.wrap_bio(client_in, client_out, server_hostname="localhost")
    for _ in range(10):
        done = 0
        for side in (calling, served):
            try:
                side.do_handshake()
                done += 1
            except ssl.SSLWantReadError:
                pass
        client_in.write(server_out.read())
        server_in.write(client_out.read())
        if done == 2:
            return served
    raise AssertionError("the handshake did not finish")


@dataclass
class Source:
    """The web config as the loader would hand it over: a value, or its error."""

    tls: TLSServerConfig | WebConfigError

    def __call__(self) -> TLSServerConfig:
        if isinstance(self.tls, WebConfigError):
            raise self.tls
        return self.tls


def client_of(material: Material) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    material.ca.configure_trust(context)
    return context


def test_reloading_rebuilds_only_on_change(material: Material, tmp_path: Path) -> None:
    """An equal config and unchanged files reuse the context; a new file or value does not."""
    cert = tmp_path / "server.crt"
    cert.write_bytes(Path(material.cert).read_bytes())
    source = Source(material.tls(cert_file=str(cert)))
    reloading = ReloadingContext(source, get_logger())
    first = reloading.current_context()
    source.tls = material.tls(cert_file=str(cert))  # equal, not identical
    assert reloading.current_context() is first
    served = handshake(reloading, client_of(material))
    assert served.context is first
    replacement = tmp_path / "new.crt"
    replacement.write_bytes(cert.read_bytes())
    os.replace(replacement, cert)  # same bytes, new inode: a rotation is assumed
    second = reloading.current_context()
    assert second is not first
    source.tls = material.tls(cert_file=str(cert), min_version="TLS13")
    assert reloading.current_context() is not second


def test_reloading_refuses_while_invalid_and_logs_once_per_change(material: Material) -> None:
    """An invalid file or config fails handshakes; what the TLS layer finds wrong is logged
    once per change (an invalid file is its loader's to log); recovery rebuilds."""
    source = Source(material.tls())
    with capture_logs() as logs:
        reloading = ReloadingContext(source, get_logger())
        good = reloading.current_context()
        source.tls = WebConfigError("yaml: boom")
        failing = reloading.current_context()
        assert reloading.current_context() is failing
        with pytest.raises(ssl.SSLError, match="CALLBACK_FAILED"):  # the server's side
            handshake(reloading, client_of(material))
        source.tls = TLSServerConfig()  # the TLS section removed
        assert reloading.current_context() is failing
        source.tls = material.tls()
        healed = reloading.current_context()
    assert healed is not good
    assert [e.get("error") for e in logs if e["event"] == "web_config_tls_invalid"] == [
        "TLS config is not present",
    ]
    assert [e["event"] for e in logs].count("web_config_tls_loaded") == 2


def test_reloading_refuses_to_start_on_invalid_config(material: Material) -> None:
    """At start an invalid config raises, so the exporter exits 2 instead of serving nothing."""
    with pytest.raises(WebConfigError, match="yaml: boom"):
        ReloadingContext(Source(WebConfigError("yaml: boom")), get_logger())
    with pytest.raises(WebConfigError, match="private key does not match"):
        ReloadingContext(Source(material.tls(key_file=material.other_rsa_key)), get_logger())


def test_reloading_logs_doubtful_configs(material: Material) -> None:
    """Warnings of a build are logged when it is built, not on every connection."""
    with capture_logs() as logs:
        reloading = ReloadingContext(
            Source(material.tls(client_auth_type="RequireAndVerifyClientCert")), get_logger()
        )
        reloading.current_context()
    doubtful = [e for e in logs if e["event"] == "web_config_tls_doubtful"]
    assert len(doubtful) == 1
    assert doubtful[0]["log_level"] == "warning"


def test_uvicorn_takes_the_reloading_context(material: Material) -> None:
    """uvicorn.Config accepts the factory, serves HTTPS and listens with our context."""
    reloading = ReloadingContext(Source(material.tls()), get_logger())
    app: Callable[..., object] = lambda *_: None  # noqa: E731  # never called: load() only
    config = uvicorn.Config(app, ssl_context_factory=uvicorn_ssl_factory(reloading))
    config.load()
    assert config.ssl is reloading
    assert config.is_ssl


def test_client_ca_skips_blocks_it_cannot_parse(material: Material) -> None:
    """A broken certificate block in the CA file is skipped, as Go's AppendCertsFromPEM does."""
    empty = b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"
    broken = empty + b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    ca_file = material.write("mixed.pem", broken + Path(material.ca_file).read_bytes())
    tls = material.tls(client_auth_type="VerifyClientCertIfGiven", client_ca_file=ca_file)
    assert context_of(tls).cert_store_stats()["x509_ca"] == 1


def test_san_check_runs_inside_the_handshake(material: Material) -> None:
    """A verified client whose SANs are not allowed fails the server's handshake."""
    tls = material.tls(
        client_auth_type="RequireAndVerifyClientCert",
        client_ca_file=material.ca_file,
        client_allowed_sans=("allowed.example",),
    )
    server = context_of(tls)
    refused = client_of(material)
    material.ca.issue_cert("other.example").configure_cert(refused)
    with pytest.raises(ssl.SSLCertVerificationError, match="could not find allowed SANs"):
        handshake(server, refused)
    allowed = client_of(material)
    material.ca.issue_cert("allowed.example").configure_cert(allowed)
    assert handshake(server, allowed).getpeercert() is not None


def test_reloading_survives_a_missing_file_and_wraps_sockets(
    material: Material, tmp_path: Path
) -> None:
    """A deleted key file refuses handshakes until it is back; blocking sockets reload too."""
    key = tmp_path / "server.key"
    key.write_bytes(Path(material.key).read_bytes())
    with capture_logs() as logs:
        reloading = ReloadingContext(Source(material.tls(key_file=str(key))), get_logger())
        key.unlink()
        failing = reloading.current_context()
        assert reloading.current_context() is failing
        key.write_bytes(Path(material.key).read_bytes())
        healed = reloading.current_context()
    assert healed is not failing
    assert [e["error"] for e in logs if e["event"] == "web_config_tls_invalid"] == [
        f"failed to read key_file ({key}): open {key}: no such file or directory"
    ]
    left, right = socket.socketpair()
    with (
        left,
        right,
        reloading.wrap_socket(left, server_side=True, do_handshake_on_connect=False) as wrapped,
    ):
        assert wrapped.context is healed
