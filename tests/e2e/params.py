"""Parametrization that cannot pass vacuously.

pytest skips a test whose parameter list is empty; here an empty list becomes one case,
``None``, that the test fails with the reason (a missing dashboard or rule file).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import pytest

__all__ = ["cases", "present"]

T = TypeVar("T")


def cases(items: Sequence[T], ident: Callable[[T], str], missing: str) -> list[Any]:
    """``items`` as pytest params named by ``ident``, or a single failing ``None`` case."""
    if not items:
        return [pytest.param(None, id=f"MISSING: {missing}")]
    return [pytest.param(item, id=ident(item)) for item in items]


def present(item: T | None, missing: str) -> T:
    """``item``, or a test failure saying what is missing."""
    if item is None:
        pytest.fail(missing)
    return item
