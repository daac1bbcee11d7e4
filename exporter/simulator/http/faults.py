"""Fault injection: what each simulated endpoint does wrong, switchable at run time.

A :class:`Fault` describes one misbehaviour (plus optional added latency); a
:class:`FaultBoard` holds at most one per endpoint, for the next N requests or until
cleared. Tests flip them on a running simulator; the command line takes the same faults
as ``--fault ENDPOINT=ITEM[,ITEM...]`` (see :data:`FAULT_SYNTAX`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "ENDPOINTS",
    "FAULT_SYNTAX",
    "SCALE_PLAN_BODY",
    "Fault",
    "FaultAction",
    "FaultBoard",
    "parse_fault_spec",
]

ENDPOINTS = ("livekit.list", "livekit.details", "livepeer.list", "livepeer.get")
SCALE_PLAN_BODY = b"scale plan or higher is required"
_MIB = 1024 * 1024

FAULT_SYNTAX = """\
--fault ENDPOINT=ITEM[,ITEM...]   (repeatable)
  ENDPOINT: livekit.list, livekit.details, livepeer.list, livepeer.get, or all
  ITEM:
    latency:SECONDS       wait before answering (combines with any item below)
    hang                  never answer (until the client or the simulator gives up)
    reset                 drop the connection with a TCP reset, no response
    close                 close the connection without a response
    status:CODE           answer CODE (e.g. 401, 403, 429, 500, 503) with an error body
    retry-after:SECONDS   add Retry-After (with status; alone it implies status:429)
    scale-plan            the plan error: status 403 (or status:CODE) "scale plan ..." body
    invalid-json          a 200 whose body is cut short (not JSON)
    wrong-shape           a 200 with the wrong top-level JSON type
    malformed-record      one record of the wrong shape among the good ones
    oversized:MIB         a 200 body padded past MIB mebibytes; oversized:endless never ends
    count:N               only the next N requests (default: until cleared)
    body:TEXT             the error body (must come last; may contain commas)
  e.g. --fault livekit.list=status:429,retry-after:3,count:2 --fault livepeer.list=latency:0.5
"""


class FaultAction(enum.Enum):
    """What replaces or distorts the normal answer."""

    HANG = "hang"
    RESET = "reset"
    CLOSE = "close"
    STATUS = "status"
    INVALID_JSON = "invalid-json"
    WRONG_SHAPE = "wrong-shape"
    MALFORMED_RECORD = "malformed-record"
    OVERSIZED = "oversized"


@dataclass(frozen=True, slots=True)
class Fault:
    """One misbehaviour of an endpoint; ``Fault(latency=0.05)`` only slows it down.

    ``status`` (or ``retry_after``) alone implies ``action=STATUS``; ``body`` and
    ``headers`` then replace the API's usual error body and add headers.
    ``oversized_bytes`` None with OVERSIZED streams an endless body. ``count`` limits the
    fault to the next N requests.
    """

    action: FaultAction | None = None
    latency: float = 0.0
    status: int | None = None
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()
    retry_after: int | float | str | None = None
    oversized_bytes: int | None = None
    count: int | None = None

    def __post_init__(self) -> None:
        if self.action is None and (self.status is not None or self.retry_after is not None):
            object.__setattr__(self, "action", FaultAction.STATUS)
        if self.action is FaultAction.STATUS and self.status is None:
            object.__setattr__(self, "status", 429 if self.retry_after is not None else 500)
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError(f"status {self.status} is not an HTTP status code")
        if self.latency < 0:
            raise ValueError("latency must be >= 0")
        if self.count is not None and self.count < 1:
            raise ValueError("count must be >= 1 (or None for until cleared)")
        if self.oversized_bytes is not None and self.oversized_bytes < 1:
            raise ValueError("oversized_bytes must be >= 1 (or None for endless)")

    @classmethod
    def rate_limited(
        cls, retry_after: int | float | str | None = 1, *, count: int | None = None
    ) -> Fault:
        """429 Too Many Requests, with ``Retry-After`` unless None."""
        return cls(status=429, retry_after=retry_after, count=count)

    @classmethod
    def scale_plan(cls, status: int = 403, *, count: int | None = None) -> Fault:
        """LiveKit's answer to a project below the Scale plan (401 or 403)."""
        return cls(status=status, body=SCALE_PLAN_BODY, count=count)

    @classmethod
    def oversized(cls, mib: float | None, *, count: int | None = None) -> Fault:
        """A body of at least ``mib`` MiB, or an endless one when ``mib`` is None."""
        size = None if mib is None else max(1, int(mib * _MIB))
        return cls(FaultAction.OVERSIZED, oversized_bytes=size, count=count)

    def describe(self) -> str:
        """A short label for the request log."""
        parts = [] if self.action is None else [self.action.value]
        if self.status is not None:
            parts.append(str(self.status))
        if self.latency:
            parts.append(f"latency {self.latency:g}s")
        return " ".join(parts) or "none"


