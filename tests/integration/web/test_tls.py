"""TLS from the web config over real sockets: served by uvicorn as server.py runs it.

Every connection is a new one (a fresh client each time), because the server reloads its TLS
material per connection: what a test changes on disk or in the config is what the next
client meets, with no restart.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import trustme
from anyio.streams.tls import TLSAttribute
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from structlog.testing import capture_logs

from exporter.config.values import ListenAddress
from exporter.logs import get_logger
from exporter.web.security.schema import TLSServerConfig, WebConfigError
from exporter.web.security.tls import ReloadingContext, uvicorn_ssl_factory
from exporter.web.server import Receive, Scope, Send, bind, serve

pytestmark = pytest.mark.anyio


async def _app(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers every request with 200 ``ok``: the TLS layer is what is under test."""
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


@dataclass
class Client:
    """A client certificate and its key, as PEM."""

    cert: bytes
    key: bytes


def issue_client(ca: trustme.CA, common_name: str, sans: list[x509.GeneralName]) -> Client:
    """A client certificate from ``ca`` with exactly ``sans`` (trustme cannot make URI SANs)."""
    ca_key = serialization.load_pem_private_key(ca.private_key_pem.bytes(), None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey)
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return Client(cert.public_bytes(serialization.Encoding.PEM), key_pem)


def trustme_client(leaf: trustme.LeafCert) -> Client:
    return Client(leaf.cert_chain_pems[0].bytes(), leaf.private_key_pem.bytes())


