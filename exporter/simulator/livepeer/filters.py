"""Studio's ``filters`` and ``order`` over sessions, reproduced field by field.

``fieldsMap`` in Studio's session controller decides how each field filters and sorts: plain
text equality, JSON equality, ``ILIKE '%value%'``, booleans, or numbers with
``gt``/``gte``/``lt``/``lte`` (``eq`` is broken upstream: it falls through to the error
branch). ``recordingStatus`` is computed when a session is read, not stored, so filtering or
sorting on it sees nothing, as upstream.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Literal
from urllib.parse import unquote

from .truth import LivepeerSessionTruth

__all__ = ["FIELDS", "OWNER_EMAIL", "Predicate", "QueryError", "parse_filters", "sort_sessions"]

Predicate = Callable[[LivepeerSessionTruth], bool]
Kind = Literal["text", "json", "full-text", "int", "real", "boolean"]
OWNER_EMAIL = "owner@studio.invalid"

FIELDS: dict[str, tuple[Kind, Callable[[LivepeerSessionTruth], object]]] = {
    "id": ("text", lambda t: t.id),
    "name": ("full-text", lambda t: t.name),
    "lastSeen": ("int", lambda t: t.last_seen),
    "createdAt": ("int", lambda t: t.created_at),
    "userId": ("text", lambda t: t.user_id),
    "user.email": ("full-text", lambda t: OWNER_EMAIL),
    "parentId": ("text", lambda t: t.parent_id),
    "projectId": ("text", lambda t: t.project_id),
    "record": ("boolean", lambda t: t.record),
    "sourceSegments": ("json", lambda t: t.source_segments),
    "transcodedSegments": ("int", lambda t: t.transcoded_segments),
    "sourceSegmentsDuration": ("real", lambda t: t.source_segments_duration),
    "transcodedSegmentsDuration": ("real", lambda t: t.transcoded_segments_duration),
    "sourceBytes": ("int", lambda t: t.source_bytes),
    "transcodedBytes": ("int", lambda t: t.transcoded_bytes),
    "ingestRate": ("real", lambda t: t.ingest_rate),
    "outgoingRate": ("real", lambda t: t.outgoing_rate),
    "recordingStatus": ("json", lambda t: None),  # computed at read time, never stored
}
_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


class QueryError(Exception):
    """A request Studio refuses; ``message`` goes into ``{"errors": [message]}``.

    Filters give 400 for parse errors and 500 where Studio's SQL would fail.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _js(value: object) -> str:
    """``JSON.stringify`` for messages and for the text node-postgres sends."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _js_string(value: object) -> str:
    """JavaScript ``String(value)``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict):
        return "[object Object]"
    if isinstance(value, list):
        return ",".join("" if v is None else _js_string(v) for v in value)
    return str(value)


def _reject_constant(name: str) -> object:
    raise ValueError(f"Unexpected token '{name[0]}'")  # JSON.parse knows no NaN/Infinity


def _decode_uri_component(text: str) -> str:
    """JavaScript ``decodeURIComponent``: Studio decodes ``filters`` a second time."""
    if re.search(r"%(?![0-9A-Fa-f]{2})", text):
        raise ValueError("URI malformed")
    return unquote(text, errors="strict")


