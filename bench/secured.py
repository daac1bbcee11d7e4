"""What ``--web.config.file`` adds to a scrape: HTTPS with basic auth against plain HTTP.

Issue #15's target: a scrape over TLS with basic auth, once its credentials are cached, costs
at most 2 ms more than a plain one. As in :mod:`bench.scrape`, the exporter is the real process
(``python -m exporter``) polling the simulator (a thread of this process) once; the world is
the scrape benchmark's 2,000 + 2,000 sessions (``--poll.interval=1h``: no poll runs while
scrapes are timed). Four such processes run side by side with the same flags and differ only
in their web configuration (trustme certificates, bcrypt hashes of cost 10, files in a
temporary directory, paths relative to the file): plain HTTP (no file); TLS only
(``tls_server_config`` with ``cert_file`` and ``key_file``); TLS + basic auth (the target);
mutual TLS (``RequireAndVerifyClientCert``, the trustme CA) + basic auth. The set-up is
asserted: each server with users answers 401 without credentials, the mTLS one refuses a
client without a certificate in the handshake, and all bodies are about the same size.

Timing. One sequential keep-alive ``httpx.Client`` (this process; the CA trusted, a client
certificate offered, TLS 1.3) times each GET from sending the request to the last raw body
byte, as :mod:`bench.scrape` does, after a warm-up that opens every connection and caches the
bcrypt result. The four servers take turns request by request, 200 rounds, so drift and load
from other processes land on all alike. On loopback such a latency is the server's work plus
the client's: for TLS the client's share (decryption and httpx's per-read work, in this
process) is larger than the server's, and is not the exporter's cost (Prometheus decrypts on
its own CPU, in Go). So each exporter process's own CPU is read from ``/proc/PID/stat`` (user
+ system, all its threads) before and after the loop and divided by its scrapes (a mean): the
server-side cost of a scrape, free of client work and of waiting for a CPU. It includes
everything the exporter does for a request: reading it, the middleware (the stat-cached web
config, the cached bcrypt result), rendering the cached exposition, TLS encryption of the
body and the socket writes; the kernel counts CPU in clock ticks (10 ms), so over 200
scrapes it is resolved to 0.05 ms a scrape. **The verdict is on
the difference of that CPU, TLS + basic auth minus plain**; the latencies (median, p90) and
the client thread's CPU (``time.thread_time``, median) are shown beside it. Request kind: what
Prometheus 2 sends (OpenMetrics preferred, gzip, 2 MB). Plain text without compression (over
10 MB) is an ``info`` row: TLS costs per byte, so it costs more there.

Also ``info``: the first scrape of a user, uncached (five more users with the same hash each
scrape once on the warm connection, so each pays one bcrypt check), and a new connection per
scrape, as after Prometheus reconnects (a client that keeps no connection alive, 100 rounds;
checked: no server sees a client port twice): a TCP connect and, over TLS, a full handshake,
for which the server builds no new context while the files are unchanged.
"""

from __future__ import annotations

import os
import ssl
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import bcrypt
import httpx
import trustme

from bench.results import Result, fmt_ms, median, percentile
from bench.scrape import PLAIN, PROMETHEUS
from bench.worlds import LOADED_ARGS, loaded_config
from tests.support.processes import ExporterProcess, running_simulator, simulator_env, wait_for

__all__ = ["run"]

GROUP: Final = "Secured"
MAX_EXTRA: Final = 0.002
"""Seconds a cached TLS + basic-auth scrape may take over a plain one (issue #15)."""
ROUNDS: Final = 200
"""Keep-alive scrapes of each server, per request kind."""
FRESH_ROUNDS: Final = 100
"""Scrapes of each server on a new connection each."""
WARMUP: Final = 5
COLD_USERS: Final = 5
USER: Final = "prometheus"
PASSWORD: Final = "bench-scrape-password"  # noqa: S105  # a throw-away test credential
BCRYPT_COST: Final = 10
SECURED: Final = "TLS + basic auth"
TICKS: Final = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class _Server:
    """One exporter process: how it is secured, and how a scrape of it authenticates."""

    label: str
    process: ExporterProcess
    auth: bool

    @property
    def pid(self) -> int:
        return self.process.process.pid


