"""Every request the simulator received, as it arrived on the wire, for tests to assert on.

Tests check what the exporter really sent: the raw (still percent-encoded) path, the query
string, the headers (``Authorization`` included, so this log is test-only material and the
simulator never prints it), and what the simulator did with the request.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import anyio

__all__ = ["RecordedRequest", "RequestLog"]


@dataclass(slots=True)
class RecordedRequest:
    """One request; ``outcome`` and ``status`` are filled in once the simulator has answered.

    ``endpoint`` is ``livekit.list``, ``livekit.details``, ``livepeer.list``,
    ``livepeer.get``, or ``livekit.unknown`` / ``livepeer.unknown`` for a 404 path.
    ``outcome`` is ``pending``, ``response``, ``reset``, ``closed`` (no response), or
    ``abandoned`` (the client went away, or the simulator stopped, during a hang or a body).
    """

    api: str
    endpoint: str
    method: str
    raw_path: str
    query_string: str
    headers: tuple[tuple[str, str], ...]
    received_at: float
    status: int | None = None
    outcome: str = "pending"
    fault: str | None = None
    extra: dict[str, object] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k == wanted), None)


class RequestLog:
    """An append-only, bounded log of :class:`RecordedRequest`, newest last."""

    def __init__(self, maxlen: int = 10_000) -> None:
        self._records: collections.deque[RecordedRequest] = collections.deque(maxlen=maxlen)
        self._changed: anyio.Event | None = None

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[RecordedRequest]:
        return iter(list(self._records))

    @property
    def records(self) -> list[RecordedRequest]:
        """A snapshot of the log."""
        return list(self._records)

    def for_endpoint(self, endpoint: str) -> list[RecordedRequest]:
        return [r for r in self._records if r.endpoint == endpoint]

    def clear(self) -> None:
        self._records.clear()

    def append(self, record: RecordedRequest) -> None:
        self._records.append(record)
        self.notify()

    def notify(self) -> None:
        """Wake :meth:`wait_for` callers (a record was added or answered)."""
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def wait_for(
        self,
        predicate: Callable[[RecordedRequest], bool],
        *,
        count: int = 1,
        limit_s: float = 10.0,
    ) -> list[RecordedRequest]:
        """Wait until ``count`` records satisfy ``predicate``; TimeoutError after ``limit_s``."""
        with anyio.fail_after(limit_s):
            while True:
                found = [r for r in self._records if predicate(r)]
                if len(found) >= count:
                    return found
                if self._changed is None:
                    self._changed = anyio.Event()
                await self._changed.wait()
