"""``GET /session`` query parameters exactly as Studio reads them, bugs included.

Mirrors Studio's session controller and its helpers (``parseFilters``, ``parseOrder``,
``makeNextHREF``) and its store's ``parseLimit``/``skip<N>`` cursors: repeated parameters are
joined with commas (Express ``toStringValues``); ``filters`` is URL-decoded a second time
before ``JSON.parse``; ``eq`` falls through to "unknown comparison" (400); unknown ``order``
entries are dropped silently; the next-page link copies the request URL and re-encodes its
whole query. The filters themselves are :mod:`exporter.simulator.livepeer.filters`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

from .filters import FIELDS, Predicate, QueryError, parse_filters

__all__ = [
    "DEFAULT_LIMIT",
    "DEFAULT_ORDER",
    "MAX_LIMIT",
    "QueryError",
    "SessionQuery",
    "next_link",
    "parse_session_query",
]

DEFAULT_LIMIT = 20
MAX_LIMIT = 1000
DEFAULT_ORDER = (("lastSeen", True), ("createdAt", True))
_SKIP = re.compile(r"skip(\d+)")
_LEADING_INT = re.compile(r"\s*([+-]?\d+)")
_FORM_SAFE = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789*-._")


@dataclass(frozen=True, slots=True)
class SessionQuery:
    """A parsed ``GET /session`` request; ``order`` is None when no entry was usable."""

    limit: int
    offset: int
    order: tuple[tuple[str, bool], ...] | None
    filters: tuple[Predicate, ...]
    count: bool

    @property
    def default_order(self) -> bool:
        return self.order == DEFAULT_ORDER


def _params(query_string: bytes) -> dict[str, str]:
    """Query values as Express and ``toStringValues`` see them: repeats joined by commas."""
    grouped: dict[str, list[str]] = {}
    text = query_string.decode("latin-1")
    for key, value in parse_qsl(text, keep_blank_values=True, encoding="utf-8"):
        grouped.setdefault(key, []).append(value)
    return {key: ",".join(values) for key, values in grouped.items()}


def _parse_int(text: str) -> int | None:
    """JavaScript ``parseInt``: leading digits count, the rest is ignored."""
    match = _LEADING_INT.match(text)
    return int(match.group(1)) if match else None


def parse_session_query(query_string: bytes) -> SessionQuery:
    """Parse the query of ``GET /session`` or raise :class:`QueryError` as Studio would."""
    params = _params(query_string)
    if "projectId" in params:
        raise QueryError(400, "projectId as query param not supported")
    limit = _parse_int(params.get("limit", ""))
    if limit is None or limit < 1:
        limit = DEFAULT_LIMIT
    limit = min(limit, MAX_LIMIT)
    cursor = params.get("cursor", "")
    offset = 0
    if cursor:
        match = _SKIP.fullmatch(cursor)
        if match is None:
            raise QueryError(400, f"invalid cursor: {cursor}")
        offset = int(match.group(1))
    filters = list(parse_filters(params.get("filters", "")))
    if params.get("parentId"):
        parent = params["parentId"]
        filters.append(lambda t: t.parent_id == parent)
    order_text = params.get("order") or "lastSeen-true,createdAt-true"
    return SessionQuery(
        limit=limit,
        offset=offset,
        order=_parse_order(order_text),
        filters=tuple(filters),
        count=bool(params.get("count")),
    )


def _parse_order(text: str) -> tuple[tuple[str, bool], ...] | None:
    entries = []
    for part in text.split(","):
        pieces = part.split("-")
        if len(pieces) != 2 or pieces[0] not in FIELDS:
            continue  # Studio drops what it cannot use, silently
        entries.append((pieces[0], pieces[1] == "true"))
    return tuple(entries) or None


def next_link(origin: str, raw_path: bytes, query_string: bytes, cursor: str) -> str:
    """``makeNextHREF``: the request URL on ``origin`` with ``cursor`` set, re-encoded."""
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True, encoding="utf-8")
    out: list[tuple[str, str]] = []
    replaced = False
    for key, value in pairs:
        if key == "cursor":
            if not replaced:
                out.append((key, cursor))
                replaced = True
            continue
        out.append((key, value))
    if not replaced:
        out.append(("cursor", cursor))
    query = "&".join(f"{_form_encode(k)}={_form_encode(v)}" for k, v in out)
    return f"{origin}{raw_path.decode('latin-1')}?{query}"


def _form_encode(text: str) -> str:
    """WHATWG ``application/x-www-form-urlencoded`` serialisation, as ``URLSearchParams``."""
    out = []
    for byte in text.encode("utf-8"):
        if byte in _FORM_SAFE:
            out.append(chr(byte))
        elif byte == 0x20:
            out.append("+")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)
