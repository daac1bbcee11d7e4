"""Every kind of source this build can poll: adding a source is one line here.

The order is the order of their flags in ``--help`` and of their settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from exporter.config.flags import Flag, flag_table
from exporter.sources import livekit, livepeer
from exporter.sources.base import SourceSpec

__all__ = ["SOURCES", "all_flags", "secret_envs"]

SOURCES: Final[tuple[SourceSpec[Any], ...]] = (livekit.SPEC, livepeer.SPEC)


def all_flags(specs: Sequence[SourceSpec[Any]] = SOURCES) -> tuple[Flag[object], ...]:
    """Every flag of a process polling ``specs``, in ``--help`` order."""
    return flag_table(spec.flags for spec in specs)


def secret_envs(specs: Sequence[SourceSpec[Any]] = SOURCES) -> tuple[str, ...]:
    """Every variable a secret of ``specs`` may be read from, for ``--help``."""
    return tuple(env for spec in specs for secret in spec.secrets for env in secret.envs)
