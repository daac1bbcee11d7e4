"""The LiveKit Cloud source: one project's Analytics API, polled into a LiveKitSnapshot.

A poll lists the sessions of the lookback window page by page (offset paging over live data,
so rows are de-duplicated by ``sessionId``), then refreshes the details of active sessions
with the budget left (round-robin, bounded concurrency), then builds the snapshot. Every
request takes a token from the project's :class:`~.budget.TokenBucket` and carries the
current JWT; a 401 re-mints the token once and retries that request once. Details are planned
from the tokens already in the bucket, so they never wait for the budget and the poll ends in
about ``pages + ceil(details / concurrency)`` request latencies, well within its deadline.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Final
from urllib.parse import quote

import anyio

from exporter.config.settings import LiveKitSettings
from exporter.errors import AuthError, RateLimitedError, SourceError
from exporter.exposition.self_metrics import Endpoint
from exporter.sources.base import SourceSpec, TargetContext
from exporter.sources.livekit.auth import TokenMinter
from exporter.sources.livekit.budget import TokenBucket, capacity_for
from exporter.sources.livekit.details import DetailsCache
from exporter.sources.livekit.metrics import LiveKitSnapshot, build_snapshot
from exporter.sources.livekit.wire import (
    InvalidRecord,
    ListedSession,
    parse_details,
    parse_sessions,
)
from exporter.sources.upstream import Response, decode_json, error_for_status

__all__ = ["DETAILS_CONCURRENCY", "KIND", "PLAN_HINT", "SPEC", "LiveKitSource", "path_segment"]

KIND: Final = "livekit_cloud"
DETAILS_CONCURRENCY: Final = 6
"""Details requests in flight at once: fast enough, gentle on a shared per-project quota."""
PLAN_HINT: Final = "the LiveKit Cloud Analytics API needs a Scale plan or higher"
_PLAN_MARKER: Final = b"scale plan"
_PLAN_SNIFF: Final = 64 * 1024


def path_segment(value: str) -> str:
    """``value`` as one URL path segment: every reserved byte, and every dot, percent-encoded,
    so an id like ``..``, ``a/b`` or ``%2F`` can never reach another path."""
    return quote(value, safe="").replace(".", "%2E")


class LiveKitSource:
    """Polls one LiveKit Cloud project; keeps its token, budget and details cache."""

    kind: Final = KIND

    def __init__(self, settings: LiveKitSettings, context: TargetContext) -> None:
        if settings.credentials is None:
            raise ValueError("the LiveKit source needs credentials")
        self._settings = settings
        self._ctx = context
        self._project = settings.credentials.project_id
        self._minter = TokenMinter(
            settings.credentials.api_key,
            settings.credentials.api_secret,
            ttl=settings.token_ttl,
            clock=context.clock,
            telemetry=context.telemetry,
        )
        rpm = settings.requests_per_minute
        self.budget = TokenBucket(rpm, capacity_for(rpm, settings.poll_interval), context.clock)
        self._details = DetailsCache()
        self._sessions_url = f"{settings.url}/api/project/{path_segment(self._project)}/sessions"

    @property
    def target(self) -> str:
        return self._project

    @property
    def interval(self) -> float:
        return self._settings.poll_interval

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
        today = datetime.fromtimestamp(self._ctx.clock.time(), tz=UTC).date()
        window = {
            "start": (today - timedelta(days=self._settings.lookback_days)).isoformat(),
            "end": (today + timedelta(days=1)).isoformat(),  # exclusive: today included
        }
        size = self._settings.page_size
        seen: dict[str, ListedSession] = {}
        duplicates = invalid = 0
        first_error: str | None = None
        for page in range(self._settings.max_pages):
            params: dict[str, str | int] = {"limit": size, "page": page, **window}
            resp = await self._get("list_sessions", self._sessions_url, params)
            self._raise_for_status(resp, "list_sessions")
            parsed = parse_sessions(decode_json(resp.body, "list_sessions"))
            invalid += parsed.invalid
            first_error = first_error or parsed.first_error
            for session in parsed.sessions:
                if session.session_id in seen:
                    duplicates += 1
                else:
                    seen[session.session_id] = session
            if parsed.size < size:
                break
        else:
            self._ctx.log.warning("livekit_max_pages_reached", max_pages=self._settings.max_pages)
        self._ctx.telemetry.skipped("invalid", invalid)
        self._ctx.telemetry.skipped("duplicate", duplicates)
        if first_error is not None:
            self._ctx.log.warning("livekit_records_invalid", count=invalid, first=first_error)
        return list(seen.values())

    async def _refresh_details(self, active: list[ListedSession]) -> None:
        allowance = int(self.budget.available())
        planned = self._details.plan([s.session_id for s in active], allowance)
        if len(planned) < len(active):
            self._ctx.log.debug(
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
        url = f"{self._sessions_url}/{path_segment(session_id)}"
        resp = await self._get("session_details", url)
        if resp.status == 404:  # listed but gone from details: not a failed poll
            self._details.store(session_id, None)
            return
        self._raise_for_status(resp, "session_details")
        body = decode_json(resp.body, "session_details")
        try:
            details, problems = parse_details(body)
        except InvalidRecord as exc:
            problems = (str(exc),)
            self._details.tried(session_id)
        else:
            self._details.store(session_id, details)
        if problems:
            self._ctx.telemetry.skipped("invalid", len(problems))
            self._ctx.log.warning(
                "livekit_details_invalid",
                session_id=session_id,
                count=len(problems),
                first=problems[0],
            )

    async def _get(
        self, endpoint: Endpoint, url: str, params: Mapping[str, str | int] | None = None
    ) -> Response:
        """One budgeted, authorised GET; on a 401, once more with a freshly minted token."""
        await self.budget.take()
        token = self._minter.token()
        resp = await self._ctx.http.get(endpoint, url, params=params, headers=_headers(token))
        if resp.status != 401:
            return resp
        await self.budget.take()
        token = self._minter.renew(token)
        return await self._ctx.http.get(endpoint, url, params=params, headers=_headers(token))

    def _raise_for_status(self, resp: Response, endpoint: Endpoint) -> None:
        error = error_for_status(resp, endpoint, self._ctx.clock.time())
        if error is None:
            return
        if isinstance(error, AuthError) and _PLAN_MARKER in resp.body[:_PLAN_SNIFF].lower():
            self._ctx.log.warning("livekit_plan_required", status=resp.status, hint=PLAN_HINT)
            raise AuthError(f"{endpoint}: HTTP {resp.status}: {PLAN_HINT}")
        raise error


def _headers(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}", "accept": "application/json"}


SPEC: Final = SourceSpec(
    kind=KIND,
    target=lambda s: s.livekit.credentials.project_id if s.livekit.credentials else None,
    build=lambda s, ctx: LiveKitSource(s.livekit, ctx),
)
