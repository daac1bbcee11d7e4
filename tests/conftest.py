"""Fixtures shared by every test layer."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """The exporter runs on asyncio (uvicorn needs it), so its tests do too."""
    return "asyncio"
