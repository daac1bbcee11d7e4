"""The fake clock tests drive the simulated world with."""

from __future__ import annotations

import pytest

from exporter.simulator import FakeClock


def test_fake_clock_moves_only_when_told() -> None:
    """The fake clock starts at a fixed instant, advances forward and can be set back."""
    clock = FakeClock()
    assert clock() == FakeClock.DEFAULT_START
    assert clock.advance(2.5) == FakeClock.DEFAULT_START + 2.5
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)
    clock.set(10)
    assert clock.now == 10.0
