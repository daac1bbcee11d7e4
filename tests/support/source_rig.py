"""One test rig for any source: the real source over a fake API, with its own self-metrics.

:func:`source_rig` serves a fake API (an ``httpx.MockTransport`` handler) to a real
:class:`~exporter.sources.upstream.UpstreamClient`, gives the source a fake clock and a fresh
registry for its target's self-metrics, and yields a :class:`SourceRig` that reads them back.
Each source's fake API module wraps it with that source's settings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

import httpx
from prometheus_client import CollectorRegistry

from exporter.exposition.self_metrics import SelfMetrics
from exporter.logs import get_logger
from exporter.sources.base import TargetContext
from exporter.sources.upstream import UpstreamClient
from tests.support.fakes import FakeClock

__all__ = ["SourceRig", "source_rig"]

S = TypeVar("S")
Handler = (
    Callable[[httpx.Request], httpx.Response]
    | Callable[[httpx.Request], Coroutine[None, None, httpx.Response]]
)


@dataclass
class SourceRig(Generic[S]):
    """A source polling a fake API on a fake clock, and its target's self-metrics."""

    source: S
    registry: CollectorRegistry
    clock: FakeClock
    context: TargetContext
    kind: str
    target: str

    def self_metric(self, name: str, **labels: str) -> float | None:
        """A ``livesession_exporter_`` sample of this target, None if it is not there."""
        return self.registry.get_sample_value(
            f"livesession_exporter_{name}", {"source": self.kind, "target": self.target, **labels}
        )

    def requests(self, endpoint: str, code: str) -> float:
        """Requests counted for ``endpoint`` with ``code`` (0 when none)."""
        return self.self_metric("api_requests_total", endpoint=endpoint, code=code) or 0.0

    def skipped(self, reason: str) -> float | None:
        return self.self_metric("records_skipped_total", reason=reason)


@asynccontextmanager
async def source_rig(
    kind: str,
    target: str,
    api: Handler,
    build: Callable[[TargetContext], S],
    *,
    clock: FakeClock,
) -> AsyncIterator[SourceRig[S]]:
    """A source built by ``build`` whose HTTP requests ``api`` answers."""
    registry = CollectorRegistry()
    telemetry = SelfMetrics(registry).target(kind, target, target)
    async with httpx.AsyncClient(transport=httpx.MockTransport(api)) as client:
        context = TargetContext(
            name=target,
            http=UpstreamClient(client, telemetry),
            clock=clock,
            telemetry=telemetry,
            log=get_logger(source=kind, target=target),
        )
        yield SourceRig(build(context), registry, clock, context, kind, target)