class FaultBoard:
    """The fault currently set on each endpoint, with how many uses it has left."""

    def __init__(self, initial: Iterable[tuple[str, Fault]] = ()) -> None:
        self._faults: dict[str, tuple[Fault, int | None]] = {}
        for endpoint, fault in initial:
            self.set(endpoint, fault)

    def set(self, endpoint: str, fault: Fault) -> None:
        """Install ``fault`` on ``endpoint`` (``"all"``: on every endpoint)."""
        for name in _endpoints(endpoint):
            self._faults[name] = (fault, fault.count)

    def clear(self, endpoint: str | None = None) -> None:
        """Remove the fault of ``endpoint``, or every fault."""
        if endpoint is None:
            self._faults.clear()
            return
        for name in _endpoints(endpoint):
            self._faults.pop(name, None)

    def get(self, endpoint: str) -> Fault | None:
        """The fault set on ``endpoint`` without using it up."""
        entry = self._faults.get(endpoint)
        return None if entry is None else entry[0]

    def remaining(self, endpoint: str) -> int | None:
        """Uses left (None: until cleared); 0 when no fault is set."""
        entry = self._faults.get(endpoint)
        return 0 if entry is None else entry[1]

    def take(self, endpoint: str) -> Fault | None:
        """The fault to apply to one request now, counting it as used."""
        entry = self._faults.get(endpoint)
        if entry is None:
            return None
        fault, left = entry
        if left is not None:
            if left <= 1:
                del self._faults[endpoint]
            else:
                self._faults[endpoint] = (fault, left - 1)
        return fault


def _endpoints(endpoint: str) -> tuple[str, ...]:
    if endpoint == "all":
        return ENDPOINTS
    if endpoint not in ENDPOINTS:
        raise ValueError(f"unknown endpoint {endpoint!r}; use one of {', '.join(ENDPOINTS)}, all")
    return (endpoint,)


def _number(item: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{item}: {text!r} is not a number") from None
    if value < 0:
        raise ValueError(f"{item}: must be >= 0")
    return value


def parse_fault_spec(spec: str) -> tuple[str, Fault]:
    """``"livekit.list=status:503,count:2"`` → (endpoint, Fault); ValueError says what's wrong."""
    endpoint, sep, rest = spec.partition("=")
    if not sep or not rest:
        raise ValueError(f"{spec!r}: expected ENDPOINT=ITEM[,ITEM...]")
    _endpoints(endpoint)
    action: FaultAction | None = None
    latency = 0.0
    status: int | None = None
    body: bytes | None = None
    retry_after: str | None = None
    oversized: int | None = None
    count: int | None = None
    scale_plan = False
    while rest:
        item, _, rest = rest.partition(",")
        name, _, arg = item.partition(":")
        if name == "body":
            body = (arg + ("," + rest if rest else "")).encode()
            break
        if name == "latency":
            latency = _number(name, arg)
        elif name in ("hang", "reset", "close", "invalid-json", "wrong-shape", "malformed-record"):
            action = FaultAction(name)
        elif name == "status":
            status = int(_number(name, arg))
        elif name == "retry-after":
            retry_after = str(_number(name, arg)).removesuffix(".0")
        elif name == "scale-plan":
            scale_plan = True
        elif name == "oversized":
            action = FaultAction.OVERSIZED
            oversized = None if arg == "endless" else max(1, int(_number(name, arg) * _MIB))
        elif name == "count":
            count = int(_number(name, arg))
        else:
            raise ValueError(f"{spec!r}: unknown item {item!r} (see --help)")
    if scale_plan:
        status = 403 if status is None else status
        body = SCALE_PLAN_BODY if body is None else body
    return endpoint, Fault(
        action,
        latency=latency,
        status=status,
        body=body,
        retry_after=retry_after,
        oversized_bytes=oversized,
        count=count,
    )
