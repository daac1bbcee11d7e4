"""What a benchmark reports, summary statistics, and the machine it ran on.

A :class:`Result` is one row of ``RESULTS.md``: a target from quality.md and the measured
value, judged pass or fail, or an informational row (``passed`` None) that explains a number.
"""

from __future__ import annotations

import math
import os
import platform
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Machine", "Result", "fmt_ms", "machine", "median", "percentile"]


@dataclass(frozen=True, slots=True)
class Result:
    """One row: a benchmark, its target, what was measured, and the verdict."""

    group: str
    name: str
    target: str
    measured: str
    passed: bool | None
    """None for a row that explains another one rather than meeting a target."""

    @property
    def verdict(self) -> str:
        if self.passed is None:
            return "info"
        return "pass" if self.passed else "**FAIL**"


@dataclass(frozen=True, slots=True)
class Machine:
    """Where the numbers come from."""

    cpu: str
    cores: int
    python: str
    system: str
    load: tuple[float, float, float]


def machine() -> Machine:
    """CPU model (``/proc/cpuinfo``), usable cores, Python, kernel, and the load average now."""
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.partition(":")[2].strip()
                break
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return Machine(
        cpu=cpu,
        cores=cores or 1,
        python=f"{platform.python_implementation()} {platform.python_version()}",
        system=f"{platform.system()} {platform.release()} {platform.machine()}",
        load=os.getloadavg(),
    )


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0-100), nearest rank: a value that was actually measured."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def fmt_ms(seconds: float) -> str:
    """Milliseconds with a precision that suits the size."""
    ms = seconds * 1000
    if ms >= 100:
        return f"{ms:.0f} ms"
    if ms >= 10:
        return f"{ms:.1f} ms"
    return f"{ms:.2f} ms"
