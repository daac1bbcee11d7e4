"""A scrape's body: cached chunks joined with the live part, and gzip splicing."""

from __future__ import annotations

import gzip
import sys
import zlib
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families as text_parse
from prometheus_client.registry import Collector

from exporter.exposition.render import render_chunk
from exporter.exposition.scrape import Exposition
from exporter.exposition.self_metrics import SelfMetrics
from exporter.exposition.store import Published
from tests.support.exposition import families, join, om_parse, publish
from tests.support.fakes import FakeSnapshot


def test_whole_exposition_parses_in_both_formats() -> None:
    """Data of several targets plus live self-metrics parse as text and as OpenMetrics."""
    registry = CollectorRegistry()
    SelfMetrics(registry).target("livekit_cloud", "p_abc", "p_abc").poll_started()
    fresh = [
        Published(render_chunk(families()), 0.0, sessions=0),
        publish(FakeSnapshot({"b": 2})),
    ]
    exposition = Exposition(registry)
    names = {f.name for f in text_parse(join(exposition.body(fresh, "text", gzip=False)).decode())}
    assert {"livekit_cloud_sessions_active", "fake_b", "livesession_exporter_source_polls"} <= names
    om = {
        f.name for f in om_parse(join(exposition.body(fresh, "openmetrics", gzip=False)).decode())
    }
    assert {"livekit_cloud_session_bandwidth_bytes", "fake_b"} <= om


def test_gzip_body_is_one_valid_member() -> None:
    """The spliced gzip body decompresses (gzip module and httpx's zlib way) to the plain body."""
    registry = CollectorRegistry()
    SelfMetrics(registry).target("livepeer_studio", "default", "default")
    fresh = [
        publish(FakeSnapshot({"a": 1})),
        Published(render_chunk(families()), 0.0, sessions=0),
    ]
    exposition = Exposition(registry)
    for fmt in ("text", "openmetrics"):
        plain = join(exposition.body(fresh, fmt, gzip=False))
        packed = join(exposition.body(fresh, fmt, gzip=True))
        assert gzip.decompress(packed) == plain
        decoder = zlib.decompressobj(zlib.MAX_WBITS | 16)
        assert decoder.decompress(packed) == plain
        assert decoder.eof
        assert decoder.unused_data == b""


def test_gzip_of_no_data_is_valid() -> None:
    """With no fresh target, gzip still yields a valid body of the live part alone."""
    registry = CollectorRegistry()
    exposition = Exposition(registry)
    assert gzip.decompress(join(exposition.body([], "text", gzip=True))) == join(
        exposition.body([], "text", gzip=False)
    )


def test_scrape_reuses_cached_bytes() -> None:
    """A scrape hands out the snapshot's cached bytes objects themselves, not a re-render."""
    published = publish(FakeSnapshot({"a": 1}))
    exposition = Exposition(CollectorRegistry())
    family = published.chunk.text.families[0]
    first = exposition.body([published], "text", gzip=False)
    second = exposition.body([published], "text", gzip=False)
    assert first[:2] == second[:2] == (family.header.raw, family.samples.raw)
    assert first[0] is family.header.raw
    assert second[1] is family.samples.raw
    packed = exposition.body([published], "text", gzip=True)
    assert packed[1] is family.header.deflated
    assert packed[2] is family.samples.deflated


def test_targets_of_one_source_share_each_family() -> None:
    """Several targets' chunks merge family by family: one HELP and TYPE per family, then
    every target's samples, so both parsers (which reject a repeated family) accept it."""
    one = publish(FakeSnapshot({"a": 1, "b": 2}, target="one"))
    two = publish(FakeSnapshot({"a": 3, "c": 4}, target="two"))
    exposition = Exposition(CollectorRegistry())
    text = join(exposition.body([one, two], "text", gzip=False)).decode()
    assert text.count("# TYPE fake_a gauge") == 1
    assert text.index('target="one"') < text.index('target="two"') < text.index("fake_b")
    parsed = {f.name: f for f in text_parse(text)}
    assert [s.value for s in parsed["fake_a"].samples] == [1.0, 3.0]
    assert {"fake_b", "fake_c"} <= parsed.keys()
    om = join(exposition.body([one, two], "openmetrics", gzip=False)).decode()
    assert [s.value for s in {f.name: f for f in om_parse(om)}["fake_a"].samples] == [1.0, 3.0]
    packed = join(exposition.body([one, two], "openmetrics", gzip=True))
    assert gzip.decompress(packed).decode() == om


