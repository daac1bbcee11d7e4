"""The landing page: version, links, and a row per target with its status."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

from exporter import __version__
from exporter.exposition.store import TargetStatus

__all__ = ["landing_page"]


def landing_page(telemetry_path: str, statuses: Sequence[TargetStatus], *, demo: bool) -> str:
    """The HTML of ``/``; every value from outside is escaped."""
    return _LANDING.format(
        version=html.escape(__version__),
        path=html.escape(telemetry_path, quote=True),
        demo=_DEMO_BANNER if demo else "",
        rows="\n".join(_row(status) for status in statuses),
    )


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
