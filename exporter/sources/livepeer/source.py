"""The Livepeer Studio source: one API key's stream sessions, polled into a LivepeerSnapshot.

A poll follows the ``Link`` cursors of ``GET /session`` until a page without one, or an empty
page, at most ``--livepeer.max-pages`` pages. Offset cursors over live data can repeat a
session, so sessions are de-duplicated by ``id``, keeping the copy with the latest
``lastSeen``. A cursor that points back to a page already read, or a page the same as the one
before, ends the list early (a looping API would otherwise cost ``max-pages`` requests a
poll); a next link without a cursor ends it too, with a warning. The snapshot then
classifies, aggregates and caps the sessions.
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
_PAGES_HINT: Final = "raise --livepeer.max-pages or --livepeer.page-size"
_REPEAT_HINT: Final = "Studio served a page or cursor it had served already; the list ends there"
_UNCURSORED_HINT: Final = (
    "Studio announced a next page without a cursor to request it by; the list ends at this page"
)


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
            answer = await self._client.list_page(query, cursor)
            parsed = parse_page(answer.body)
            if not parsed.size:
                return parsed, None  # [] ends it, whatever its Link
            if answer.uncursored_next:
                # Not counted as truncated: Studio links a next page after a full last page
                # too (it answers []), so the link alone does not prove sessions are missing.
                log.warning(
                    "livepeer_next_link_without_cursor",
                    page_full=parsed.size >= self._settings.page_size,
                    hint=_UNCURSORED_HINT,
                )
            return parsed, answer.cursor

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
                hint=_PAGES_HINT,
            ),
            on_repeat=lambda what, sessions: log.warning(
                "livepeer_list_repeated", repeated=what, sessions=sessions, hint=_REPEAT_HINT
            ),
            on_invalid=lambda count, _: log.warning("livepeer_records_invalid", count=count),
        )
