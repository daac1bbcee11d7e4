"""Composition root: wires settings, sources, poller, HTTP server and signals into one process.

Everything runs in one anyio task group on one event loop: a poll loop per target and the
embedded uvicorn server. SIGTERM/SIGINT cancel the group; in-flight upstream requests are
cancelled with it, so the process exits 0 within a couple of seconds even while a poll hangs.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
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
from exporter.logs import Redactor, get_logger
from exporter.poller import Poller, Target
from exporter.sources.base import SourceSpec, TargetContext
from exporter.sources.registry import SOURCES
from exporter.sources.upstream import UpstreamClient
from exporter.web.app import App
from exporter.web.server import bind, bound_url, serve

__all__ = ["Exporter", "build_exporter", "run"]

USER_AGENT = f"livesession-exporter/{__version__}"


@dataclass(frozen=True, slots=True)
class Exporter:
    """The assembled process: what serves, what polls, and where state lives."""

    settings: Settings
    clock: Clock
    registry: CollectorRegistry
    store: Store
    poller: Poller
    exposition: Exposition
    app: App


@asynccontextmanager
async def build_exporter(
    settings: Settings,
    *,
    clock: Clock | None = None,
    specs: Sequence[SourceSpec[Any]] = SOURCES,
    registry: CollectorRegistry | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncIterator[Exporter]:
    """Assemble an exporter; its HTTP clients close when the context ends.

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
    store = Store(settings.stale_after)
    log = get_logger()
    targets: list[Target] = []
    async with AsyncExitStack() as stack:
        for spec in specs:
            options = settings.sources.get(spec.kind)
            name = None if options is None else options.target
            if name is None:
                continue
            telemetry = metrics.target(spec.kind, name)
            client = await stack.enter_async_context(
                httpx.AsyncClient(
                    timeout=settings.poll_timeout,
                    headers={"user-agent": USER_AGENT},
                    transport=transport,
                    follow_redirects=False,
                )
            )
            context = TargetContext(
                http=UpstreamClient(client, telemetry),
                clock=clock,
                telemetry=telemetry,
                log=log.bind(source=spec.kind, target=name),
            )
            source = spec.build(options, context)
            deadline = max(source.interval, settings.poll_timeout)
            targets.append(Target(source, telemetry, deadline))
        poller = Poller(targets, store, clock, log)
        exposition = Exposition(registry, standard=standard, changes=lambda: metrics.changes)
        app = App(
            store=store,
            exposition=exposition,
            clock=clock,
            telemetry_path=settings.telemetry_path,
            alive=lambda: poller.alive,
            demo=settings.demo,
        )
        yield Exporter(settings, clock, registry, store, poller, exposition, app)


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
        return await _run(settings, stdout, specs)
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
            code = await _run(demo, stdout, specs)
            tg.cancel_scope.cancel()
    except ExceptionGroup as group:
        # the simulator's task group wraps what _run raised (a listen address in use, say);
        # unwrap a lone error so the CLI reports it as it does without --demo
        if len(group.exceptions) == 1:
            raise group.exceptions[0] from None
        raise
    return code


async def _run(
    settings: Settings, stdout: BinaryIO | None, specs: Sequence[SourceSpec[Any]]
) -> int:
    log = get_logger()
    async with build_exporter(settings, specs=specs) as exporter:
        if settings.once:
            return await _once(exporter, stdout or sys.stdout.buffer)
        sock = bind(settings.listen_address)
        async with anyio.create_task_group() as tg:
            tg.start_soon(exporter.poller.run)
            await tg.start(serve, exporter.app, sock)
            log.info(
                "exporter_started",
                version=__version__,
                url=bound_url(sock) + settings.telemetry_path,
                demo=settings.demo,
                sources=[f"{t.source.kind}/{t.source.target}" for t in exporter.poller.targets],
            )
            await _wait_for_signal(log)
            tg.cancel_scope.cancel()
    log.info("exporter_stopped")
    return 0


async def _once(exporter: Exporter, out: BinaryIO) -> int:
    ok = await exporter.poller.poll_all_once()
    fresh = exporter.store.fresh(exporter.clock.monotonic())
    for piece in exporter.exposition.body(fresh, "text", gzip=False):
        out.write(piece)
    out.flush()
    return 0 if ok else 1


async def _wait_for_signal(log: FilteringBoundLogger) -> None:
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for signum in signals:
            log.info("shutdown_requested", signal=signal.Signals(signum).name)
            return