def parse_filters(text: str) -> list[Predicate]:
    """Predicates for a ``filters`` value, or :class:`QueryError` with Studio's message."""
    if not text:
        return []
    try:
        decoded = _decode_uri_component(text)
    except ValueError:
        raise QueryError(400, "error parsing filters: URIError: URI malformed") from None
    try:
        data = json.loads(decoded, parse_constant=_reject_constant)
    except ValueError as exc:
        raise QueryError(400, f"error parsing filters: SyntaxError: {exc}") from None
    if not isinstance(data, list):
        raise QueryError(400, "error parsing filters: Error: must be an array")
    predicates: list[Predicate] = []
    for item in data:
        if item is None:
            message = "TypeError: Cannot read properties of null (reading 'id')"
            raise QueryError(400, f"error parsing filters: {message}")
        if not isinstance(item, dict | list):
            message = f"TypeError: Cannot use 'in' operator to search for 'value' in {item}"
            raise QueryError(400, f"error parsing filters: {message}")
        field = item.get("id") if isinstance(item, dict) else None
        name = "undefined" if field is None else _js_string(field)
        if not isinstance(item, dict) or "value" not in item:
            message = f'Error: missing filter value for id "{name}"'
            raise QueryError(400, f"error parsing filters: {message}")
        spec = FIELDS.get(name)
        if spec is None:
            raise QueryError(400, f'error parsing filters: Error: unknown field: "{name}"')
        predicates.extend(_predicates(name, spec[0], spec[1], item["value"]))
    return predicates


def _predicates(
    name: str, kind: Kind, get: Callable[[LivepeerSessionTruth], object], value: object
) -> list[Predicate]:
    if kind == "boolean":
        if not isinstance(value, bool):
            message = f'Error: expected boolean value for field "{name}", got: {_js(value)}'
            raise QueryError(400, f"error parsing filters: {message}")
        return [lambda t: bool(get(t)) is value]
    if kind == "full-text":
        pattern = _ilike("%" + _js_string(value) + "%")
        return [lambda t: isinstance(v := get(t), str) and pattern.fullmatch(v) is not None]
    if kind in ("int", "real") and isinstance(value, dict):
        out: list[Predicate] = []
        for key, bound in value.items():
            compare = _COMPARISONS.get(key)
            if compare is None:  # "eq" included: upstream's switch falls through to here
                raise QueryError(400, f'error parsing filters: Error: unknown comparison: "{key}"')
            out.append(_numeric(get, compare, bound))
        return out
    if kind in ("int", "real", "json"):
        return [_numeric(get, lambda a, b: a == b, value)]
    if value is None or isinstance(value, dict | list):
        return [lambda t: False]  # = NULL, or = '{"…"}' compared with a column: no row
    text = _js_string(value)
    return [lambda t: (v := get(t)) is not None and _js_string(v) == text]


def _numeric(
    get: Callable[[LivepeerSessionTruth], object],
    compare: Callable[[float, float], bool],
    bound: object,
) -> Predicate:
    if bound is None:
        return lambda t: False  # a comparison with NULL selects nothing
    number: float | None = None
    if isinstance(bound, int | float | str) and not isinstance(bound, bool):
        try:
            number = float(bound)
        except ValueError:
            number = None
    if number is None:
        raise QueryError(500, "Internal server error: error")  # the database refuses it

    def predicate(t: LivepeerSessionTruth) -> bool:
        v = get(t)
        return isinstance(v, int | float) and compare(float(v), number)

    return predicate


def _ilike(pattern: str) -> re.Pattern[str]:
    """PostgreSQL ``ILIKE``: ``%`` any run, ``_`` any one character, ``\\`` escapes."""
    out, escaped = [], False
    for ch in pattern:
        if escaped:
            out.append(re.escape(ch))
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def sort_sessions(
    sessions: list[LivepeerSessionTruth], order: tuple[tuple[str, bool], ...]
) -> list[LivepeerSessionTruth]:
    """Studio's ORDER BY for ``order``: numbers coalesce to 0, text sorts NULLS LAST."""

    def compare(a: LivepeerSessionTruth, b: LivepeerSessionTruth) -> int:
        for name, descending in order:
            kind, get = FIELDS[name]
            va, vb = get(a), get(b)
            if kind in ("int", "real", "boolean"):
                va, vb = va or 0, vb or 0
            if va == vb:
                continue
            if va is None or vb is None:
                return 1 if va is None else -1  # NULLS LAST in either direction
            less = va < vb  # type: ignore[operator]  # same column, same type
            return (1 if less else -1) if descending else (-1 if less else 1)
        return 0

    return sorted(sessions, key=functools.cmp_to_key(compare))
