"""The exporter's self-metrics (README, "Exporter self-metrics"), kept in a registry.

These change on every request and poll, so they are the small "live" part of a scrape,
rendered by prometheus-client each time; the bulky data series are cached elsewhere.
"""

from __future__ import annotations

import platform
from typing import Final, Literal

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)

from exporter import __version__
from exporter.errors import REASONS, Reason

__all__ = ["SelfMetrics", "TargetTelemetry"]

# prometheus-client's *_created series would double the self-metric series and change on every
# restart; nothing reads them, and the README's table lists none. The switch is process-wide.
disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped upstream

SKIP_REASONS: Final = ("invalid", "duplicate")
_LATENCY_BUCKETS: Final = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0)
_ST: Final = ("source", "target")


class SelfMetrics:
    """Every self-metric family, registered in one registry (fresh per app, so per test)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        Gauge(
            "livesession_exporter_build_info",
            "Build of this exporter: version and Python version; always 1.",
            ("version", "python_version"),
            registry=r,
        ).labels(__version__, platform.python_version()).set(1)
        self.up = Gauge(
            "livesession_exporter_source_up",
            "1 if the last poll of this target succeeded, else 0.",
            _ST,
            registry=r,
        )
        self.last_success = Gauge(
            "livesession_exporter_source_last_success_timestamp_seconds",
            "Unix time at which the last successful poll of this target ended.",
            _ST,
            registry=r,
        )
        self.poll_duration = Gauge(
            "livesession_exporter_source_poll_duration_seconds",
            "Wall time the last poll of this target took, in seconds.",
            _ST,
            registry=r,
        )
        self.polls = Counter(
            "livesession_exporter_source_polls_total",
            "Polls of this target started.",
            _ST,
            registry=r,
        )
        self.poll_errors = Counter(
            "livesession_exporter_source_poll_errors_total",
            "Polls of this target that failed, by reason.",
            (*_ST, "reason"),
            registry=r,
        )
        self.requests = Counter(
            "livesession_exporter_api_requests_total",
            "HTTP requests made to the upstream API; code is the status or 'error' if none came.",
            (*_ST, "endpoint", "code"),
            registry=r,
        )
        self.latency = Histogram(
            "livesession_exporter_api_request_duration_seconds",
            "Latency of HTTP requests to the upstream API, in seconds.",
            (*_ST, "endpoint"),
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.skipped = Counter(
            "livesession_exporter_records_skipped_total",
            "Upstream records left out of the data: invalid (wrong shape) or duplicate.",
            (*_ST, "reason"),
            registry=r,
        )
        self.omitted = Gauge(
            "livesession_exporter_sessions_omitted",
            "Active sessions left out of per-session series by the max-sessions cap in the "
            "last successful poll; aggregates still count them.",
            _ST,
            registry=r,
        )
        self.truncated = Gauge(
            "livesession_exporter_source_truncated",
            "1 if the last successful poll of this target stopped reading its list early (the "
            "max-pages cap, or a repeated page or cursor), so its aggregates undercount; else 0.",
            _ST,
            registry=r,
        )
        self.token_expiry = Gauge(
            "livesession_exporter_token_expiry_timestamp_seconds",
            "Unix time at which the current LiveKit access token expires.",
            _ST,
            registry=r,
        )
        self.target_info = Gauge(
            "livesession_exporter_target_info",
            "One per enabled target of this shard; identity is the account it polls "
            "(LiveKit project id, or a digest of the Livepeer key). Always 1.",
            (*_ST, "identity"),
            registry=r,
        )
        self.per_target = (
            self.up,
            self.last_success,
            self.poll_duration,
            self.polls,
            self.poll_errors,
            self.requests,
            self.latency,
            self.skipped,
            self.omitted,
            self.truncated,
            self.token_expiry,
            self.target_info,
        )
        """Every family labelled by target: a removed target's series go from each."""
        self.reload_successful = Gauge(
            "livesession_exporter_config_last_reload_successful",
            "1 if the last configuration reload succeeded (or none was tried), else 0.",
            registry=r,
        )
        self.reload_success_time = Gauge(
            "livesession_exporter_config_last_reload_success_timestamp_seconds",
            "Unix time of the last successful configuration load (the start, or a reload).",
            registry=r,
        )
        self.reloads = Counter(
            "livesession_exporter_config_reloads",
            "Configuration reloads tried, by result (success or failure); a start is not one.",
            ("result",),
            registry=r,
        )
        self.config_hash = Gauge(
            "livesession_exporter_config_hash",
            "A number derived from the applied configuration file's content (0 without one).",
            registry=r,
        )
        self.shard_ordinal = Gauge(
            "livesession_exporter_shard_ordinal",
            "This process's shard ordinal (--shard, or from --shard.from-pod-name).",
            registry=r,
        )
        self.total_shards = Gauge(
            "livesession_exporter_total_shards",
            "Number of shards the targets are split into (--total-shards).",
            registry=r,
        )
        for result in ("success", "failure"):
            self.reloads.labels(result)

    changes: int = 0
    """Moves with every update through a :class:`TargetTelemetry`, so a rendering of these
    families can be reused until it does (all updates go through that class)."""

    def target(self, source: str, target: str, identity: str) -> TargetTelemetry:
        """The handle one target's poller and source record through; zeroes its counters."""
        return TargetTelemetry(self, source, target, identity)

    def sharded(self, ordinal: int, total: int) -> None:
        self.changes += 1
        self.shard_ordinal.set(ordinal)
        self.total_shards.set(total)

    def loaded(self, *, at: float, config_hash: float, reload: bool) -> None:
        """A configuration was applied: at start (``reload`` False) or by a reload."""
        self.changes += 1
        self.reload_successful.set(1)
        self.reload_success_time.set(at)
        self.config_hash.set(config_hash)
        if reload:
            self.reloads.labels("success").inc()

    def reload_failed(self) -> None:
        self.changes += 1
        self.reload_successful.set(0)
        self.reloads.labels("failure").inc()


