"""The self-metrics, as the README's table names them."""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry

from exporter.errors import RateLimitedError
from exporter.exposition.scrape import Exposition
from exporter.exposition.self_metrics import SelfMetrics
from tests.conftest import Golden


def test_self_metrics_match_golden(golden: Golden) -> None:
    """Self-metrics render as the contract names them, after a scripted history."""
    registry = CollectorRegistry()
    metrics = SelfMetrics(registry)
    lk = metrics.target("livekit_cloud", "p_abc", "p_abc")
    lk.poll_started()
    lk.request("list_sessions", "200", 0.2)
    lk.request("session_details", "error", 20.0)
    lk.skipped("invalid")
    lk.skipped("duplicate", 2)
    lk.token_expiry(1_800_000_600.0)
    lk.poll_succeeded(duration=0.41, finished=1_800_000_000.0, omitted=5)
    lp = metrics.target("livepeer_studio", "default", "default")
    lp.poll_started()
    lp.request("list_sessions", "429", 0.05)
    lp.poll_failed(duration=0.06, reason=RateLimitedError("x").reason)
    text = Exposition(registry).body([], "text", gzip=False)[-1].decode()
    text = re.sub(r'python_version="[^"]+"', 'python_version="X"', text)
    golden.check("self.prom", text)
