"""Runs the real CLI in its own process with a scripted fake source plugged in.

``python -m tests.support.harness SCENARIO [exporter flags...]`` lets process-level tests
(signals, exit codes, log lines) run before and beside the real sources. Scenarios:
``ok`` (every poll succeeds), ``fail`` (every poll is refused with 401), ``hang`` (the first
poll succeeds, every later one hangs until cancelled).
"""

from __future__ import annotations

import sys

from exporter.cli import main
from exporter.errors import AuthError
from tests.support.fakes import FakeSnapshot, FakeSource, Step, hang, spec_for

SCENARIOS: dict[str, list[Step]] = {
    "ok": [FakeSnapshot({"up": 1}, sessions=1)],
    "fail": [AuthError("list_sessions: HTTP 401")],
    "hang": [FakeSnapshot({"up": 1}, sessions=1), hang],
}

if __name__ == "__main__":
    source = FakeSource(SCENARIOS[sys.argv[1]], interval=0.2)
    raise SystemExit(main(sys.argv[2:], specs=[spec_for(source)]))
