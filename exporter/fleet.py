"""The running targets: built from their settings, and changed in place by a reload.

:meth:`Fleet.apply` takes a whole new list of targets and changes only what differs, matching
targets by source and identity (the account polled; README, "Reloading"):

- unchanged: its loop, token, budget, data and counters are untouched;
- changed settings or secret: its loop restarts with a new source (so a new token), while its
  last good data is still served and its counters continue;
- removed, disabled, renamed or another shard's: its loop stops, then its data and
  self-metric series go at once;
- added: a loop starts. When several targets of one source start together, their first
  polls are spread over their interval, at a point fixed by each identity, not fired at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from structlog.typing import FilteringBoundLogger

from exporter import __version__
from exporter.clock import Clock
from exporter.config.network import Network
from exporter.config.targets import Shard, TargetSettings, spread
from exporter.exposition.self_metrics import SelfMetrics, TargetTelemetry
from exporter.exposition.store import Store
from exporter.poller import Poller, Target
from exporter.sources.base import SourceSpec, TargetContext
from exporter.sources.transport import http_client
from exporter.sources.upstream import UpstreamClient

__all__ = ["USER_AGENT", "Changes", "Fleet"]

USER_AGENT = f"livesession-exporter/{__version__}"


@dataclass(frozen=True, slots=True)
class Changes:
    """What one :meth:`Fleet.apply` did, by (source, target) name."""

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: int = 0


@dataclass(frozen=True, slots=True)
class _Running:
    settings: TargetSettings
    target: Target
    client: httpx.AsyncClient


class Fleet:
    """The targets of this shard that the poller runs, and their HTTP clients."""

    def __init__(
        self,
        *,
        specs: Sequence[SourceSpec[Any]],
        shard: Shard,
        poll_timeout: float,
        metrics: SelfMetrics,
        store: Store,
        poller: Poller,
        clock: Clock,
        log: FilteringBoundLogger,
        transport: httpx.AsyncBaseTransport | None = None,
        network: Network | None = None,
    ) -> None:
        self._specs = {spec.kind: spec for spec in specs}
        self._shard = shard
        self._timeout = poll_timeout
        self._metrics = metrics
        self._store = store
        self._poller = poller
        self._clock = clock
        self._log = log
        self._transport = transport
        self._network = network
        self._running: dict[tuple[str, str], _Running] = {}

    @property
    def targets(self) -> tuple[Target, ...]:
        return tuple(running.target for running in self._running.values())

    @property
    def polling(self) -> bool:
        """Whether every target's loop runs (and none has ended unasked)."""
        return self._poller.alive and self._poller.running >= self._running.keys()

    def wanted(self, targets: Sequence[TargetSettings]) -> dict[tuple[str, str], TargetSettings]:
        """The enabled targets of this shard whose source is known, by (source, name)."""
        return {
            (t.kind, t.name): t
            for t in targets
            if t.enabled and t.kind in self._specs and self._shard.owns(t.identity)
        }

    async def apply(self, targets: Sequence[TargetSettings], *, start: bool = True) -> Changes:
        """Make the running targets those of ``targets`` (see the module docstring).

        With ``start`` False the targets are built but not polled: ``--once`` and tests poll
        them, or :meth:`start` starts them.
        """
        wanted = self.wanted(targets)
        running = self._running
        removed = [
            key
            for key, now in running.items()
            if key not in wanted or wanted[key].identity != now.settings.identity
        ]
        for key in removed:
            gone = running.pop(key)
            await self._stop(gone)
            gone.target.telemetry.remove()
            self._store.unregister(*key)
        changed = [key for key, now in running.items() if wanted[key] != now.settings]
        unchanged = len(running) - len(changed)
        fresh: list[tuple[TargetSettings, TargetTelemetry]] = []
        for key in changed:
            old = running.pop(key)
            await self._stop(old)
            fresh.append((wanted[key], old.target.telemetry))
        added = [key for key in wanted if key not in running and key not in changed]
        for key in added:
            self._store.register(*key)
            fresh.append((wanted[key], self._metrics.target(*key, wanted[key].identity)))
        built = []
        for settings, telemetry in fresh:
            now = self._build(settings, telemetry)
            running[(settings.kind, settings.name)] = now
            built.append(now)
        if start:
            self._start(built)
        return Changes(
            added=tuple(_name(key) for key in added),
            changed=tuple(_name(key) for key in changed),
            removed=tuple(_name(key) for key in removed),
            unchanged=unchanged,
        )

    def start(self) -> None:
        """Start polling every target built but not yet polled (``apply(start=False)``)."""
        idle = self._poller.running
        self._start([now for key, now in self._running.items() if key not in idle])

    def _start(self, started: Sequence[_Running]) -> None:
        together = Counter(now.settings.kind for now in started)
        for now in started:
            settings = now.settings
            several = together[settings.kind] > 1
            delay = spread(settings.identity, settings.interval) if several else 0.0
            self._poller.start(now.target, delay)

    async def aclose(self) -> None:
        """Stop every loop and close every HTTP client."""
        for key in list(self._running):
            await self._stop(self._running.pop(key))

    def _build(self, settings: TargetSettings, telemetry: TargetTelemetry) -> _Running:
        spec = self._specs[settings.kind]
        client = http_client(
            self._network,
            timeout=self._timeout,
            headers={"user-agent": USER_AGENT},
            transport=self._transport,
        )
        context = TargetContext(
            name=settings.name,
            http=UpstreamClient(client, telemetry),
            clock=self._clock,
            telemetry=telemetry,
            log=self._log.bind(source=settings.kind, target=settings.name),
        )
        source = spec.build(settings.settings, context)
        deadline = max(source.interval, self._timeout)
        return _Running(settings, Target(source, telemetry, deadline), client)

    async def _stop(self, running: _Running) -> None:
        if running.target.key in self._poller.running:
            await self._poller.stop(running.target.key)
        await running.client.aclose()


def _name(key: tuple[str, str]) -> str:
    return "/".join(key)
