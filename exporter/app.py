"""Composition root: wires settings, targets, poller, reloads, HTTP server and signals.

Everything runs in one anyio task group on one event loop: the poller (a loop per target), the
reloader, the file watcher and the embedded uvicorn server. SIGHUP asks for a reload;
SIGTERM/SIGINT cancel the group, and in-flight upstream requests are cancelled with it, so the
process exits 0 within a couple of seconds even while a poll hangs.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, BinaryIO

import anyio
import httpx
from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
from structlog.typing import FilteringBoundLogger

from exporter import __version__
from exporter.clock import Clock, SystemClock
from exporter.config.settings import Settings
from exporter.exposition.scrape import Exposition
from exporter.exposition.self_metrics import SelfMetrics
from exporter.exposition.store import Store
from exporter.fleet import Fleet
from exporter.logs import Redactor, get_logger
from exporter.poller import Poller
from exporter.reload import Reloader
from exporter.sources.base import SourceSpec
from exporter.sources.registry import SOURCES
from exporter.web.app import App
from exporter.web.security.secured import secure
from exporter.web.server import ASGIApp, SSLFactory, bind, bound_url, serve

__all__ = ["Exporter", "build_exporter", "run"]


@dataclass(frozen=True, slots=True)
class Exporter:
    """The assembled process: what serves, what polls, and where state lives."""

    settings: Settings
    clock: Clock
    registry: CollectorRegistry
    metrics: SelfMetrics
    store: Store
    poller: Poller
    fleet: Fleet
    reloader: Reloader
    exposition: Exposition
    app: App
    probes: App
    """``/healthz`` and ``/readyz`` alone, for ``--web.health-listen-address``."""

    def start(self) -> None:
        """Start polling the configured targets (the poller must be running)."""
        self.fleet.start()

    async def poll_all_once(self) -> bool:
        """Poll every target once, concurrently; True if every poll succeeded."""
        return await self.poller.poll_all_once(self.fleet.targets)


@asynccontextmanager
async def build_exporter(
    settings: Settings,
    *,
    clock: Clock | None = None,
    specs: Sequence[SourceSpec[Any]] = SOURCES,
    registry: CollectorRegistry | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    redactor: Redactor | None = None,
) -> AsyncIterator[Exporter]:
    """Assemble an exporter; its loops stop and HTTP clients close when the context ends.

    Tests pass a fake clock, fake source specs, a fresh registry and a fake transport.
    """
    clock = clock or SystemClock()
    standard: CollectorRegistry | None = None
    if registry is None:
        registry = CollectorRegistry()
        # apart from the self-metrics, whose rendering is reused until they change
        standard = CollectorRegistry()
        add_standard_collectors(standard)
    metrics = SelfMetrics(registry)
    metrics.sharded(settings.shard.ordinal, settings.shard.total)
    metrics.loaded(at=clock.time(), config_hash=settings.loaded.hash, reload=False)
    store = Store(settings.stale_after)
    log = get_logger()
    poller = Poller(store, clock, log)
    fleet = Fleet(
        specs=specs,
        shard=settings.shard,
        poll_timeout=settings.poll_timeout,
        metrics=metrics,
        store=store,
        poller=poller,
        clock=clock,
        log=log,
        transport=transport,
        network=settings.upstream,
    )
    reloader = Reloader(
        settings.load,
        settings.loaded,
        fleet=fleet,
        metrics=metrics,
        clock=clock,
        log=log,
        redactor=redactor,
    )

    async def reload() -> tuple[str, ...]:
        return (await reloader.request()).problems

    exposition = Exposition(registry, standard=standard, changes=lambda: metrics.changes)

    def web_app(*, probes_only: bool) -> App:
        return App(
            store=store,
            exposition=exposition,
            clock=clock,
            telemetry_path=settings.telemetry_path,
            alive=lambda: fleet.polling,
            demo=settings.demo,
            reload=reload if settings.enable_lifecycle else None,
            probes_only=probes_only,
        )

    app, probes = web_app(probes_only=False), web_app(probes_only=True)
    exporter = Exporter(
        settings, clock, registry, metrics, store, poller, fleet, reloader, exposition, app, probes
    )
    try:
        await fleet.apply(settings.targets, start=False)
        yield exporter
    finally:
        with anyio.CancelScope(shield=True):
            await fleet.aclose()


def add_standard_collectors(registry: CollectorRegistry) -> None:
    """prometheus-client's process_*, python_info and python_gc_* collectors."""
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)


