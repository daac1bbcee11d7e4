"""The rig every reload test uses: a fresh simulator and a directory for the file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.reload.rig import Rig, reload_rig


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    with reload_rig(tmp_path) as found:
        yield found
