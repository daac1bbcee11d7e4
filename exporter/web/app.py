"""The ASGI app: the exposition, a landing page, /healthz and /readyz; 404 and 405 otherwise.

Plain ASGI with no framework: four routes do not need one, and the metrics route must do no
more than pick cached pieces and send them. A scrape never waits for a poll.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from exporter import __version__
from exporter.clock import Clock
from exporter.exposition.render import CONTENT_TYPES, Exposition, Format
from exporter.exposition.store import Store, TargetStatus
from exporter.web.server import Receive, Scope, Send

__all__ = ["App", "accepts_gzip", "negotiate"]

_METHODS: Final = ("GET", "HEAD")
_TEXT: Final = b"text/plain; charset=utf-8"
Headers = list[tuple[bytes, bytes]]


def _media_ranges(header: str) -> list[tuple[str, dict[str, str], float]]:
    """Split an Accept-style header into (value, parameters, q) triples; junk q means 0."""
    ranges = []
    for item in header.split(","):
        value, *raw_params = (part.strip() for part in item.split(";"))
        params = {}
        for raw in raw_params:
            key, _, val = raw.partition("=")
            params[key.strip().lower()] = val.strip().strip('"')
        try:
            q = float(params.get("q", "1"))
        except ValueError:
            q = 0.0
        ranges.append((value.lower(), params, q))
    return ranges


def negotiate(accept: str) -> Format:
    """OpenMetrics 1.0 when ``Accept`` prefers it (by q), else Prometheus text 0.0.4."""
    openmetrics = text = 0.0
    for value, params, q in _media_ranges(accept):
        if value == "application/openmetrics-text" and params.get("version", "1.0.0") == "1.0.0":
            openmetrics = max(openmetrics, q)
        elif value in ("text/plain", "text/*", "*/*"):
            text = max(text, q)
    return "openmetrics" if openmetrics > 0 and openmetrics >= text else "text"


def accepts_gzip(accept_encoding: str) -> bool:
    """True when ``Accept-Encoding`` allows gzip (explicitly or by ``*``) with q > 0."""
    coding = {value: q for value, _, q in _media_ranges(accept_encoding)}
    return coding.get("gzip", coding.get("*", 0.0)) > 0


@dataclass(frozen=True, slots=True)
class _Reply:
    status: int
    headers: Headers
    body: Sequence[bytes]


def _plain(status: int, text: str, extra: Headers | None = None) -> _Reply:
    return _Reply(status, [(b"content-type", _TEXT), *(extra or [])], (text.encode(),))


class App:
    """The exporter's HTTP surface, as an ASGI 3 application."""

    def __init__(
        self,
        *,
        store: Store,
        exposition: Exposition,
        clock: Clock,
        telemetry_path: str,
        alive: Callable[[], bool],
        demo: bool = False,
    ) -> None:
        self._store = store
        self._exposition = exposition
        self._clock = clock
        self._telemetry_path = telemetry_path
        self._alive = alive
        self._demo = demo
        self._routes: dict[str, Callable[[dict[bytes, str]], _Reply]] = {
            telemetry_path: self._metrics,
            "/": self._landing,
            "/healthz": self._healthz,
            "/readyz": self._readyz,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        handler = self._routes.get(scope["path"])
        if handler is None:
            reply = _plain(404, "not found\n")
        elif scope["method"] not in _METHODS:
            reply = _plain(405, "method not allowed\n", [(b"allow", b"GET, HEAD")])
        else:
            headers = {key.lower(): value.decode("latin-1") for key, value in scope["headers"]}
            reply = handler(headers)
        length = sum(len(piece) for piece in reply.body)
        await send(
            {
                "type": "http.response.start",
                "status": reply.status,
                "headers": [*reply.headers, (b"content-length", str(length).encode())],
            }
        )
        pieces = () if scope["method"] == "HEAD" else reply.body
        for piece in pieces:
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    def _metrics(self, headers: dict[bytes, str]) -> _Reply:
        fmt = negotiate(headers.get(b"accept", ""))
        gzip = accepts_gzip(headers.get(b"accept-encoding", ""))
        fresh = self._store.fresh(self._clock.monotonic())
        body = self._exposition.body(fresh, fmt, gzip=gzip)
        reply_headers: Headers = [
            (b"content-type", CONTENT_TYPES[fmt].encode()),
            (b"vary", b"Accept, Accept-Encoding"),
        ]
        if gzip:
            reply_headers.append((b"content-encoding", b"gzip"))
        return _Reply(200, reply_headers, body)

    def _healthz(self, _: dict[bytes, str]) -> _Reply:
        if self._alive():
            return _plain(200, "ok\n")
        return _plain(503, "a poll loop has stopped\n")

    def _readyz(self, _: dict[bytes, str]) -> _Reply:
        waiting = [s for s in self._store.statuses() if not s.attempted]
        if not waiting:
            return _plain(200, "ready\n")
        names = ", ".join(f"{s.source}/{s.target}" for s in waiting)
        return _plain(503, f"waiting for the first poll of {names}\n")

    def _landing(self, _: dict[bytes, str]) -> _Reply:
        page = _LANDING.format(
            version=html.escape(__version__),
            path=html.escape(self._telemetry_path, quote=True),
            demo=_DEMO_BANNER if self._demo else "",
            rows="\n".join(_row(status) for status in self._store.statuses()),
        )
        return _Reply(200, [(b"content-type", b"text/html; charset=utf-8")], (page.encode(),))


def _row(status: TargetStatus) -> str:
    state = "pending" if not status.attempted else "up" if status.up else "failing"
    success = (
        "never"
        if status.last_success is None
        else datetime.fromtimestamp(status.last_success, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    )
    cells = (
        status.source,
        status.target,
        state,
        success,
        status.last_error or "",
        "" if status.sessions is None else str(status.sessions),
    )
    return "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in cells) + "</tr>"


_DEMO_BANNER: Final = (
    '<p class="demo"><strong>Demo mode:</strong> polling the built-in simulator of '
    "LiveKit Cloud and Livepeer Studio on loopback; no real API is contacted.</p>"
)
_LANDING: Final = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>livesession-exporter</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:.2em .8em;text-align:left}}
.demo{{background:#fff3cd;padding:.5em}}</style></head>
<body><h1>livesession-exporter</h1><p>Version {version}</p>{demo}
<p><a href="{path}">Metrics</a> &middot; <a href="/healthz">/healthz</a> &middot;
<a href="/readyz">/readyz</a></p>
<table><thead><tr><th>source</th><th>target</th><th>status</th><th>last success</th>
<th>last error</th><th>active sessions</th></tr></thead>
<tbody>
{rows}
</tbody></table></body></html>
"""
