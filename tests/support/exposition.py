"""Families with hostile label values, and helpers to publish and join them, for the
exposition's tests."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics.parser import text_string_to_metric_families as _om_parse

from exporter.exposition.render import render_chunk
from exporter.exposition.store import Published
from tests.support.fakes import FakeSnapshot

om_parse: Callable[[str], Iterable[Metric]] = _om_parse  # untyped upstream
HOSTILE = 'quote " backslash \\ newline \n tab \t unicode ✓ 日本'


def families() -> Iterable[Metric]:
    gauge = GaugeMetricFamily(
        "livekit_cloud_sessions_active",
        "Active LiveKit sessions (Analytics API list), as of the last successful poll.",
        labels=["project"],
    )
    gauge.add_metric(["p_abc"], 3)
    counter = CounterMetricFamily(
        "livekit_cloud_session_bandwidth_bytes_total",
        "Bytes relayed, from the Analytics API; value of the last successful poll.",
        labels=["project", "room", "session_id", "direction"],
    )
    counter.add_metric(["p_abc", HOSTILE, "RM_1", "incoming"], 1260393)
    counter.add_metric(["p_abc", "x" * 1024, "RM_/../%20", "outgoing"], 2.5e18)
    return [gauge, counter]


def publish(snapshot: FakeSnapshot) -> Published:
    return Published(render_chunk(snapshot.families()), at=0.0, sessions=snapshot.sessions)


def join(pieces: tuple[bytes, ...]) -> bytes:
    return b"".join(pieces)
