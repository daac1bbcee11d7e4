"""HTTP to Livepeer Studio's ``GET /session`` for one API key: pages and their Link cursors.

One poll asks only for what can count: a ``filters`` range keeps sessions whose ``lastSeen``
lies within the longer of the active window and the recording lookback (``gt``, never ``eq``,
which Studio answers with 400), in Studio's default newest-``lastSeen``-first order. The next
page is announced only by a ``Link: <…>; rel="next"`` header whose host may be an internal
one, so only its ``cursor`` value is read and re-issued against the configured base URL. A
next link without a cursor cannot be followed: the list ends there, and the page says so, so
that the source can warn instead of ending silently.

Nothing here logs or keeps an upstream body: Studio's 401 echoes the API key, and list items
carry the parent stream record with its stream key (see :mod:`.wire`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final, NamedTuple

import httpx
import msgspec

from exporter.errors import AuthError
from exporter.sources.base import TargetContext
from exporter.sources.livepeer.settings import LivepeerSettings
from exporter.sources.upstream import Response, error_for_status

__all__ = ["LIST", "ListPage", "LivepeerClient", "next_cursor"]

LIST: Final = "list_sessions"
"""The ``endpoint`` label value of ``GET /session``."""
_CORS_HINT: Final = "use a non-CORS API key"
_FORBIDDEN: Final = "Studio refuses CORS-enabled API keys on GET /session"
_LINK: Final = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]*)*)")
"""One link of a ``Link`` header: ``<target>`` and its ``; name=value`` parameters."""


class ListPage(NamedTuple):
    """One answer of ``GET /session``: its body and what its ``Link`` header says of the next."""

    body: bytes
    cursor: str | None
    """The next page's cursor; None: no next page that can be requested."""
    uncursored_next: bool
    """A ``rel="next"`` link was there, but named no cursor to follow."""


class LivepeerClient:
    """``GET /session`` of one Studio API key (one project)."""

    def __init__(self, settings: LivepeerSettings, context: TargetContext) -> None:
        if settings.api_key is None:
            raise ValueError("the Livepeer source needs an API key")
        self._settings = settings
        self._context = context
        self._url = f"{settings.url}/session"
        self._headers = {
            "authorization": f"Bearer {settings.api_key.reveal()}",
            "accept": "application/json",
        }

    def list_query(self) -> dict[str, str | int]:
        """``limit`` and the ``lastSeen`` range; fixed for a whole poll, as offset cursors
        are only meaningful against the same filter."""
        horizon = max(self._settings.active_window, self._settings.recording_lookback)
        since_ms = int((self._context.clock.time() - horizon) * 1000)
        filters = [{"id": "lastSeen", "value": {"gt": since_ms}}]
        return {"limit": self._settings.page_size, "filters": msgspec.json.encode(filters).decode()}

    async def list_page(self, query: Mapping[str, str | int], cursor: str | None) -> ListPage:
        """The page at ``cursor`` (the first for None), with the next page's cursor from its
        ``Link`` header."""
        params = query if cursor is None else {**query, "cursor": cursor}
        resp = await self._context.http.get(LIST, self._url, params=params, headers=self._headers)
        self._raise_for_status(resp, LIST)
        link = _next_link(resp.headers.get_list("link"))
        following = _cursor_of(link)
        return ListPage(resp.body, following, link is not None and following is None)

    def _raise_for_status(self, resp: Response, endpoint: str) -> None:
        """Raise the typed error of a non-2xx answer; the body is never read."""
        error = error_for_status(resp, endpoint, self._context.clock.time())
        if error is None:
            return
        if resp.status == 403:
            # Studio answers 403 to CORS-enabled keys on GET /session (and to suspended
            # accounts); its wording varies, so every 403 carries the hint.
            self._context.log.warning(
                "livepeer_key_forbidden", status=403, cause=_FORBIDDEN, hint=_CORS_HINT
            )
            raise AuthError(f"{error} ({_FORBIDDEN}: {_CORS_HINT})")
        raise error


def next_cursor(link_headers: list[str]) -> str | None:
    """The ``cursor`` query value of the ``rel="next"`` link, or None (the last page).

    Only the query of the link is read: its scheme, host and path (which may be Studio's
    internal ones) are never parsed, let alone requested.
    """
    return _cursor_of(_next_link(link_headers))


def _next_link(link_headers: list[str]) -> str | None:
    """The target of the first ``rel="next"`` link, or None when there is none."""
    for header in link_headers:
        for match in _LINK.finditer(header):
            if _is_next(match.group(2)):
                return match.group(1).strip()
    return None


def _cursor_of(target: str | None) -> str | None:
    """The non-empty ``cursor`` query value of a link target, or None."""
    if target is None:
        return None
    query = target.partition("?")[2].partition("#")[0]
    return httpx.QueryParams(query).get("cursor") or None


def _is_next(params: str) -> bool:
    """Whether link parameters hold ``rel`` with ``next`` among its space-separated values."""
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "rel" and "next" in value.strip().strip('"').lower().split():
            return True
    return False
