"""At start the reload self-metrics already exist (targets.md, "Precise points"): successful
1, the success timestamp the start time, no reload of either result counted, and the hash of
the loaded file (0 without one)."""

from __future__ import annotations

import time

from tests.integration.reload.rig import LIVEKIT, LIVEPEER, Rig, metrics, polled
from tests.support.processes import ExporterProcess, simulator_env

RELOADS = "livesession_exporter_config_reloads_total"
SUCCESSFUL = "livesession_exporter_config_last_reload_successful"
SUCCESS_TIME = "livesession_exporter_config_last_reload_success_timestamp_seconds"
HASH = "livesession_exporter_config_hash"


def test_with_a_file_the_reload_metrics_start_at_success_and_the_file_hash(rig: Rig) -> None:
    rig.write(rig.livekit("a", 0), rig.livepeer("pa", 0))
    launched = time.time()
    with rig.exporter() as exporter:
        started = time.time()
        m = metrics(exporter)
        assert m.value(SUCCESSFUL) == 1
        assert launched - 1 <= (m.value(SUCCESS_TIME) or 0) <= started + 1
        assert m.value(RELOADS, result="success") == 0
        assert m.value(RELOADS, result="failure") == 0
        file_hash = m.value(HASH)
        assert file_hash is not None
        assert file_hash != 0
        # nothing moves them while the targets poll: a start is not a reload
        polled(exporter, LIVEKIT, "a", polls=2)
        later = polled(exporter, LIVEPEER, "pa", polls=2)
        for name in (SUCCESSFUL, SUCCESS_TIME, HASH):
            assert later.value(name) == m.value(name), name
        assert later.value(RELOADS, result="success") == 0


def test_the_same_file_content_gives_the_same_hash_and_another_a_different_one(
    rig: Rig,
) -> None:
    """The hash is derived from the file's content: a restart on the same file shows the same
    number, another file a different one."""
    a = rig.livekit("a", 0)
    rig.write(a)
    hashes = []
    for _ in range(2):
        with rig.exporter() as exporter:
            hashes.append(metrics(exporter).value(HASH))
    rig.write(a.with_keys(max_sessions="5"))
    with rig.exporter() as exporter:
        hashes.append(metrics(exporter).value(HASH))
    assert hashes[0] == hashes[1]
    assert hashes[2] != hashes[0]


def test_without_a_file_the_hash_is_zero(rig: Rig) -> None:
    launched = time.time()
    with ExporterProcess(["--poll.interval=1s"], simulator_env(rig.endpoints)) as exporter:
        m = metrics(exporter)
        assert m.value(HASH) == 0
        assert m.value(SUCCESSFUL) == 1
        assert launched - 1 <= (m.value(SUCCESS_TIME) or 0) <= time.time() + 1
        assert m.value(RELOADS, result="success") == 0
        assert m.value(RELOADS, result="failure") == 0