@dataclass(frozen=True, slots=True)
class _Files:
    """The trustme material on disk, and the client context that trusts it."""

    directory: Path
    client: ssl.SSLContext
    bare: ssl.SSLContext
    """Trusts the CA, offers no client certificate."""


def _files(directory: Path) -> _Files:
    ca = trustme.CA()
    ca.cert_pem.write_to_path(directory / "ca.crt")
    server = ca.issue_cert("localhost", "127.0.0.1")
    server.cert_chain_pems[0].write_to_path(directory / "server.crt")
    server.private_key_pem.write_to_path(directory / "server.key")
    client, bare = ssl.create_default_context(), ssl.create_default_context()
    ca.configure_trust(client)
    ca.configure_trust(bare)
    ca.issue_cert("prometheus").configure_cert(client)
    return _Files(directory, client, bare)


def _web_config(directory: Path, name: str, *, auth: bool, mtls: bool) -> Path:
    """A web-config.yml next to the certificates (relative paths, as an operator writes)."""
    lines = ["tls_server_config:", "  cert_file: server.crt", "  key_file: server.key"]
    if mtls:
        lines += ["  client_auth_type: RequireAndVerifyClientCert", "  client_ca_file: ca.crt"]
    if auth:
        hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(BCRYPT_COST)).decode()
        # the cold users share the hash: the cache key holds the user, so each one misses
        users = [USER, *(f"cold-{index}" for index in range(COLD_USERS))]
        lines += ["basic_auth_users:", *(f"  {user}: {hashed}" for user in users)]
    path = directory / f"{name}.yml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _polled(server: _Server) -> Callable[[], bool]:
    return lambda: len(server.process.events("poll_succeeded")) >= 2


@contextmanager
def _servers(env: Mapping[str, str], files: _Files) -> Iterator[list[_Server]]:
    """The four exporter processes, started together, each waited for until its first poll."""
    flags = [*LOADED_ARGS, "--poll.interval=1h"]
    directory = files.directory
    plans = [
        ("plain HTTP", None, False),
        ("TLS", _web_config(directory, "tls", auth=False, mtls=False), False),
        (SECURED, _web_config(directory, "auth", auth=True, mtls=False), True),
        ("mTLS + basic auth", _web_config(directory, "mtls", auth=True, mtls=True), True),
    ]
    with ExitStack() as stack:
        servers = []
        for label, config, auth in plans:
            extra = [] if config is None else [f"--web.config.file={config}"]
            process = stack.enter_context(ExporterProcess([*flags, *extra], env))
            servers.append(_Server(label, process, auth))
        for server in servers:
            wait_for(_polled(server), within=180, what=f"the first polls ({server.label})")
            if failed := server.process.events("poll_failed"):
                raise AssertionError(f"{server.label}: a poll failed: {failed}")
        yield servers


def _cpu(pid: int) -> float:
    """CPU seconds (user + system) of process ``pid`` so far, every thread, ended ones too."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


@dataclass(slots=True)
class _Timing:
    """One server's share of a timed loop."""

    latency: list[float] = field(default_factory=list)
    client: list[float] = field(default_factory=list)
    """The client thread's CPU seconds per scrape."""
    server: float = 0.0
    """The server process's CPU seconds per scrape, over the whole loop."""
    size: int = 0
    """Bytes of the body as sent (the last warm-up's)."""


def _get(
    client: httpx.Client, server: _Server, headers: Mapping[str, str], user: str = USER
) -> tuple[float, float, int, str]:
    """Latency to the last raw body byte, client CPU, body size, and the client's address."""
    auth = (user, PASSWORD) if server.auth else None
    size = 0
    cpu, start = time.thread_time(), time.perf_counter()
    with client.stream("GET", server.process.url, headers=headers, auth=auth) as response:
        # the socket is closed once a non-keep-alive response ends: ask while it is open
        local = response.extensions["network_stream"].get_extra_info("client_addr")
        for chunk in response.iter_raw():
            size += len(chunk)
    elapsed, cpu = time.perf_counter() - start, time.thread_time() - cpu
    if response.status_code != 200:
        raise AssertionError(f"{server.label}: HTTP {response.status_code}")
    return elapsed, cpu, size, str(local)


