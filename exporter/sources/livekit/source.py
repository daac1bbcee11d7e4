"""The LiveKit Cloud source: one project's Analytics API, polled into a LiveKitSnapshot.

A poll lists the sessions of the lookback window page by page until a short page (offset
paging over live data, so rows are de-duplicated by ``sessionId``, keeping the copy with the
latest activity; a page the same as the one before ends the list, as an API that ignores
``page`` would otherwise cost ``max-pages`` requests a poll), then refreshes the details
of active sessions with the budget left (round-robin, bounded concurrency), then builds the
snapshot. Details are planned from the tokens already in the bucket, so they never wait for
the budget and the poll ends in about ``pages + ceil(details / concurrency)`` request
latencies, well within its deadline.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Final

import anyio
from prometheus_client.metrics_core import Metric

from exporter.errors import RateLimitedError, SourceError
from exporter.sources.base import Page, TargetContext, read_pages
from exporter.sources.livekit import metrics
from exporter.sources.livekit.client import DETAILS, LIST, LiveKitClient
from exporter.sources.livekit.details import DetailsCache
from exporter.sources.livekit.settings import LiveKitSettings
from exporter.sources.livekit.snapshot import LiveKitSnapshot, build_snapshot
from exporter.sources.livekit.wire import (
    InvalidRecord,
    ListedSession,
    parse_details,
    parse_page,
)
from exporter.sources.upstream import decode_json

__all__ = ["DETAILS_CONCURRENCY", "KIND", "LiveKitSource"]

KIND: Final = "livekit_cloud"
DETAILS_CONCURRENCY: Final = 6
"""Details requests in flight at once: fast enough, gentle on a shared per-project quota."""
_SESSION_ID: Final = attrgetter("session_id")
_PAGES_HINT: Final = "raise --livekit.max-pages, or lower --livekit.lookback-days"
_REPEAT_HINT: Final = "the API served the same page twice in a row; the list ends there"


def _later(repeat: ListedSession, kept: ListedSession) -> bool:
    """Whether a row repeated by offset paging shows its session later than the copy kept:
    a later ``lastActive`` (the API's time of last activity), or the same one with an
    ``endedAt`` the kept copy lacks (a session never starts again once ended). Keeping the
    first copy instead could export a session's older counters, or an ended one as active."""
    return (repeat.last_active_ns or 0, repeat.ended_at_ns is not None) > (
        kept.last_active_ns or 0,
        kept.ended_at_ns is not None,
    )


class LiveKitSource:
    """Polls one LiveKit Cloud project; keeps its client (token, budget) and details cache."""

    kind: Final = KIND

    def __init__(self, settings: LiveKitSettings, context: TargetContext) -> None:
        if settings.credentials is None:
            raise ValueError("the LiveKit source needs credentials")
        self._project = settings.credentials.project_id
        self._client = LiveKitClient(settings.credentials, settings, context)
        self._settings = settings
        self._context = context
        self._details = DetailsCache()

    @property
    def target(self) -> str:
        return self._context.name

    @property
    def interval(self) -> float:
        return self._settings.poll_interval

    def families(self, snapshot: LiveKitSnapshot) -> list[Metric]:
        """The data series of ``snapshot`` (the tables of :mod:`.metrics`)."""
        return metrics.families(snapshot, self.target)

    async def poll(self) -> LiveKitSnapshot:
        """List, refresh details within the budget, and snapshot; raise SourceError."""
        active = [session for session in await self._list() if session.active]
        if self._settings.details:
            await self._refresh_details(active)
        else:
            self._details.clear()
        return build_snapshot(
            self._project, active, self._details.known(), self._settings.max_sessions
        )

    async def _list(self) -> list[ListedSession]:
        query = self._client.list_query()
        log = self._context.log

        async def page(cursor: int | None) -> tuple[Page[ListedSession], int | None]:
            body, following = await self._client.list_page(query, cursor)
            parsed = parse_page(decode_json(body, LIST))
            return parsed, following if parsed.size >= self._settings.page_size else None

        return await read_pages(
            page,
            max_pages=self._settings.max_pages,
            key=_SESSION_ID,
            newer=_later,
            telemetry=self._context.telemetry,
            at_limit=lambda sessions: log.warning(
                "livekit_max_pages_reached",
                max_pages=self._settings.max_pages,
                sessions=sessions,
                hint=_PAGES_HINT,
            ),
            on_repeat=lambda what, sessions: log.warning(
                "livekit_list_repeated", repeated=what, sessions=sessions, hint=_REPEAT_HINT
            ),
            on_invalid=lambda count, first: log.warning(
                "livekit_records_invalid", count=count, first=first
            ),
        )

    async def _refresh_details(self, active: list[ListedSession]) -> None:
        allowance = int(self._client.budget.available())
        planned = self._details.plan([s.session_id for s in active], allowance)
        if len(planned) < len(active):
            self._context.log.debug(
                "livekit_details_rationed", refreshing=len(planned), active=len(active)
            )
        limiter = anyio.CapacityLimiter(DETAILS_CONCURRENCY)
        errors: list[SourceError] = []
        async with anyio.create_task_group() as tg:

            async def refresh(session_id: str) -> None:
                try:
                    async with limiter:
                        await self._refresh_one(session_id)
                except SourceError as exc:  # re-raised below, outside the task group
                    errors.append(exc)
                    tg.cancel_scope.cancel()

            for session_id in planned:
                tg.start_soon(refresh, session_id)
        if errors:
            # a 429 first, so its Retry-After reaches the poller; the others are dropped now,
            # since their tracebacks would keep this poll's frames alive until a full GC
            first = min(errors, key=lambda exc: not isinstance(exc, RateLimitedError))
            errors.clear()
            raise first

    async def _refresh_one(self, session_id: str) -> None:
        body = await self._client.details(session_id)
        if body is None:
            self._details.store(session_id, None)
            return
        try:
            details, problems = parse_details(decode_json(body, DETAILS))
        except InvalidRecord as exc:
            problems = (str(exc),)
            self._details.tried(session_id)
        else:
            self._details.store(session_id, details)
        if problems:
            self._context.telemetry.skipped("invalid", len(problems))
            self._context.log.warning(
                "livekit_details_invalid",
                session_id=session_id,
                count=len(problems),
                first=problems[0],
            )
