"""HTTP to one LiveKit project's Analytics API: list pages and session details.

Every request is authorised and budgeted by :class:`~.auth.LiveKitAuth` (one token of the
project's :class:`~.budget.TokenBucket` per attempt, a 401 re-minted and retried once). Pages
are offset-paged by number over a window of UTC dates; a non-2xx answer becomes its typed
error, and a refusal that says "scale plan" says so in its message.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Final
from urllib.parse import quote

from exporter.errors import AuthError
from exporter.sources.base import TargetContext
from exporter.sources.livekit.auth import LiveKitAuth, TokenMinter
from exporter.sources.livekit.budget import TokenBucket, capacity_for
from exporter.sources.livekit.settings import LiveKitCredentials, LiveKitSettings
from exporter.sources.upstream import Response, error_for_status

__all__ = ["DETAILS", "LIST", "PLAN_HINT", "LiveKitClient", "path_segment"]

LIST: Final = "list_sessions"
DETAILS: Final = "session_details"
"""The ``endpoint`` label values of the two endpoints."""
PLAN_HINT: Final = "the LiveKit Cloud Analytics API needs a Scale plan or higher"
_PLAN_MARKER: Final = b"scale plan"
_PLAN_SNIFF: Final = 64 * 1024
_ACCEPT: Final = {"accept": "application/json"}


def path_segment(value: str) -> str:
    """``value`` as one URL path segment: every reserved byte, and every dot, percent-encoded,
    so an id like ``..``, ``a/b`` or ``%2F`` can never reach another path."""
    return quote(value, safe="").replace(".", "%2E")


class LiveKitClient:
    """The two endpoints of one project, and the request budget they share."""

    def __init__(
        self, credentials: LiveKitCredentials, settings: LiveKitSettings, context: TargetContext
    ) -> None:
        self._settings = settings
        self._context = context
        rpm = settings.requests_per_minute
        self.budget = TokenBucket(rpm, capacity_for(rpm, settings.poll_interval), context.clock)
        """Every request of the project takes one token; details are planned from what is left."""
        minter = TokenMinter(
            credentials.api_key,
            credentials.api_secret,
            ttl=settings.token_ttl,
            clock=context.clock,
            telemetry=context.telemetry,
        )
        self._auth = LiveKitAuth(minter, self.budget)
        self._sessions_url = (
            f"{settings.url}/api/project/{path_segment(credentials.project_id)}/sessions"
        )

    def list_query(self) -> dict[str, str]:
        """The window of a poll's list: from ``lookback-days`` UTC days ago to today."""
        today = datetime.fromtimestamp(self._context.clock.time(), tz=UTC).date()
        return {
            "start": (today - timedelta(days=self._settings.lookback_days)).isoformat(),
            "end": (today + timedelta(days=1)).isoformat(),  # exclusive: today included
        }

    async def list_page(self, query: Mapping[str, str], cursor: int | None) -> tuple[bytes, int]:
        """The body of list page ``cursor`` (0 for None), and the number of the next page."""
        number = cursor or 0
        params: dict[str, str | int] = {"limit": self._settings.page_size, "page": number, **query}
        resp = await self._context.http.get(
            LIST, self._sessions_url, params=params, headers=_ACCEPT, auth=self._auth
        )
        self._raise_for_status(resp, LIST)
        return resp.body, number + 1

    async def details(self, session_id: str) -> bytes | None:
        """The details body of one session, or None when it has none (404)."""
        url = f"{self._sessions_url}/{path_segment(session_id)}"
        resp = await self._context.http.get(DETAILS, url, headers=_ACCEPT, auth=self._auth)
        if resp.status == 404:  # listed but gone from details: not a failed poll
            return None
        self._raise_for_status(resp, DETAILS)
        return resp.body

    def _raise_for_status(self, resp: Response, endpoint: str) -> None:
        """Raise the typed error of a non-2xx answer; the body is only sniffed for the plan."""
        error = error_for_status(resp, endpoint, self._context.clock.time())
        if error is None:
            return
        if isinstance(error, AuthError) and _PLAN_MARKER in resp.body[:_PLAN_SNIFF].lower():
            self._context.log.warning("livekit_plan_required", status=resp.status, hint=PLAN_HINT)
            raise AuthError(f"{endpoint}: HTTP {resp.status}: {PLAN_HINT}")
        raise error
