"""Where the external tools the tests drive live, failing (never skipping) with advice.

Python tools come with the test extras into the same venv as the interpreter; the npm schema
tooling is installed by ``make tools`` into ``tools/node``; system tools come from Debian.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / "tools" / "node" / "node_modules"


def venv_tool(name: str) -> str:
    """A console script installed with the ``test`` extra (hadolint, kubectl, ...)."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        pytest.fail(
            f"{name} not found beside {sys.executable}: run 'make test' (pip install -e '.[test]')"
        )
    return str(path)


def system_tool(name: str, package: str) -> str:
    """A program from a Debian package that ``make tools`` installs when it runs as root."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} not found: run 'make tools' as root, or install Debian's '{package}' package"
        )
    return path


def node_modules() -> Path:
    """The npm schema tooling (``tools/node``), installed by ``make tools``."""
    if not (NODE_MODULES / ".installed").exists():
        pytest.fail(f"{NODE_MODULES} is not installed: run 'make tools' (needs node and npm)")
    return NODE_MODULES
