"""Fixtures shared by every test layer."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite tests/fixtures/exposition/*.prom from the current output",
    )


@pytest.fixture
def anyio_backend() -> str:
    """The exporter runs on asyncio (uvicorn needs it), so its tests do too."""
    return "asyncio"


class Golden:
    """Compares output with a golden file, or rewrites it under ``--update-golden``."""

    def __init__(self, update: bool) -> None:
        self._update = update

    def check(self, name: str, actual: str) -> None:
        path = FIXTURES / "exposition" / name
        if self._update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(actual, encoding="utf-8")
            return
        assert path.exists(), f"{path} is missing: run pytest --update-golden"
        assert actual == path.read_text(encoding="utf-8"), f"{name} differs from the golden file"


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Golden:
    return Golden(bool(request.config.getoption("--update-golden")))


@pytest.fixture(scope="session")
def promtool() -> str:
    """Path of promtool; fails (never skips) with install advice when it is missing."""
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(
            "promtool not found: run 'make tools' as root, or install Debian's 'prometheus' package"
        )
    return path
