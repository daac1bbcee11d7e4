"""Run the benchmarks and write ``bench/RESULTS.md``.

``python -m bench`` runs every group and rewrites the results file; ``python -m bench scrape
poll`` runs the named groups only and prints their table without touching the file. A broken
benchmark raises (each asserts its own set-up), and the file is then left as it was.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from bench import memory, poll_cpu, poll_latency, scrape, secured, targets
from bench.results import Machine, Result, machine

__all__ = ["GROUPS", "main", "render"]

GROUPS: Final[dict[str, tuple[Callable[[], list[Result]], ...]]] = {
    "scrape": (scrape.run,),
    "poll": (poll_cpu.run, poll_latency.run),
    "memory": (memory.run,),
    "targets": (targets.run,),
    "secured": (secured.run,),
}
RESULTS: Final = Path(__file__).with_name("RESULTS.md")
COMMAND: Final = ".venv/bin/python -m bench"
BUSY_LOAD: Final = 0.5
"""A 1-minute load average above this at the start means other work shared the CPUs."""


def render(
    results: Sequence[Result], before: Machine, after: Machine, started: datetime, seconds: float
) -> str:
    """The results file: machine, date, command, then one table row per result."""
    lines = [
        "# Benchmark results",
        "",
        'Written by `bench/run.py`; do not edit by hand. Targets: quality.md, "Speed and',
        'memory". How each number is measured: [README.md](README.md).',
        "",
        "| | |",
        "| --- | --- |",
        f"| date | {started:%Y-%m-%d %H:%M} UTC |",
        f"| command | `{COMMAND}` (or `make bench`), from the repository root; {seconds:.0f} s |",
        f"| CPU | {before.cpu}, {before.cores} cores usable |",
        f"| Python | {before.python} |",
        f"| system | {before.system} |",
        f"| load average (1, 5, 15 min) | before {_load(before)}; after {_load(after)} |",
        "",
    ]
    if before.load[0] > BUSY_LOAD or after.load[0] > BUSY_LOAD:
        lines += [
            f"> Other processes were using the CPUs during this run (load average above "
            f"{BUSY_LOAD:g} on {before.cores} cores), so these numbers are noisy; rerun on a "
            "quiet machine before trusting a verdict that is close to its limit.",
            "",
        ]
    lines += [
        "| group | benchmark | target | measured | result |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {r.group} | {r.name} | {r.target} | {r.measured} | {r.verdict} |" for r in results
    ]
    failed = [r for r in results if r.passed is False]
    passed = [r for r in results if r.passed]
    lines += ["", f"{len(passed)} targets met, {len(failed)} missed.", ""]
    return "\n".join(lines)


def _load(m: Machine) -> str:
    return ", ".join(f"{value:.2f}" for value in m.load)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "groups",
        nargs="*",
        metavar="GROUP",
        help=f"{', '.join(GROUPS)}: run these only (default: all, and rewrite RESULTS.md)",
    )
    args = parser.parse_args(argv)
    if unknown := sorted(set(args.groups) - set(GROUPS)):
        parser.error(f"unknown group {', '.join(unknown)}; choose from {', '.join(GROUPS)}")
    names: list[str] = args.groups or list(GROUPS)
    started, before, clock = datetime.now(UTC), machine(), time.monotonic()
    results: list[Result] = []
    for name in names:
        for benchmark in GROUPS[name]:
            print(f"running {benchmark.__module__} ...", flush=True)
            results += benchmark()
    text = render(results, before, machine(), started, time.monotonic() - clock)
    print(text)
    if not args.groups:
        RESULTS.write_text(text)
        print(f"wrote {RESULTS}")
    return 0
