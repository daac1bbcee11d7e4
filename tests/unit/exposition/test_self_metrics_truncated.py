"""``livesession_exporter_source_truncated``: known at 0 from a target's start, set by every
successful poll from what its source said during it, and gone with the target."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from exporter.exposition.self_metrics import SelfMetrics, TargetTelemetry

NAME = "livesession_exporter_source_truncated"


def target() -> tuple[CollectorRegistry, TargetTelemetry]:
    registry = CollectorRegistry()
    return registry, SelfMetrics(registry).target("livepeer_studio", "default", "sha256:x")


def truncated(registry: CollectorRegistry) -> float | None:
    return registry.get_sample_value(NAME, {"source": "livepeer_studio", "target": "default"})


def poll(telemetry: TargetTelemetry, *, cut: bool, succeeds: bool = True) -> None:
    """One poll as the poller records it, whose source stopped its list early if ``cut``."""
    telemetry.poll_started()
    if cut:
        telemetry.truncated()
    if succeeds:
        telemetry.poll_succeeded(duration=0.1, finished=1.0, omitted=0)
    else:
        telemetry.poll_failed(duration=0.1, reason="timeout")


def test_a_target_starts_at_zero() -> None:
    """Like the other per-target gauges, the series exists at 0 before the first poll."""
    registry, _ = target()
    assert truncated(registry) == 0


def test_each_successful_poll_sets_it_from_that_poll_alone() -> None:
    """A truncated successful poll sets 1; the next one that reads its whole list sets 0."""
    registry, telemetry = target()
    poll(telemetry, cut=True)
    assert truncated(registry) == 1
    poll(telemetry, cut=False)
    assert truncated(registry) == 0


def test_a_failed_poll_leaves_the_last_successful_polls_value() -> None:
    """A failed poll serves no new data, so it changes nothing, even if its list was cut
    before it failed; the truncation it saw is not carried into the next poll."""
    registry, telemetry = target()
    poll(telemetry, cut=True)
    poll(telemetry, cut=False, succeeds=False)
    assert truncated(registry) == 1
    poll(telemetry, cut=False)
    poll(telemetry, cut=True, succeeds=False)
    assert truncated(registry) == 0
    poll(telemetry, cut=False)
    assert truncated(registry) == 0


def test_the_series_goes_with_its_target() -> None:
    """A removed target's truncated series is dropped with its other self-metrics."""
    registry, telemetry = target()
    poll(telemetry, cut=True)
    telemetry.remove()
    assert truncated(registry) is None