def _measure(
    client: httpx.Client, servers: Sequence[_Server], headers: Mapping[str, str], rounds: int
) -> dict[str, _Timing]:
    """``rounds`` scrapes of each server, taking turns; the servers' CPU over the whole loop."""
    timings = {server.label: _Timing() for server in servers}
    for server in servers:
        for _ in range(WARMUP):
            timings[server.label].size = _get(client, server, headers)[2]
    reference = timings[servers[0].label].size
    for label, timing in timings.items():
        if abs(timing.size - reference) > 0.05 * reference:
            raise AssertionError(f"{label}: {timing.size} bytes, plain HTTP {reference}")
    before = {server.label: _cpu(server.pid) for server in servers}
    for _ in range(rounds):
        for server in servers:
            elapsed, cpu, _, _ = _get(client, server, headers)
            timings[server.label].latency.append(elapsed)
            timings[server.label].client.append(cpu)
    for server in servers:
        timings[server.label].server = (_cpu(server.pid) - before[server.label]) / rounds
    return timings


def _fresh(files: _Files, servers: Sequence[_Server]) -> dict[str, _Timing]:
    """Scrapes by a client that keeps no connection: a connect and handshake each."""
    limits = httpx.Limits(max_keepalive_connections=0)
    with httpx.Client(verify=files.client, limits=limits, timeout=120) as client:
        for server in servers:
            _get(client, server, PROMETHEUS)
        addresses: set[tuple[str, str]] = set()
        timings = {server.label: _Timing() for server in servers}
        before = {server.label: _cpu(server.pid) for server in servers}
        for _ in range(FRESH_ROUNDS):
            for server in servers:
                elapsed, cpu, _, address = _get(client, server, PROMETHEUS)
                timings[server.label].latency.append(elapsed)
                timings[server.label].client.append(cpu)
                addresses.add((server.label, address))
        for server in servers:
            timings[server.label].server = (_cpu(server.pid) - before[server.label]) / FRESH_ROUNDS
    if len(addresses) != FRESH_ROUNDS * len(servers):
        raise AssertionError(f"{len(addresses)} connections: some were reused")
    return timings


def _cold(client: httpx.Client, server: _Server) -> tuple[list[float], float]:
    """The first scrape of each cold user on a warm connection; server CPU per such scrape."""
    before = _cpu(server.pid)
    latencies = [
        _get(client, server, PROMETHEUS, user=f"cold-{index}")[0] for index in range(COLD_USERS)
    ]
    return latencies, (_cpu(server.pid) - before) / COLD_USERS


def _check_refusals(files: _Files, servers: Sequence[_Server]) -> str:
    """Assert the set-up: auth and client certificates are really required; the cipher used."""
    cipher = ""
    with httpx.Client(verify=files.bare, timeout=30) as bare:
        for server in servers[1:]:
            if server.label.startswith("mTLS"):
                try:
                    bare.get(server.process.url, auth=(USER, PASSWORD))
                except httpx.TransportError:
                    continue
                raise AssertionError(f"{server.label}: a client without a certificate got in")
            response = bare.get(server.process.url)
            expected = 401 if server.auth else 200
            if response.status_code != expected:
                raise AssertionError(f"{server.label}: HTTP {response.status_code} without auth")
            ssl_object = response.extensions["network_stream"].get_extra_info("ssl_object")
            version, name = ssl_object.version(), ssl_object.cipher()[0]
            cipher = f"{version} {name}"
    return cipher


def _summary(timing: _Timing) -> str:
    latency = timing.latency
    return f"{fmt_ms(median(latency))} (p90 {fmt_ms(percentile(latency, 90))})"


def _signed(seconds: float) -> str:
    return ("+" if seconds >= 0 else "-") + fmt_ms(abs(seconds))


def _versus(timing: _Timing, plain: _Timing) -> str:
    """Server CPU, latency and client CPU of ``timing``, each with its difference to plain."""
    latency = median(timing.latency) - median(plain.latency)
    client = median(timing.client) - median(plain.client)
    return (
        f"server CPU {fmt_ms(timing.server)} ({_signed(timing.server - plain.server)}); "
        f"latency {_summary(timing)} ({_signed(latency)}), client CPU {_signed(client)}"
    )


