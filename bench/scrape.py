"""Scrape latency with 2,000 + 2,000 sessions: the exporter against its two baselines.

The real exporter process (``python -m exporter``) polls a simulator holding a little over
2,000 active sessions of each API (:mod:`bench.worlds`) once (``--poll.interval=1h``, so no
poll runs while scrapes are timed), then serves its cached exposition on its embedded uvicorn.
:mod:`bench.baseline_server`, a second process, serves on the same uvicorn set-up (a) the
exporter's own body as a constant byte string and (b) prometheus-client re-rendering the same
families on every scrape.

One sequential keep-alive ``httpx.Client`` (this process) times each GET until the last body
byte has arrived (raw bytes, never decompressed, so the client's work per byte is the same for
every server). Exporter and constant requests alternate, so load from other processes lands
on both alike; the slow prometheus-client baseline is sampled less often. Two request kinds:
plain text without compression (the target), and what Prometheus 2 sends (OpenMetrics
preferred, gzip).
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import httpx
from prometheus_client import CollectorRegistry

from bench.results import Result, fmt_ms, median, percentile
from bench.worlds import LOADED_ARGS, SESSIONS, count_sessions, loaded_config
from exporter.app import add_standard_collectors
from exporter.exposition.render import Format
from exporter.exposition.scrape import Exposition
from exporter.exposition.self_metrics import SelfMetrics
from tests.support.processes import (
    ROOT,
    ExporterProcess,
    clean_env,
    running_simulator,
    simulator_env,
    wait_for,
)

__all__ = ["run"]

GROUP: Final = "Scrape"
PLAIN: Final = {"accept": "text/plain", "accept-encoding": "identity"}
PROMETHEUS: Final = {
    # Prometheus 2.x's scrape Accept header, and the gzip it always asks for
    "accept": (
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
        "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
    ),
    "accept-encoding": "gzip",
}
MAX_RATIO_TO_CONSTANT: Final = 2.0
MIN_SPEEDUP_OVER_CLIENT: Final = 20.0


@dataclass(frozen=True, slots=True)
class _Plan:
    label: str
    headers: Mapping[str, str]
    rounds: int
    """Exporter and constant requests timed, each."""
    slow_every: int
    """One prometheus-client request per this many rounds."""


PLANS: Final = (
    _Plan("plain text", PLAIN, rounds=200, slow_every=10),
    _Plan("OpenMetrics + gzip", PROMETHEUS, rounds=100, slow_every=10),
)
WARMUP: Final = 5
LIVE_RUNS: Final = 200


def _get(client: httpx.Client, url: str, headers: Mapping[str, str]) -> tuple[float, int]:
    """Seconds from sending the request to the last raw body byte, and the body size."""
    size = 0
    start = time.perf_counter()
    with client.stream("GET", url, headers=headers) as response:
        for chunk in response.iter_raw():
            size += len(chunk)
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        raise AssertionError(f"GET {url}: HTTP {response.status_code}")
    return elapsed, size


@dataclass(frozen=True, slots=True)
class _Body:
    headers: httpx.Headers
    raw: bytes
    """As sent: still compressed when ``content-encoding`` says so."""


def _body(client: httpx.Client, url: str, headers: Mapping[str, str]) -> _Body:
    with client.stream("GET", url, headers=headers) as response:
        response.raise_for_status()
        return _Body(response.headers, b"".join(response.iter_raw()))


@contextmanager
def _baselines(
    flags: list[str], env: Mapping[str, str], text: bytes, gzipped: bytes
) -> Iterator[dict[str, str]]:
    """Start :mod:`bench.baseline_server`; yield its URLs; stop it by closing its stdin."""
    with tempfile.TemporaryDirectory(prefix="bench-scrape-") as tmp:
        text_file, gzip_file = Path(tmp, "body.txt"), Path(tmp, "body.gz")
        text_file.write_bytes(text)
        gzip_file.write_bytes(gzipped)
        command = [sys.executable, "-m", "bench.baseline_server", "--text", str(text_file)]
        command += ["--gzip", str(gzip_file), "--", *flags]
        process = subprocess.Popen(  # noqa: S603  # our own module, fixed arguments
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=clean_env(env),
            cwd=ROOT,
            text=True,
        )
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            if not line:
                raise AssertionError(f"baseline_server exited {process.wait(10)} without URLs")
            urls: dict[str, str] = json.loads(line)
            yield urls
        finally:
            if process.stdin is not None:
                process.stdin.close()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
            if process.stdout is not None:
                process.stdout.close()


def _check_body(name: str, body: bytes) -> tuple[int, int]:
    """Assert a text body holds exactly 2,000 sessions of each source; the aggregates' counts."""
    livekit, livepeer, livekit_active, livepeer_active = count_sessions(body)
    if (livekit, livepeer) != (SESSIONS, SESSIONS):
        raise AssertionError(
            f"{name}: per-session series for {livekit} LiveKit and {livepeer} Livepeer "
            f"sessions, expected {SESSIONS} of each"
        )
    if min(livekit_active, livepeer_active) < SESSIONS:
        raise AssertionError(f"{name}: only {livekit_active} + {livepeer_active} active")
    return livekit_active, livepeer_active


