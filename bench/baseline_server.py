"""The two scrape baselines of quality.md, served by the exporter's own embedded uvicorn.

Run by :mod:`bench.scrape` as ``python -m bench.baseline_server --text F --gzip F -- FLAGS``
in a process of its own, as the exporter runs in its own:

- **constant**: a minimal ASGI app answering every request with a constant byte string, the
  exporter's own body of the same request kind (read from the files given), so the sizes are
  equal by construction. The floor: what serving that many bytes costs this server.
- **prometheus-client**: the same data re-rendered on every scrape, the way a collector that
  renders at scrape time would do it. It polls the same simulator with the exporter's own
  sources (``FLAGS`` are the exporter's flags), then serves prometheus-client's
  ``make_asgi_app`` over a registry whose one collector yields, on each scrape, the families
  of the current snapshots and the live self-metrics, exactly the families the exporter
  renders once per poll. Content negotiation and gzip are prometheus-client's own.

It prints one JSON line with both URLs and serves until its standard input closes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import anyio
from prometheus_client import CollectorRegistry, make_asgi_app
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from exporter.app import Exporter, add_standard_collectors, build_exporter
from exporter.config.settings import Settings
from exporter.config.values import ListenAddress
from exporter.exposition.render import CONTENT_TYPES
from exporter.logs import Redactor, configure_logging
from exporter.sources.base import Snapshot, Source
from exporter.sources.registry import SOURCES
from exporter.web.server import Receive, Scope, Send, bind, bound_url, serve

__all__ = ["ConstantApp", "Rerender", "main"]


class ConstantApp:
    """Answers every request with one of two constant bodies: the gzip one (OpenMetrics)
    when ``Accept-Encoding`` names gzip, else the plain text one."""

    def __init__(self, text: bytes, gzipped: bytes) -> None:
        self._text = text
        self._gzipped = gzipped

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        accept_encoding = b",".join(v for k, v in scope["headers"] if k == b"accept-encoding")
        headers: list[tuple[bytes, bytes]]
        if b"gzip" in accept_encoding:
            body = self._gzipped
            headers = [
                (b"content-type", CONTENT_TYPES["openmetrics"].encode()),
                (b"content-encoding", b"gzip"),
            ]
        else:
            body = self._text
            headers = [(b"content-type", CONTENT_TYPES["text"].encode())]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class Rerender(Collector):
    """On every collect: the families of each snapshot, then the live registry."""

    def __init__(
        self, exporter: Exporter, snapshots: Sequence[tuple[Source[Any], Snapshot]]
    ) -> None:
        self._exporter = exporter
        self._snapshots = snapshots

    def collect(self) -> Iterable[Metric]:
        for source, snapshot in self._snapshots:
            yield from source.families(snapshot)
        yield from self._exporter.registry.collect()


async def _serve(settings: Settings, text: bytes, gzipped: bytes) -> None:
    async with build_exporter(settings) as exporter:
        if not await exporter.poll_all_once():
            raise SystemExit("baseline_server: a poll of the simulator failed")
        # the store keeps only renderings, so poll once more for the snapshots themselves
        snapshots = [(t.source, await t.source.poll()) for t in exporter.fleet.targets]
        registry = CollectorRegistry()
        add_standard_collectors(registry)  # the exporter keeps these apart from its registry
        registry.register(Rerender(exporter, snapshots))
        constant_sock = bind(ListenAddress("127.0.0.1", 0))
        client_sock = bind(ListenAddress("127.0.0.1", 0))
        async with anyio.create_task_group() as tg:
            await tg.start(serve, ConstantApp(text, gzipped), constant_sock)
            await tg.start(serve, make_asgi_app(registry), client_sock)
            urls = {
                "constant": bound_url(constant_sock) + "/metrics",
                "prometheus_client": bound_url(client_sock) + "/metrics",
            }
            print(json.dumps(urls), flush=True)
            await anyio.to_thread.run_sync(sys.stdin.read)  # until the benchmark closes it
            tg.cancel_scope.cancel()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.baseline_server")
    parser.add_argument("--text", type=Path, required=True, help="constant plain-text body")
    parser.add_argument("--gzip", type=Path, required=True, help="constant gzip body")
    parser.add_argument("flags", nargs="*", help="the exporter's flags, after --")
    args = parser.parse_args(argv)
    settings = Settings.from_sources(args.flags, os.environ, SOURCES)
    configure_logging(settings.log_level, settings.log_format, Redactor(settings.secrets))
    anyio.run(_serve, settings, args.text.read_bytes(), args.gzip.read_bytes())


if __name__ == "__main__":
    main()
