"""The Livepeer Studio source: one API key's stream sessions, polled into a LivepeerSnapshot.

A poll follows the ``Link`` cursors of ``GET /session`` until a page without one, or an empty
page, at most ``--livepeer.max-pages`` pages. Offset cursors over live data can repeat a
session, so sessions are de-duplicated by ``id``, keeping the copy seen most recently. The
snapshot then classifies, aggregates and caps them.
"""

from __future__ import annotations

from collections.abc import Mapping
from operator import attrgetter
from typing import Final

from prometheus_client.metrics_core import Metric

from exporter.sources.base import Page, TargetContext, read_pages
from exporter.sources.livepeer import metrics
from exporter.sources.livepeer.client import LivepeerClient
from exporter.sources.livepeer.settings import LivepeerSettings
from exporter.sources.livepeer.snapshot import LivepeerSnapshot, Windows, build_snapshot
from exporter.sources.livepeer.wire import LivepeerSession, parse_page

__all__ = ["KIND", "LivepeerSource"]

KIND: Final = "livepeer_studio"
_ID: Final = attrgetter("id")


class LivepeerSource:
    """Polls one Livepeer Studio API key (one project) for its stream sessions."""

    kind: Final = KIND

    def __init__(self, settings: LivepeerSettings, context: TargetContext) -> None:
        self._client = LivepeerClient(settings, context)
        self._settings = settings
        self._context = context
        self._windows = Windows(
            active_window=settings.active_window,
            recording_lookback=settings.recording_lookback,
            max_sessions=settings.max_sessions,
        )
        self._projects: set[str] = set()
        """Every projectId seen, so a project's aggregates stay (at 0) once it goes idle."""

    @property
    def target(self) -> str:
        return self._context.name

    @property
    def interval(self) -> float:
        return self._settings.poll_interval

    def families(self, snapshot: LivepeerSnapshot) -> list[Metric]:
        """The data series of ``snapshot`` (the tables of :mod:`.metrics`)."""
        return metrics.families(snapshot, self.target)

    async def poll(self) -> LivepeerSnapshot:
        """Fetch every page within the windows, then classify, aggregate and cap."""
        sessions = await self._list()
        now = self._context.clock.time()
        snapshot = build_snapshot(sessions, now=now, windows=self._windows, projects=self._projects)
        self._projects.update(s.project for s in sessions)
        if snapshot.recordings_omitted:
            self._context.log.warning(
                "livepeer_recordings_omitted",
                count=snapshot.recordings_omitted,
                max_sessions=self._windows.max_sessions,
            )
        return snapshot

    async def _list(self) -> list[LivepeerSession]:
        query: Mapping[str, str | int] = self._client.list_query()
        log = self._context.log

        async def page(cursor: str | None) -> tuple[Page[LivepeerSession], str | None]:
            body, following = await self._client.list_page(query, cursor)
            parsed = parse_page(body)
            return parsed, following if parsed.size else None  # [] ends it, whatever its Link

        return await read_pages(
            page,
            max_pages=self._settings.max_pages,
            key=_ID,
            newer=lambda repeat, kept: repeat.last_seen_ms > kept.last_seen_ms,
            telemetry=self._context.telemetry,
            at_limit=lambda sessions: log.warning(
                "livepeer_page_limit_reached",
                max_pages=self._settings.max_pages,
                sessions=sessions,
                hint="raise --livepeer.max-pages or --livepeer.page-size",
            ),
            on_invalid=lambda count, _: log.warning("livepeer_records_invalid", count=count),
        )