class TargetTelemetry:
    """Self-metrics of one (source, target) pair."""

    def __init__(self, metrics: SelfMetrics, source: str, target: str, identity: str) -> None:
        self._m = metrics
        self.source, self.target = source, target
        self._truncated = False
        """Whether the poll in progress stopped early; exported when it succeeds."""
        metrics.changes += 1
        labels = (source, target)
        metrics.target_info.labels(*labels, identity).set(1)
        # Known label sets start at 0 so rate() and alerts work from the first scrape.
        metrics.up.labels(*labels).set(0)
        metrics.polls.labels(*labels)
        metrics.omitted.labels(*labels).set(0)
        metrics.truncated.labels(*labels).set(0)
        for reason in REASONS:
            metrics.poll_errors.labels(*labels, reason)
        for skip in SKIP_REASONS:
            metrics.skipped.labels(*labels, skip)

    def remove(self) -> None:
        """Drop every series of this target (it was removed from the configuration)."""
        self._m.changes += 1
        for family in self._m.per_target:
            family.remove_by_labels({"source": self.source, "target": self.target})

    def request(self, endpoint: str, code: str, seconds: float) -> None:
        """One upstream HTTP request finished (``code`` = status, or ``error``)."""
        self._m.changes += 1
        self._m.requests.labels(self.source, self.target, endpoint, code).inc()
        self._m.latency.labels(self.source, self.target, endpoint).observe(seconds)

    def skipped(self, reason: Literal["invalid", "duplicate"], count: int = 1) -> None:
        """Upstream records left out of the data."""
        self._m.changes += 1
        if count:
            self._m.skipped.labels(self.source, self.target, reason).inc(count)

    def token_expiry(self, timestamp: float) -> None:
        """A new token was minted that expires at ``timestamp`` (Unix seconds)."""
        self._m.changes += 1
        self._m.token_expiry.labels(self.source, self.target).set(timestamp)

    def truncated(self) -> None:
        """This poll stopped reading its list early. Held until the poll ends: only a
        successful poll's data is served, so only its truncation is exported."""
        self._truncated = True

    def poll_started(self) -> None:
        self._m.changes += 1
        self._truncated = False
        self._m.polls.labels(self.source, self.target).inc()

    def poll_succeeded(self, *, duration: float, finished: float, omitted: int) -> None:
        self._m.changes += 1
        labels = (self.source, self.target)
        self._m.up.labels(*labels).set(1)
        self._m.poll_duration.labels(*labels).set(duration)
        self._m.last_success.labels(*labels).set(finished)
        self._m.omitted.labels(*labels).set(omitted)
        self._m.truncated.labels(*labels).set(1 if self._truncated else 0)
        self._truncated = False

    def poll_failed(self, *, duration: float, reason: Reason) -> None:
        self._m.changes += 1
        labels = (self.source, self.target)
        self._m.up.labels(*labels).set(0)
        self._m.poll_duration.labels(*labels).set(duration)
        self._m.poll_errors.labels(*labels, reason).inc()
