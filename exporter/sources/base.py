"""What a source is, as far as the rest of the exporter cares.

A source polls one upstream for one target and returns an immutable :class:`Snapshot`, or
raises a :class:`~exporter.errors.SourceError`. It gets everything from outside (HTTP client,
clock, telemetry, settings), so swapping LiveKit's API-key endpoint for its future Cloud API
touches only the source: the poller, the collector and the server never change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from prometheus_client.metrics_core import Metric
from structlog.typing import FilteringBoundLogger

from exporter.clock import Clock
from exporter.exposition.self_metrics import TargetTelemetry
from exporter.sources.upstream import UpstreamClient

if TYPE_CHECKING:
    from exporter.config.settings import Settings

__all__ = ["Snapshot", "Source", "SourceSpec", "TargetContext"]


class Snapshot(Protocol):
    """The result of one successful poll: plain typed values, rendered by ``families()``."""

    @property
    def sessions(self) -> int:
        """Active sessions seen, for the poll's log line."""

    @property
    def omitted(self) -> int:
        """Active sessions left out of per-session series by the max-sessions cap."""

    def families(self) -> Iterable[Metric]:
        """The data series of this snapshot; pure, and called once per snapshot."""


class Source(Protocol):
    """One upstream API for one target (a LiveKit project, a Livepeer key)."""

    @property
    def kind(self) -> str:
        """The ``source`` label: ``livekit_cloud`` or ``livepeer_studio``."""

    @property
    def target(self) -> str:
        """The ``target`` label: LiveKit project id, or the Livepeer target name."""

    @property
    def interval(self) -> float:
        """Seconds between the starts of two polls."""

    async def poll(self) -> Snapshot:
        """Fetch and parse once; raise SourceError on failure."""


@dataclass(frozen=True, slots=True)
class TargetContext:
    """What the composition root hands a source for one target."""

    http: UpstreamClient
    clock: Clock
    telemetry: TargetTelemetry
    log: FilteringBoundLogger


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """How the composition root recognises and builds one kind of source from the settings."""

    kind: str
    """The ``source`` label value."""
    target: Callable[[Settings], str | None]
    """The ``target`` label value when this source is configured, else None."""
    build: Callable[[Settings, TargetContext], Source]
