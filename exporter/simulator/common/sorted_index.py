"""An ordered index that is updated one entry at a time instead of re-sorted per request.

Both simulated lists page over thousands of sessions in a fixed order (LiveKit: newest
first; Studio: ``lastSeen`` then ``createdAt``, both descending). Only a few sessions change
their sort key between two requests, so the world keeps them in this index and moves just
those, which keeps a page of 100 cheap at 10,000 sessions.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from typing import Generic, TypeVar

__all__ = ["SortedIndex"]

T = TypeVar("T")


class SortedIndex(Generic[T]):
    """Entries ``(key, handle) -> value``, iterated in ascending key order.

    ``handle`` is a unique integer per entry; it breaks ties between equal keys, so the
    order is total and deterministic. Callers wanting descending order negate their keys.
    """

    __slots__ = ("_entries", "_keys", "_values")

    def __init__(self) -> None:
        self._entries: list[tuple[tuple[int, ...], int]] = []
        self._keys: dict[int, tuple[int, ...]] = {}
        self._values: dict[int, T] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, handle: object) -> bool:
        return handle in self._keys

    def put(self, handle: int, key: tuple[int, ...], value: T) -> None:
        """Insert ``handle`` or move it to ``key``; ``value`` replaces the previous one."""
        old = self._keys.get(handle)
        if old is not None and old != key:
            self._remove_entry(old, handle)
        if old != key:
            bisect.insort(self._entries, (key, handle))
            self._keys[handle] = key
        self._values[handle] = value

    def remove(self, handle: int) -> None:
        """Drop ``handle`` if present."""
        key = self._keys.pop(handle, None)
        if key is not None:
            self._remove_entry(key, handle)
            del self._values[handle]

    def value(self, handle: int) -> T:
        return self._values[handle]

    def bisect_key(self, key: tuple[int, ...]) -> int:
        """Position of the first entry whose key is ``>= key``."""
        return bisect.bisect_left(self._entries, (key, -1))

    def values(self, start: int = 0, stop: int | None = None) -> Iterator[T]:
        """Values from position ``start`` up to ``stop``, in key order."""
        end = len(self._entries) if stop is None else min(stop, len(self._entries))
        for i in range(max(start, 0), end):
            yield self._values[self._entries[i][1]]

    def clear(self) -> None:
        self._entries.clear()
        self._keys.clear()
        self._values.clear()

    def _remove_entry(self, key: tuple[int, ...], handle: int) -> None:
        index = bisect.bisect_left(self._entries, (key, handle))
        del self._entries[index]