@dataclass
class Rig:
    """Files of a server key pair in a directory, and the config the server reads each time."""

    dir: Path
    ca: trustme.CA
    tls: TLSServerConfig | WebConfigError

    def current(self) -> TLSServerConfig:
        if isinstance(self.tls, WebConfigError):
            raise self.tls
        return self.tls

    def write(self, path: str | Path, data: bytes) -> None:
        """Replace ``path`` atomically, as kubelet and cert-manager do.

        (A same-size rewrite in place within one coarse kernel clock tick of a connection
        keeps its stat key; a new inode never does.)
        """
        temporary = Path(f"{path}.tmp")
        temporary.write_bytes(data)
        os.replace(temporary, path)

    def write_server(self, ca: trustme.CA, name: str = "server") -> tuple[str, str]:
        leaf = ca.issue_cert("localhost", "127.0.0.1", key_type=trustme.KeyType.RSA)
        cert, key = self.dir / f"{name}.crt", self.dir / f"{name}.key"
        self.write(cert, leaf.cert_chain_pems[0].bytes())
        self.write(key, leaf.private_key_pem.bytes())
        return str(cert), str(key)

    def client_context(
        self, client: Client | None = None, ca: trustme.CA | None = None
    ) -> ssl.SSLContext:
        """A client trusting ``ca`` (the rig's by default), presenting ``client`` if given."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        (ca or self.ca).configure_trust(context)
        if client is not None:
            path = self.dir / f"client-{id(client)}.pem"
            path.write_bytes(client.key + client.cert)
            context.load_cert_chain(path)
        return context


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def rig(tmp_path: Path, ca: trustme.CA) -> Rig:
    rig = Rig(tmp_path, ca, WebConfigError("not yet written"))
    cert, key = rig.write_server(ca)
    rig.tls = TLSServerConfig(cert_file=cert, key_file=key)
    return rig


@asynccontextmanager
async def serving(rig: Rig) -> AsyncIterator[str]:
    """The base URL of a server reloading from ``rig`` until the block ends."""
    reloading = ReloadingContext(rig.current, get_logger())
    sock = bind(ListenAddress("127.0.0.1", 0))
    async with anyio.create_task_group() as tg:
        await tg.start(partial(serve, _app, sock, ssl_factory=uvicorn_ssl_factory(reloading)))
        yield f"https://localhost:{sock.getsockname()[1]}"
        tg.cancel_scope.cancel()


async def get(url: str, context: ssl.SSLContext) -> int:
    """The status of ``GET /metrics`` over a new connection with ``context``."""
    async with httpx.AsyncClient(verify=context, timeout=5) as client:
        response = await client.get(f"{url}/metrics")
        return response.status_code


async def refused(url: str, context: ssl.SSLContext) -> bool:
    """True when the server drops a new connection with ``context`` during or after TLS."""
    try:
        await get(url, context)
    except httpx.TransportError:
        return True
    return False


async def negotiated(url: str, context: ssl.SSLContext) -> tuple[str, str]:
    """The TLS version and cipher of a new handshake with ``context``."""
    port = int(url.rsplit(":", 1)[1])
    async with await anyio.connect_tcp(
        "localhost", port, ssl_context=context, tls=True, tls_standard_compatible=False
    ) as stream:
        attribute = stream.extra  # anyio's typed attributes (ruff's S610 takes it for Django's)
        return attribute(TLSAttribute.tls_version), attribute(TLSAttribute.cipher)[0]


async def test_server_certificate_is_served(rig: Rig) -> None:
    """A client trusting the CA gets 200; one trusting another CA refuses the server."""
    async with serving(rig) as url:
        assert await get(url, rig.client_context()) == 200
        assert await refused(url, rig.client_context(ca=trustme.CA()))


async def test_rotated_certificate_served_by_next_connection(rig: Rig) -> None:
    """Certificate and key rewritten in place are served by the next connection."""
    other = trustme.CA()
    async with serving(rig) as url:
        assert await get(url, rig.client_context()) == 200
        rig.write_server(other)
        assert await refused(url, rig.client_context())
        assert await get(url, rig.client_context(ca=other)) == 200


async def test_symlink_swap_like_a_kubernetes_secret(rig: Rig) -> None:
    """A ``..data`` symlink swapped to a new directory is served by the next connection."""
    other = trustme.CA()
    volume = rig.dir / "volume"
    first = volume / "..2026_01"
    first.mkdir(parents=True)
    for name in ("tls.crt", "tls.key"):
        (first / name).write_bytes((rig.dir / name.replace("tls", "server")).read_bytes())
        (volume / name).symlink_to(Path("..data") / name)
    (volume / "..data").symlink_to(first.name)
    rig.tls = TLSServerConfig(cert_file=str(volume / "tls.crt"), key_file=str(volume / "tls.key"))
    async with serving(rig) as url:
        assert await get(url, rig.client_context()) == 200
        second = volume / "..2026_02"
        second.mkdir()
        leaf = other.issue_cert("localhost", key_type=trustme.KeyType.RSA)
        (second / "tls.crt").write_bytes(leaf.cert_chain_pems[0].bytes())
        (second / "tls.key").write_bytes(leaf.private_key_pem.bytes())
        (volume / "..data_tmp").symlink_to(second.name)
        os.replace(volume / "..data_tmp", volume / "..data")  # atomic, as kubelet does
        assert await get(url, rig.client_context(ca=other)) == 200
        assert await refused(url, rig.client_context())


async def test_client_auth_type_switched_at_runtime(rig: Rig) -> None:
    """Requiring a client certificate applies to the next connection, and so does relaxing it."""
    assert isinstance(rig.tls, TLSServerConfig)
    ca_file = rig.dir / "clients.pem"
    rig.ca.cert_pem.write_to_path(str(ca_file))
    lenient = replace(
        rig.tls, client_auth_type="VerifyClientCertIfGiven", client_ca_file=str(ca_file)
    )
    rig.tls = lenient
    async with serving(rig) as url:
        assert await get(url, rig.client_context()) == 200
        rig.tls = replace(lenient, client_auth_type="RequireAndVerifyClientCert")
        assert await refused(url, rig.client_context())
        rig.tls = lenient
        assert await get(url, rig.client_context()) == 200


def _with_client_ca(rig: Rig, auth: str, **changes: Any) -> TLSServerConfig:
    assert isinstance(rig.tls, TLSServerConfig)
    ca_file = rig.dir / "clients.pem"
    rig.ca.cert_pem.write_to_path(str(ca_file))
    return replace(rig.tls, client_auth_type=auth, client_ca_file=str(ca_file), **changes)


async def test_require_and_verify_client_cert(rig: Rig) -> None:
    """Only a client with a certificate from the client CA gets in."""
    rig.tls = _with_client_ca(rig, "RequireAndVerifyClientCert")
    ours = trustme_client(rig.ca.issue_cert("scraper.example"))
    theirs = trustme_client(trustme.CA().issue_cert("scraper.example"))
    async with serving(rig) as url:
        assert await refused(url, rig.client_context())
        assert await get(url, rig.client_context(ours)) == 200
        assert await refused(url, rig.client_context(theirs))


async def test_verify_client_cert_if_given(rig: Rig) -> None:
    """Without a certificate or with one from the client CA: in; one from elsewhere: out."""
    rig.tls = _with_client_ca(rig, "VerifyClientCertIfGiven")
    ours = trustme_client(rig.ca.issue_cert("scraper.example"))
    theirs = trustme_client(trustme.CA().issue_cert("scraper.example"))
    async with serving(rig) as url:
        assert await get(url, rig.client_context()) == 200
        assert await get(url, rig.client_context(ours)) == 200
        assert await refused(url, rig.client_context(theirs))


SCRAPER_SANS: list[x509.GeneralName] = [
    x509.DNSName("scraper.example"),
    x509.RFC822Name("ops@example.com"),
    x509.IPAddress(ipaddress.ip_address("::1")),
    x509.UniformResourceIdentifier("spiffe://example.org/ns/monitoring/sa/prometheus"),
]


@pytest.mark.parametrize(
    ("allowed", "accepted"),
    [
        pytest.param(("scraper.example",), True, id="dns"),
        pytest.param(("ops@example.com",), True, id="email"),
        pytest.param(("::1",), True, id="ip-go-form"),
        pytest.param(("spiffe://example.org/ns/monitoring/sa/prometheus",), True, id="uri"),
        pytest.param(("other", "scraper.example"), True, id="any-of-several"),
        pytest.param(("0:0:0:0:0:0:0:1",), False, id="ip-openssl-form"),
        pytest.param(("scraper",), False, id="cn"),
        pytest.param(("elsewhere.example",), False, id="disallowed"),
        pytest.param((), False, id="empty-list"),
    ],
)
async def test_client_allowed_sans(rig: Rig, allowed: tuple[str, ...], accepted: bool) -> None:
    """A client gets in when one of its DNS, email, IP (Go's form) or URI SANs is allowed."""
    rig.tls = _with_client_ca(rig, "RequireAndVerifyClientCert", client_allowed_sans=allowed)
    client = rig.client_context(issue_client(rig.ca, "scraper", SCRAPER_SANS))
    async with serving(rig) as url:
        if accepted:
            assert await get(url, client) == 200
        else:
            assert await refused(url, client)


async def test_client_allowed_sans_ignore_the_common_name(rig: Rig) -> None:
    """A certificate whose only name is its CN is refused even when the CN is listed."""
    rig.tls = _with_client_ca(rig, "RequireAndVerifyClientCert", client_allowed_sans=("cli3",))
    async with serving(rig) as url:
        assert await refused(url, rig.client_context(issue_client(rig.ca, "cli3", [])))


async def test_client_allowed_sans_refuse_a_client_without_certificate(rig: Rig) -> None:
    """With VerifyClientCertIfGiven, a client sending no certificate has no SAN to match."""
    rig.tls = _with_client_ca(rig, "VerifyClientCertIfGiven", client_allowed_sans=("::1",))
    async with serving(rig) as url:
        assert await refused(url, rig.client_context())
        client = rig.client_context(issue_client(rig.ca, "scraper", SCRAPER_SANS))
        assert await get(url, client) == 200


async def test_min_version_tls13_refuses_a_tls12_client(rig: Rig) -> None:
    """``min_version: TLS13`` refuses a client that stops at TLS 1.2."""
    assert isinstance(rig.tls, TLSServerConfig)
    rig.tls = replace(rig.tls, min_version="TLS13")
    old = rig.client_context()
    old.maximum_version = ssl.TLSVersion.TLSv1_2
    async with serving(rig) as url:
        assert await refused(url, old)
        assert (await negotiated(url, rig.client_context()))[0] == "TLSv1.3"


async def test_max_version_tls12_is_negotiated(rig: Rig) -> None:
    """``max_version: TLS12`` caps a TLS 1.3 client at TLS 1.2."""
    assert isinstance(rig.tls, TLSServerConfig)
    rig.tls = replace(rig.tls, max_version="TLS12")
    async with serving(rig) as url:
        assert (await negotiated(url, rig.client_context()))[0] == "TLSv1.2"


async def test_tls10_can_be_negotiated_when_asked_for(rig: Rig) -> None:
    """``min_version: TLS10`` lets a TLS 1.0 client in, despite OpenSSL 3's security level."""
    assert isinstance(rig.tls, TLSServerConfig)
    rig.tls = replace(rig.tls, min_version="TLS10")
    old = rig.client_context()
    old.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the test's own client
        old.minimum_version = ssl.TLSVersion.TLSv1
        old.maximum_version = ssl.TLSVersion.TLSv1
    async with serving(rig) as url:
        assert (await negotiated(url, old))[0] == "TLSv1"
        assert await get(url, old) == 200


async def test_cipher_suites_refuse_a_client_with_other_ciphers(rig: Rig) -> None:
    """Go's cipher names restrict TLS 1.2: a client offering only others is refused."""
    assert isinstance(rig.tls, TLSServerConfig)
    rig.tls = replace(
        rig.tls, cipher_suites=("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",), max_version="TLS12"
    )
    other = rig.client_context()
    other.set_ciphers("ECDHE-RSA-AES256-GCM-SHA384")
    both = rig.client_context()
    both.set_ciphers("ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256")
    async with serving(rig) as url:
        assert await refused(url, other)
        assert await negotiated(url, both) == ("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256")


async def test_one_curve_refuses_a_client_offering_another(rig: Rig) -> None:
    """``curve_preferences: [CurveP384]`` refuses a client whose only group is P-256."""
    assert isinstance(rig.tls, TLSServerConfig)
    rig.tls = replace(rig.tls, curve_preferences=("CurveP384",))
    p256 = rig.client_context()
    p256.set_ecdh_curve("prime256v1")
    p384 = rig.client_context()
    p384.set_ecdh_curve("secp384r1")
    async with serving(rig) as url:
        assert await refused(url, p256)
        assert await get(url, p384) == 200


async def test_inline_cert_and_key(rig: Rig) -> None:
    """Inline ``cert`` and ``key`` are served like files."""
    leaf = rig.ca.issue_cert("localhost", key_type=trustme.KeyType.RSA)
    rig.tls = TLSServerConfig(
        cert=leaf.cert_chain_pems[0].bytes().decode(), key=leaf.private_key_pem.bytes().decode()
    )
    async with serving(rig) as url:
        assert await get(url, rig.client_context()) == 200


async def test_client_ca_file_without_certificates_refuses_every_client_cert(rig: Rig) -> None:
    """A CA file with no PEM certificate is Go's empty pool: no client certificate verifies."""
    rig.tls = _with_client_ca(rig, "VerifyClientCertIfGiven")
    assert isinstance(rig.tls, TLSServerConfig)
    rig.write(rig.tls.client_ca_file, b"not a certificate\n")
    ours = trustme_client(rig.ca.issue_cert("scraper.example"))
    async with serving(rig) as url:
        assert await refused(url, rig.client_context(ours))
        assert await get(url, rig.client_context()) == 200


async def test_invalid_config_at_runtime_fails_handshakes_and_logs_once(rig: Rig) -> None:
    """A broken file or key pair fails new handshakes, then heals; the key pair is logged
    once per change (the broken file is its loader's to log, not the TLS layer's)."""
    assert isinstance(rig.tls, TLSServerConfig)
    good = rig.tls
    with capture_logs() as logs:
        async with serving(rig) as url:
            assert await get(url, rig.client_context()) == 200
            rig.tls = WebConfigError("yaml: line 3: mapping values are not allowed here")
            for _ in range(3):
                assert await refused(url, rig.client_context())
            rig.tls = good
            other_key = rig.ca.issue_cert("x", key_type=trustme.KeyType.RSA).private_key_pem
            rig.write(good.key_file, other_key.bytes())
            for _ in range(3):
                assert await refused(url, rig.client_context())  # the old context is not reused
            rig.write_server(rig.ca)
            assert await get(url, rig.client_context()) == 200
    invalid = [e["error"] for e in logs if e["event"] == "web_config_tls_invalid"]
    assert invalid == ["failed to load X509KeyPair: tls: private key does not match public key"]
    assert all(e["log_level"] == "warning" for e in logs if e["event"] == "web_config_tls_invalid")


async def test_failed_client_handshakes_are_logged_once_per_reason(rig: Rig) -> None:
    """Repeated refusals for one reason make one log line; another reason makes another."""
    rig.tls = _with_client_ca(rig, "RequireAndVerifyClientCert", client_allowed_sans=("x",))
    stranger = rig.client_context(issue_client(rig.ca, "scraper", SCRAPER_SANS))
    with capture_logs() as logs:
        async with serving(rig) as url:
            for _ in range(3):
                assert await refused(url, rig.client_context())
                assert await refused(url, stranger)
    reasons = [e["reason"] for e in logs if e["event"] == "tls_handshake_failed"]
    assert sorted(reasons) == ["CLIENT_SAN_NOT_ALLOWED", "PEER_DID_NOT_RETURN_A_CERTIFICATE"]