def _checked(name: str, body: _Body) -> bytes:
    """The raw body, once it is known to decompress when it says it is gzip."""
    if body.headers.get("content-encoding") == "gzip":
        try:
            gzip.decompress(body.raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise AssertionError(f"{name}: not a valid gzip body ({exc})") from None
    return body.raw


def _measure(
    client: httpx.Client, urls: Mapping[str, str], plan: _Plan, sizes: Mapping[str, int]
) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {name: [] for name in urls}

    def one(name: str, record: bool) -> None:
        elapsed, size = _get(client, urls[name], plan.headers)
        # the constant body is the exporter's own; the others vary by a few live bytes
        if abs(size - sizes[name]) > 0.02 * sizes[name]:
            raise AssertionError(f"{name}: {size} bytes, expected about {sizes[name]}")
        if record:
            timings[name].append(elapsed)

    for name in urls:
        for _ in range(WARMUP if name != "prometheus_client" else 1):
            one(name, record=False)
    for index in range(plan.rounds):
        one("exporter", record=True)
        one("constant", record=True)
        if index % plan.slow_every == 0:
            one("prometheus_client", record=True)
    return timings


def _summary(timings: list[float]) -> str:
    return f"{fmt_ms(median(timings))} (p90 {fmt_ms(percentile(timings, 90))}, n={len(timings)})"


def _judge(plan: _Plan, timings: Mapping[str, list[float]], size: int) -> list[Result]:
    exporter = median(timings["exporter"])
    constant = median(timings["constant"])
    rerender = median(timings["prometheus_client"])
    ratio, speedup = exporter / constant, rerender / exporter
    kind = f"{plan.label}, {size / 1e6:.1f} MB"
    return [
        Result(
            GROUP,
            f"/metrics vs constant bytes ({kind})",
            f"median ≤ {MAX_RATIO_TO_CONSTANT:g}x constant",
            f"exporter {_summary(timings['exporter'])}; constant "
            f"{_summary(timings['constant'])}: **{ratio:.2f}x**",
            ratio <= MAX_RATIO_TO_CONSTANT,
        ),
        Result(
            GROUP,
            f"/metrics vs prometheus-client re-render ({kind})",
            f"≥ {MIN_SPEEDUP_OVER_CLIENT:g}x faster",
            f"prometheus-client {_summary(timings['prometheus_client'])}: "
            f"**{speedup:.1f}x** the exporter's median",
            speedup >= MIN_SPEEDUP_OVER_CLIENT,
        ),
    ]


def live_part() -> Result:
    """What the live part costs on each scrape between polls, wired as the exporter wires it:
    the self-metrics of two targets after a poll each (their rendering reused until they
    change) and prometheus-client's process, platform and GC collectors (rendered each time)."""
    registry, standard = CollectorRegistry(), CollectorRegistry()
    add_standard_collectors(standard)
    metrics = SelfMetrics(registry)
    for source, target in (("livekit_cloud", "p_benchmark"), ("livepeer_studio", "default")):
        telemetry = metrics.target(source, target, target)
        for endpoint in ("list_sessions", "session_details"):
            for seconds in (0.02, 0.06, 0.3):
                telemetry.request(endpoint, "200", seconds)
        telemetry.poll_succeeded(duration=1.0, finished=time.time(), omitted=0)
    exposition = Exposition(registry, standard=standard, changes=lambda: metrics.changes)
    cost = {}
    fmt: Format
    for name, fmt in (("text", "text"), ("OpenMetrics", "openmetrics")):
        exposition.body([], fmt, gzip=False)
        runs = []
        for _ in range(LIVE_RUNS):
            start = time.perf_counter()
            size = sum(len(piece) for piece in exposition.body([], fmt, gzip=False))
            runs.append(time.perf_counter() - start)
        cost[name] = f"{fmt_ms(median(runs))} ({size / 1000:.0f} kB)"
    return Result(
        GROUP,
        "Live part of a scrape between polls (self-metrics reused, process and GC collectors)",
        "no target",
        f"text {cost['text']}, OpenMetrics {cost['OpenMetrics']}: median of {LIVE_RUNS}",
        None,
    )


def run() -> list[Result]:
    """Serve the loaded snapshot and time scrapes of it and of both baselines."""
    results: list[Result] = []
    flags = [*LOADED_ARGS, "--poll.interval=1h"]
    with running_simulator(loaded_config()) as sim:
        assert sim.endpoints is not None
        env = simulator_env(sim.endpoints)
        with ExporterProcess(flags, env) as exporter, httpx.Client(timeout=120) as client:
            wait_for(
                lambda: len(exporter.events("poll_succeeded")) >= 2,
                within=120,
                what="the first poll of both sources",
            )
            if exporter.events("poll_failed"):
                raise AssertionError(f"a poll failed: {exporter.events('poll_failed')}")
            text = _body(client, exporter.url, PLAIN)
            gzipped = _body(client, exporter.url, PROMETHEUS)
            if gzipped.headers.get("content-encoding") != "gzip":
                raise AssertionError("the exporter did not gzip for a Prometheus Accept")
            active = _check_body("exporter", text.raw)
            _check_body("exporter, OpenMetrics + gzip", gzip.decompress(gzipped.raw))
            quiet = [*flags, "--log.level=warning"]
            with _baselines(quiet, env, text.raw, gzipped.raw) as baseline_urls:
                urls = {"exporter": exporter.url, **baseline_urls}
                reference = _body(client, urls["prometheus_client"], PLAIN).raw
                _check_body("prometheus-client baseline", reference)
                if abs(len(reference) - len(text.raw)) > 0.02 * len(text.raw):
                    raise AssertionError(
                        f"prometheus-client renders {len(reference)} bytes, "
                        f"the exporter {len(text.raw)}: not the same data"
                    )
                for plan in PLANS:
                    sizes = {
                        name: len(_checked(name, _body(client, url, plan.headers)))
                        for name, url in urls.items()
                    }
                    timings = _measure(client, urls, plan, sizes)
                    results += _judge(plan, timings, sizes["exporter"])
    results.append(live_part())
    results.append(
        Result(
            GROUP,
            "Snapshot served",
            f"{SESSIONS:,} + {SESSIONS:,} sessions",
            f"per-session series for {SESSIONS:,} LiveKit and {SESSIONS:,} Livepeer sessions "
            f"(of {active[0]:,} and {active[1]:,} active); every LiveKit session's details",
            None,
        )
    )
    return results


if __name__ == "__main__":
    for result in run():
        print(result)