async def run(
    settings: Settings,
    *,
    stdout: BinaryIO | None = None,
    specs: Sequence[SourceSpec[Any]] = SOURCES,
    redactor: Redactor | None = None,
) -> int:
    """Run until SIGTERM/SIGINT (exit 0), or poll once for ``--once`` (exit 0 or 1).

    With ``--demo`` the simulator runs beside the exporter in the same task group.
    """
    if not settings.demo:
        return await _run(settings, stdout, specs, redactor)
    # imported here: the simulator is thousands of lines a real deployment never runs
    from exporter.demo import start_simulator

    log = get_logger()
    log.info("demo_mode", note="polling the built-in simulator on loopback; no real API is used")
    try:
        async with anyio.create_task_group() as tg:
            demo = await start_simulator(tg, settings)
            if redactor is not None:
                for secret in demo.secrets:
                    redactor.add(secret)
            code = await _run(demo, stdout, specs, redactor)
            tg.cancel_scope.cancel()
    except ExceptionGroup as group:
        # the simulator's task group wraps what _run raised (a listen address in use, say);
        # unwrap a lone error so the CLI reports it as it does without --demo
        if len(group.exceptions) == 1:
            raise group.exceptions[0] from None
        raise
    return code


async def _run(
    settings: Settings,
    stdout: BinaryIO | None,
    specs: Sequence[SourceSpec[Any]],
    redactor: Redactor | None,
) -> int:
    log = get_logger()
    async with build_exporter(settings, specs=specs, redactor=redactor) as exporter:
        if settings.once:
            return await _once(exporter, stdout or sys.stdout.buffer)
        sock = bind(settings.listen_address)
        probes = (
            None if settings.health_listen_address is None else bind(settings.health_listen_address)
        )
        served, ssl_factory = _secured(exporter.app, settings, log)
        async with anyio.create_task_group() as tg:
            await tg.start(exporter.poller.run)
            exporter.start()
            tg.start_soon(exporter.reloader.run)
            if settings.auto_reload_interval > 0:
                tg.start_soon(exporter.reloader.watch, settings.auto_reload_interval)
            await tg.start(partial(serve, served, sock, ssl_factory=ssl_factory))
            if probes is not None:
                await tg.start(serve, exporter.probes, probes)
            log.info(
                "exporter_started",
                version=__version__,
                url=bound_url(sock, tls=ssl_factory is not None) + settings.telemetry_path,
                **({} if probes is None else {"probes_url": bound_url(probes) + "/healthz"}),
                demo=settings.demo,
                sources=[f"{t.source.kind}/{t.source.target}" for t in exporter.fleet.targets],
                shard=f"{settings.shard.ordinal}/{settings.shard.total}",
            )
            await _wait_for_signal(exporter.reloader, log)
            tg.cancel_scope.cancel()
    log.info("exporter_stopped")
    return 0


def _secured(
    app: App, settings: Settings, log: FilteringBoundLogger
) -> tuple[ASGIApp, SSLFactory | None]:
    """``app`` behind ``--web.config.file`` when one is given, and its TLS, if on."""
    if settings.web_config_file is None:
        return app, None
    secured = secure(app, settings.web_config_file, log)
    return secured.app, secured.ssl_factory


async def _once(exporter: Exporter, out: BinaryIO) -> int:
    ok = await exporter.poll_all_once()
    fresh = exporter.store.fresh(exporter.clock.monotonic())
    for piece in exporter.exposition.body(fresh, "text", gzip=False):
        out.write(piece)
    out.flush()
    return 0 if ok else 1


async def _wait_for_signal(reloader: Reloader, log: FilteringBoundLogger) -> None:
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as signals:
        async for signum in signals:
            if signum == signal.SIGHUP:
                log.info("reload_requested", trigger="SIGHUP")
                reloader.request_nowait()
                continue
            log.info("shutdown_requested", signal=signal.Signals(signum).name)
            return
