"""Configuration reloads: every trigger queued into one serialized reload.

SIGHUP, ``POST /-/reload`` and the file watcher all call :meth:`Reloader.request`; one task
runs the reloads one after another, and requests arriving during a reload coalesce into one
more reload after it (two reloads racing is how other exporters leaked loops). A reload loads
the whole configuration, secrets read included, in a worker thread, before touching anything:
if anything is wrong nothing changes, and the failure shows in the metrics and one log line.
If it is valid, :meth:`~exporter.fleet.Fleet.apply` changes only the targets that differ.

The watcher hashes the content of the configuration file and of every secret file it names,
since a Kubernetes ConfigMap or Secret update swaps a ``..data`` symlink and leaves the
file's own path, inode events and mtime unreliable. It compares with the last hashes it tried,
so a bad file is tried once, and fixing it (or reverting it) is picked up. After a refused
reload it also watches the files the refused configuration names, so a secret mounted after
the file that needs it is picked up when it arrives.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import anyio
from structlog.typing import FilteringBoundLogger

from exporter.clock import Clock
from exporter.config.targets import Loaded
from exporter.errors import ConfigError
from exporter.exposition.self_metrics import SelfMetrics
from exporter.fleet import Fleet
from exporter.logs import Redactor

__all__ = ["Outcome", "Reloader", "content_hash"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a reload ended: ``problems`` is empty when the configuration is in force."""

    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(slots=True)
class _Round:
    """One reload still to run, and everyone waiting for it."""

    done: anyio.Event = field(default_factory=anyio.Event)
    outcome: Outcome = field(default_factory=Outcome)


class Reloader:
    """Runs reloads one at a time; ``load`` reads the configuration as a start did."""

    def __init__(
        self,
        load: Callable[[], Loaded],
        loaded: Loaded,
        *,
        fleet: Fleet,
        metrics: SelfMetrics,
        clock: Clock,
        log: FilteringBoundLogger,
        redactor: Redactor | None = None,
    ) -> None:
        self._load = load
        self._files = loaded.files
        self._fleet = fleet
        self._metrics = metrics
        self._clock = clock
        self._log = log
        self._redactor = redactor
        self._next = _Round()
        self._wake = anyio.Event()
        self._seen = content_hash(loaded.files)

    async def request(self) -> Outcome:
        """Ask for a reload and wait for it (a reload already running does not count)."""
        waiting = self._next
        self._wake.set()
        await waiting.done.wait()
        return waiting.outcome

    def request_nowait(self) -> None:
        """Ask for a reload without waiting (a signal, the watcher)."""
        self._wake.set()

    async def run(self) -> None:
        """Serve reload requests until cancelled."""
        while True:
            await self._wake.wait()
            self._wake = anyio.Event()
            now, self._next = self._next, _Round()
            now.outcome = await self._reload()
            now.done.set()

    async def watch(self, interval: float) -> None:
        """Request a reload whenever the content of a watched file changes."""
        while True:
            await self._clock.sleep(interval)
            seen = await anyio.to_thread.run_sync(content_hash, self._files)
            if seen != self._seen:
                self._seen = seen
                self._log.info("config_change_detected")
                self.request_nowait()

    async def _reload(self) -> Outcome:
        try:
            loaded = await anyio.to_thread.run_sync(self._load)
        except ConfigError as exc:
            # watch what the refused file names too: when a secret it needs is mounted after
            # the file (a ConfigMap updated before its Secret), that arrival is a change
            self._files = tuple(dict.fromkeys((*self._files, *exc.files)))
            # what was just tried is seen: the same bad file is not tried again, whoever asked
            # (a secret landing in the milliseconds between the load and this hash would wait
            # for the next change)
            self._seen = await anyio.to_thread.run_sync(content_hash, self._files)
            self._metrics.reload_failed()
            self._log.error("config_reload_failed", problems=list(exc.problems))
            return Outcome(exc.problems)
        self._files = loaded.files
        self._seen = await anyio.to_thread.run_sync(content_hash, loaded.files)
        if self._redactor is not None:
            for target in loaded.targets:
                for secret in target.settings.secrets:
                    self._redactor.add(secret.reveal())
        changes = await self._fleet.apply(loaded.targets)
        self._metrics.loaded(at=self._clock.time(), config_hash=loaded.hash, reload=True)
        self._log.info(
            "config_reloaded",
            added=list(changes.added),
            changed=list(changes.changed),
            removed=list(changes.removed),
            unchanged=changes.unchanged,
        )
        return Outcome()


def content_hash(paths: Sequence[str]) -> bytes:
    """A digest of the content of every file in ``paths`` (a missing one counts as such)."""
    digest = hashlib.sha256()
    for path in paths:
        try:
            with open(path, "rb") as handle:
                digest.update(hashlib.sha256(handle.read()).digest())
        except OSError as exc:
            digest.update(f"unreadable:{exc.errno}".encode())
    return digest.digest()
