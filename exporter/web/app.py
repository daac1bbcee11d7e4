"""The ASGI app: the exposition, a landing page, /healthz, /readyz and /-/reload; 404 and 405
otherwise.

Plain ASGI with no framework: five routes do not need one, and the metrics route must do no
more than pick cached pieces and send them. A scrape never waits for a poll. ``/-/reload``
(POST or PUT) is served only with ``--web.enable-lifecycle``, as in Prometheus, and answers
when the reload it asked for has ended: 200 when the configuration is in force, 500 with
the problems (secrets already masked) when it was refused.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Final

from exporter.clock import Clock
from exporter.exposition.render import CONTENT_TYPES
from exporter.exposition.scrape import Exposition
from exporter.exposition.store import Store
from exporter.web.landing import landing_page
from exporter.web.negotiation import accepts_gzip, negotiate
from exporter.web.server import Receive, Scope, Send

__all__ = ["App"]

_METHODS: Final = ("GET", "HEAD")
_RELOAD: Final = "/-/reload"
_RELOAD_METHODS: Final = ("POST", "PUT")
Reload = Callable[[], Awaitable[Sequence[str]]]
"""Runs a reload and returns its problems (none when the configuration is in force)."""
_TEXT: Final = b"text/plain; charset=utf-8"
Headers = list[tuple[bytes, bytes]]


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
        reload: Reload | None = None,
        probes_only: bool = False,
    ) -> None:
        self._store = store
        self._exposition = exposition
        self._clock = clock
        self._telemetry_path = telemetry_path
        self._alive = alive
        self._demo = demo
        self._reload = reload
        self._routes: dict[str, Callable[[dict[bytes, str]], _Reply]] = {
            "/healthz": self._healthz,
            "/readyz": self._readyz,
        }
        self._probes_only = probes_only
        """Only the probes (``--web.health-listen-address``): no data, so no auth needed."""
        if not probes_only:
            self._routes |= {telemetry_path: self._metrics, "/": self._landing}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        handler = self._routes.get(scope["path"])
        if scope["path"] == _RELOAD and not self._probes_only:
            reply = await self._reload_reply(scope["method"])
        elif handler is None:
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

    async def _reload_reply(self, method: str) -> _Reply:
        if method not in _RELOAD_METHODS:
            return _plain(405, "method not allowed: POST or PUT\n", [(b"allow", b"POST, PUT")])
        if self._reload is None:
            return _plain(403, "lifecycle API is not enabled: start with --web.enable-lifecycle\n")
        problems = await self._reload()
        if not problems:
            return _plain(200, "configuration reloaded\n")
        return _plain(
            500,
            "reload refused; the previous configuration stays:\n"
            + "".join(f"  {problem}\n" for problem in problems),
        )

    def _readyz(self, _: dict[bytes, str]) -> _Reply:
        if self._store.ready:
            return _plain(200, "ready\n")
        waiting = [s for s in self._store.statuses() if not s.attempted]
        names = ", ".join(f"{s.source}/{s.target}" for s in waiting)
        return _plain(503, f"waiting for the first poll of {names}\n")

    def _landing(self, _: dict[bytes, str]) -> _Reply:
        page = landing_page(self._telemetry_path, self._store.statuses(), demo=self._demo)
        return _Reply(200, [(b"content-type", b"text/html; charset=utf-8")], (page.encode(),))
