"""The sorted index: entries move one at a time instead of the whole index being re-sorted."""

from __future__ import annotations

from exporter.simulator.common.sorted_index import SortedIndex


def test_sorted_index_moves_entries_instead_of_resorting() -> None:
    """Entries stay ordered by key (ties by handle) as they are inserted, moved and removed."""
    index: SortedIndex[str] = SortedIndex()
    index.put(2, (5,), "b")
    index.put(1, (5,), "a")
    index.put(3, (1,), "c")
    assert list(index.values()) == ["c", "a", "b"]
    index.put(3, (9,), "c2")
    assert list(index.values()) == ["a", "b", "c2"]
    index.remove(1)
    index.remove(42)
    assert list(index.values()) == ["b", "c2"]
    assert len(index) == 2
    assert 2 in index
    assert index.bisect_key((6,)) == 1
    assert list(index.values(1)) == ["c2"]
    index.clear()
    assert list(index.values()) == []