def _plain(timing: _Timing) -> str:
    return f"server CPU {fmt_ms(timing.server)}; latency {_summary(timing)}"


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def run() -> list[Result]:
    """Start the four servers over the loaded world and time scrapes of each."""
    with (
        running_simulator(loaded_config()) as sim,
        tempfile.TemporaryDirectory(prefix="bench-secured-") as tmp,
    ):
        assert sim.endpoints is not None
        files = _files(Path(tmp))
        with (
            _servers(simulator_env(sim.endpoints), files) as servers,
            httpx.Client(verify=files.client, timeout=120) as client,
        ):
            for server in servers[1:]:
                if not server.process.url.startswith("https://"):
                    raise AssertionError(f"{server.label} serves {server.process.url}")
            cipher = _check_refusals(files, servers)
            plain_server, secured_server = servers[0], servers[2]
            # the connection is open and no cold user has been seen: each pays one bcrypt
            _get(client, secured_server, PROMETHEUS)
            cold, cold_cpu = _cold(client, secured_server)
            prometheus = _measure(client, servers, PROMETHEUS, ROUNDS)
            text = _measure(client, [plain_server, secured_server], PLAIN, ROUNDS)
            fresh = _fresh(files, servers)
    plain, secured = prometheus[plain_server.label], prometheus[SECURED]
    extra = secured.server - plain.server
    results = [
        Result(
            GROUP,
            f"Scrape over {SECURED} vs plain HTTP (2,000 + 2,000 sessions, OpenMetrics + gzip, "
            f"{_mb(plain.size)}; keep-alive, credentials cached)",
            f"≤ {fmt_ms(MAX_EXTRA)} more than plain, server side (exporter CPU a scrape)",
            f"**{_signed(extra)}**: plain {_plain(plain)}; {SECURED} {_versus(secured, plain)}; "
            f"n={ROUNDS} each; {cipher}",
            extra <= MAX_EXTRA,
        ),
        Result(
            GROUP,
            "Where it goes: TLS alone, and mutual TLS + basic auth (same loop, vs plain)",
            "no target",
            "; ".join(
                f"{server.label}: {_versus(prometheus[server.label], plain)}"
                for server in (servers[1], servers[3])
            )
            + f"; basic auth over TLS alone: server CPU "
            f"{_signed(secured.server - prometheus[servers[1].label].server)}",
            None,
        ),
    ]
    text_plain, text_secured = text[plain_server.label], text[SECURED]
    results.append(
        Result(
            GROUP,
            f"Plain text, {_mb(text_plain.size)}, over {SECURED} (TLS costs per byte)",
            "no target",
            f"{_signed(text_secured.server - text_plain.server)} server CPU: plain "
            f"{_plain(text_plain)}; {SECURED} {_versus(text_secured, text_plain)}; n={ROUNDS}",
            None,
        )
    )
    results.append(
        Result(
            GROUP,
            f"First scrape of a user (uncached bcrypt check, cost {BCRYPT_COST}; keep-alive)",
            "no target",
            f"latency {fmt_ms(median(cold))} (median of {COLD_USERS} users; {fmt_ms(min(cold))}"
            f" to {fmt_ms(max(cold))}), {_signed(median(cold) - median(secured.latency))} over "
            f"a cached one; server CPU {fmt_ms(cold_cpu)} a scrape",
            None,
        )
    )
    fresh_plain = fresh[plain_server.label]
    parts = [f"plain: {_plain(fresh_plain)}"]
    parts += [f"{s.label}: {_versus(fresh[s.label], fresh_plain)}" for s in servers[1:]]
    results.append(
        Result(
            GROUP,
            "New connection per scrape (TCP connect + TLS handshake; OpenMetrics + gzip)",
            "no target",
            "; ".join(parts) + f"; n={FRESH_ROUNDS} each",
            None,
        )
    )
    return results


if __name__ == "__main__":
    for result in run():
        print(result)
