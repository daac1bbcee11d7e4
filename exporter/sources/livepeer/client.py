"""The Livepeer Studio source: pages through ``GET /session`` and builds a snapshot.

One poll asks only for what can count: a ``filters`` range keeps sessions whose ``lastSeen``
lies within the longer of the active window and the recording lookback (``gt``, never ``eq``,
which Studio answers with 400), in Studio's default newest-``lastSeen``-first order. The next
page is announced only by a ``Link: <…>; rel="next"`` header whose host may be an internal
one, so only its ``cursor`` value is read and re-issued against the configured base URL, at
most ``--livepeer.max-pages`` times. Offset cursors over live data can repeat a session, so
sessions are de-duplicated by ``id``.

Nothing here logs or keeps an upstream body: Studio's 401 echoes the API key, and list items
carry the parent stream record with its stream key (see :mod:`.livepeer_model`).
"""

from __future__ import annotations

import re
from typing import Final

import httpx
import msgspec

from exporter.config.settings import LivepeerSettings, Settings
from exporter.errors import AuthError
from exporter.sources.base import Source, SourceSpec, TargetContext
from exporter.sources.livepeer.metrics import LivepeerSnapshot
from exporter.sources.livepeer.snapshot import Windows, build_snapshot
from exporter.sources.livepeer.wire import LivepeerSession, parse_page
from exporter.sources.upstream import Response, error_for_status

__all__ = ["KIND", "SPEC", "LivepeerSource", "next_cursor"]

KIND: Final = "livepeer_studio"
CORS_HINT: Final = "use a non-CORS API key"
_FORBIDDEN: Final = "Studio refuses CORS-enabled API keys on GET /session"
_LINK: Final = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]*)*)")
"""One link of a ``Link`` header: ``<target>`` and its ``; name=value`` parameters."""


class LivepeerSource:
    """Polls one Livepeer Studio API key (one project) for its stream sessions."""

    def __init__(self, settings: LivepeerSettings, context: TargetContext) -> None:
        if settings.api_key is None:
            raise ValueError("the Livepeer source needs an API key")
        self._settings = settings
        self._context = context
        self._url = f"{settings.url.rstrip('/')}/session"
        self._headers = {
            "authorization": f"Bearer {settings.api_key.reveal()}",
            "accept": "application/json",
        }
        self._windows = Windows(
            active_window=settings.active_window,
            recording_lookback=settings.recording_lookback,
            max_sessions=settings.max_sessions,
        )
        self._projects: set[str] = set()
        """Every projectId seen, so a project's aggregates stay (at 0) once it goes idle."""

    @property
    def kind(self) -> str:
        return KIND

    @property
    def target(self) -> str:
        return self._settings.target_name

    @property
    def interval(self) -> float:
        return self._settings.poll_interval

    async def poll(self) -> LivepeerSnapshot:
        """Fetch every page within the windows, then classify, aggregate and cap."""
        sessions = await self._fetch()
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

    def _query(self) -> dict[str, str | int]:
        """``limit`` and the ``lastSeen`` range; fixed for a whole poll, as offset cursors
        are only meaningful against the same filter."""
        horizon = max(self._settings.active_window, self._settings.recording_lookback)
        since_ms = int((self._context.clock.time() - horizon) * 1000)
        filters = [{"id": "lastSeen", "value": {"gt": since_ms}}]
        return {"limit": self._settings.page_size, "filters": msgspec.json.encode(filters).decode()}

    async def _fetch(self) -> list[LivepeerSession]:
        by_id: dict[str, LivepeerSession] = {}
        duplicates = invalid = 0
        query = self._query()
        cursor: str | None = None
        for page in range(1, self._settings.max_pages + 1):
            params = query if cursor is None else {**query, "cursor": cursor}
            resp = await self._context.http.get(
                "list_sessions", self._url, params=params, headers=self._headers
            )
            self._check(resp)
            parsed = parse_page(resp.body)
            invalid += parsed.invalid
            for session in parsed.sessions:
                known = by_id.get(session.id)
                if known is not None:
                    duplicates += 1
                    if known.last_seen_ms >= session.last_seen_ms:
                        continue
                by_id[session.id] = session
            cursor = next_cursor(resp.headers.get_list("link"))
            if cursor is None or (not parsed.sessions and not parsed.invalid):
                break
            if page == self._settings.max_pages:
                self._context.log.warning(
                    "livepeer_page_limit_reached",
                    max_pages=page,
                    sessions=len(by_id),
                    hint="raise --livepeer.max-pages or --livepeer.page-size",
                )
        self._context.telemetry.skipped("invalid", invalid)
        self._context.telemetry.skipped("duplicate", duplicates)
        if invalid:
            self._context.log.warning("livepeer_records_invalid", count=invalid)
        return list(by_id.values())

    def _check(self, resp: Response) -> None:
        """Raise the typed error of a non-2xx answer; the body is never read."""
        error = error_for_status(resp, "list_sessions", self._context.clock.time())
        if error is None:
            return
        if resp.status == 403:
            # Studio answers 403 to CORS-enabled keys on GET /session (and to suspended
            # accounts); its wording varies, so every 403 carries the hint.
            self._context.log.warning(
                "livepeer_key_forbidden", status=403, cause=_FORBIDDEN, hint=CORS_HINT
            )
            raise AuthError(f"{error} ({_FORBIDDEN}: {CORS_HINT})")
        raise error


def next_cursor(link_headers: list[str]) -> str | None:
    """The ``cursor`` query value of the ``rel="next"`` link, or None (the last page).

    Only the query of the link is read: its scheme, host and path (which may be Studio's
    internal ones) are never parsed, let alone requested.
    """
    for header in link_headers:
        for match in _LINK.finditer(header):
            if not _is_next(match.group(2)):
                continue
            target = match.group(1).strip()
            query = target.partition("?")[2].partition("#")[0]
            cursor = httpx.QueryParams(query).get("cursor")
            return cursor or None
    return None


def _is_next(params: str) -> bool:
    """Whether link parameters hold ``rel`` with ``next`` among its space-separated values."""
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "rel" and "next" in value.strip().strip('"').lower().split():
            return True
    return False


def _build(settings: Settings, context: TargetContext) -> Source:
    return LivepeerSource(settings.livepeer, context)


SPEC: Final = SourceSpec(
    kind=KIND,
    target=lambda s: s.livepeer.target_name if s.livepeer.api_key is not None else None,
    build=_build,
)
"""Plugs the Livepeer source into the composition root (``exporter.sources.SOURCES``)."""
