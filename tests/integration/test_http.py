"""The HTTP surface over a real loopback socket: routes, negotiation, gzip, probes, errors."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
import httpx
import pytest
from prometheus_client import CollectorRegistry

from exporter.app import Exporter, build_exporter
from exporter.config.settings import Settings
from exporter.config.values import ListenAddress
from exporter.errors import AuthError
from exporter.web.server import bind, bound_url, serve
from tests.support.fakes import FakeClock, FakeSnapshot, FakeSource, hang, spec_for

pytestmark = pytest.mark.anyio

PROMETHEUS_2 = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
PROMETHEUS_3 = (
    "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
    "application/openmetrics-text;version=0.0.1;q=0.5,"
    "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
)
TEXT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OM_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"


@dataclass
class Served:
    exporter: Exporter
    client: httpx.AsyncClient
    source: FakeSource


@asynccontextmanager
async def served(
    source: FakeSource, argv: tuple[str, ...] = (), target: str = "t1"
) -> AsyncIterator[Served]:
    source.target = target
    specs = [spec_for(source)]
    settings = Settings.from_sources(list(argv), {}, specs)
    async with (
        build_exporter(
            settings, clock=FakeClock(), specs=specs, registry=CollectorRegistry()
        ) as exporter,
        anyio.create_task_group() as tg,
    ):
        sock = bind(ListenAddress("127.0.0.1", 0))
        await tg.start(serve, exporter.app, sock)
        async with httpx.AsyncClient(base_url=bound_url(sock), timeout=5) as client:
            yield Served(exporter, client, source)
        tg.cancel_scope.cancel()


async def test_metrics_text_openmetrics_and_gzip() -> None:
    """The telemetry path serves text, OpenMetrics and gzip with exact content types."""
    async with served(FakeSource([FakeSnapshot({"a": 7})])) as s:
        await s.exporter.poll_all_once()
        plain = await s.client.get("/metrics", headers={"accept-encoding": "identity"})
        assert plain.status_code == 200
        assert plain.headers["content-type"] == TEXT_TYPE
        assert "content-encoding" not in plain.headers
        assert 'fake_a{project="p_test"} 7.0' in plain.text
        assert "livesession_exporter_source_up" in plain.text
        assert "process_cpu_seconds_total" not in plain.text  # fresh registry in tests
        om = await s.client.get("/metrics", headers={"accept": PROMETHEUS_3})
        assert om.headers["content-type"] == OM_TYPE
        assert om.text.endswith("# EOF\n")
        raw = await s.client.get("/metrics", headers={"accept-encoding": "gzip"}, extensions={})
        assert raw.headers["content-encoding"] == "gzip"
        assert raw.headers["vary"] == "Accept, Accept-Encoding"
        assert raw.text == plain.text


async def test_gzip_bytes_on_the_wire_decompress() -> None:
    """The gzip body on the wire is a standard gzip stream of the plain body."""
    async with served(FakeSource([FakeSnapshot({"a": 7})])) as s:
        await s.exporter.poll_all_once()
        async with s.client.stream("GET", "/metrics", headers={"accept-encoding": "gzip"}) as r:
            wire = b"".join([chunk async for chunk in r.aiter_raw()])
        assert int(r.headers["content-length"]) == len(wire)
        plain = await s.client.get("/metrics", headers={"accept-encoding": "identity"})
        assert gzip.decompress(wire) == plain.content


async def test_head_sends_headers_only() -> None:
    """HEAD on the telemetry path answers like GET without a body."""
    async with served(FakeSource([FakeSnapshot({})])) as s:
        head = await s.client.head("/metrics")
        assert head.status_code == 200
        assert head.headers["content-type"] == TEXT_TYPE
        assert int(head.headers["content-length"]) > 0
        assert head.content == b""


async def test_custom_telemetry_path() -> None:
    """--web.telemetry-path moves the exposition; the old path is 404."""
    async with served(FakeSource([FakeSnapshot({})]), ("--web.telemetry-path=/m",)) as s:
        assert (await s.client.get("/m")).status_code == 200
        assert (await s.client.get("/metrics")).status_code == 404


async def test_readiness_follows_the_first_poll_and_liveness_does_not() -> None:
    """/readyz is 503 until every target was polled once (even failing); /healthz stays 200."""
    async with served(FakeSource([AuthError("HTTP 401")])) as s:
        not_ready = await s.client.get("/readyz")
        assert not_ready.status_code == 503
        assert "fake_source/t1" in not_ready.text
        await s.exporter.poll_all_once()
        assert (await s.client.get("/readyz")).status_code == 200


async def test_healthz_reflects_the_poll_loops() -> None:
    """/healthz is 200 while the poll loops run and 503 when they are not running."""
    async with served(FakeSource([FakeSnapshot({})])) as s:
        assert (await s.client.get("/healthz")).status_code == 503
        async with anyio.create_task_group() as tg:
            await tg.start(s.exporter.poller.run)
            s.exporter.start()
            await anyio.wait_all_tasks_blocked()
            health = await s.client.get("/healthz")
            assert (health.status_code, health.text) == (200, "ok\n")
            tg.cancel_scope.cancel()


async def test_landing_page_lists_targets_escaped() -> None:
    """/ shows name, version, metrics link and each target's status, HTML-escaped."""
    source = FakeSource([FakeSnapshot({}, sessions=12)])
    async with served(source, target="<b>evil</b>") as s:
        await s.exporter.poll_all_once()
        page = await s.client.get("/")
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert "livesession-exporter" in page.text
        assert '<a href="/metrics">' in page.text
        assert "&lt;b&gt;evil&lt;/b&gt;" in page.text
        assert "<b>evil</b>" not in page.text
        assert "<td>up</td>" in page.text
        assert "<td>12</td>" in page.text
        assert "Demo mode" not in page.text


async def test_unknown_paths_and_methods() -> None:
    """Unknown paths are 404; other methods on known paths are 405 with Allow."""
    async with served(FakeSource([FakeSnapshot({})])) as s:
        assert (await s.client.get("/nope")).status_code == 404
        for path in ("/metrics", "/", "/healthz", "/readyz"):
            response = await s.client.post(path)
            assert response.status_code == 405
            assert response.headers["allow"] == "GET, HEAD"


async def test_scrapes_do_not_wait_for_a_hung_poll() -> None:
    """While a poll hangs, scrapes keep answering with the data already published."""
    async with served(FakeSource([FakeSnapshot({"a": 1}), hang])) as s:
        await s.exporter.poll_all_once()
        async with anyio.create_task_group() as tg:
            tg.start_soon(s.exporter.poll_all_once)
            await anyio.wait_all_tasks_blocked()
            assert s.source.polls == 2
            for _ in range(5):
                response = await s.client.get("/metrics")
                assert 'fake_a{project="p_test"} 1.0' in response.text
            tg.cancel_scope.cancel()