def test_new_snapshot_replaces_cached_join() -> None:
    """When the set of fresh chunks changes, the next scrape shows the new data."""
    exposition = Exposition(CollectorRegistry())
    old, new = publish(FakeSnapshot({"a": 1})), publish(FakeSnapshot({"a": 2}))
    assert b'fake_a{project="p_test"} 1.0' in join(exposition.body([old], "text", gzip=False))
    body = join(exposition.body([new], "text", gzip=False))
    assert b'fake_a{project="p_test"} 2.0' in body
    assert b'fake_a{project="p_test"} 1.0' not in body


def test_new_data_releases_what_other_formats_cached() -> None:
    """A format scraped once does not pin its chunks after new data is scraped in another."""
    exposition = Exposition(CollectorRegistry())
    old, new = publish(FakeSnapshot({"a": 1})), publish(FakeSnapshot({"a": 2}))
    exposition.body([old], "text", gzip=False)
    exposition.body([old], "openmetrics", gzip=False)
    pinned = sys.getrefcount(old.chunk)
    exposition.body([new], "openmetrics", gzip=False)
    released = pinned - sys.getrefcount(old.chunk)  # outside assert: its rewriting holds refs
    assert released == 2  # neither format's entry holds it now


def test_cache_is_not_fooled_by_a_reused_object_id() -> None:
    """A new snapshot is served even if its chunk lands where a freed one lived."""
    exposition = Exposition(CollectorRegistry())
    for value in range(50):  # freed chunks' addresses are reused quickly by CPython
        body = join(exposition.body([publish(FakeSnapshot({"a": value}))], "text", gzip=False))
        assert f'fake_a{{project="p_test"}} {float(value)}'.encode() in body


class _Ticking(Collector):
    """A collector whose value moves on every collect, like process_cpu_seconds_total."""

    def __init__(self) -> None:
        self.ticks = 0

    def collect(self) -> Iterable[Metric]:
        self.ticks += 1
        yield GaugeMetricFamily("ticking", "Moves on every collect.", value=self.ticks)


def test_self_metrics_render_again_exactly_when_they_change() -> None:
    """The self-metrics' rendering is reused between updates and redone after each one."""
    registry = CollectorRegistry()
    metrics = SelfMetrics(registry)
    telemetry = metrics.target("livekit_cloud", "p_abc", "p_abc")
    exposition = Exposition(registry, changes=lambda: metrics.changes)
    first = exposition.body([], "text", gzip=False)[-1]
    assert exposition.body([], "text", gzip=False)[-1] is first  # reused, not rendered again
    at = 'source="livekit_cloud",target="p_abc"}'
    steps: list[tuple[Callable[[], None], str]] = [
        (telemetry.poll_started, f"source_polls_total{{{at} 1.0"),
        (lambda: telemetry.request("list_sessions", "200", 0.1), 'requests_total{code="200"'),
        (lambda: telemetry.skipped("invalid"), f'skipped_total{{reason="invalid",{at} 1.0'),
        (lambda: telemetry.token_expiry(123.0), f"token_expiry_timestamp_seconds{{{at} 123.0"),
        (
            lambda: telemetry.poll_failed(duration=1.0, reason="timeout"),
            f'poll_errors_total{{reason="timeout",{at} 1.0',
        ),
        (
            lambda: telemetry.poll_succeeded(duration=2.0, finished=9.0, omitted=3),
            f"sessions_omitted{{{at} 3.0",
        ),
    ]
    for update, expected in steps:
        before = exposition.body([], "text", gzip=False)[-1]
        update()
        after = exposition.body([], "text", gzip=False)[-1]
        assert after != before, expected
        assert expected.encode() in after


def test_standard_collectors_render_on_every_scrape() -> None:
    """Process-style collectors are never cached, and OpenMetrics still ends in one EOF."""
    registry, standard = CollectorRegistry(), CollectorRegistry()
    metrics = SelfMetrics(registry)
    standard.register(_Ticking())
    exposition = Exposition(registry, standard=standard, changes=lambda: metrics.changes)
    bodies = [b"".join(exposition.body([], "openmetrics", gzip=False)) for _ in range(2)]
    assert b"ticking 1.0" in bodies[0]
    assert b"ticking 2.0" in bodies[1]
    for body in bodies:
        assert body.count(b"# EOF") == 1
        assert body.endswith(b"# EOF\n")
        assert b"livesession_exporter_build_info" in body
        assert {f.name for f in om_parse(body.decode())} >= {
            "ticking",
            "livesession_exporter_build_info",
        }
