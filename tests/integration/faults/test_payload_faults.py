"""Fault matrix, payloads: bodies that are not JSON or not the right shape, one bad record
among good ones, and bodies over the 32 MiB cap (finite, and endless).

The real exporter process against the in-thread simulator; the source not under fault is
guarded on every scrape (see :mod:`.rig`).
"""

from __future__ import annotations

from exporter.simulator import Fault, FaultAction
from exporter.sources.upstream import MAX_BODY_BYTES
from tests.integration.faults.rig import (
    LIVEKIT,
    LIVEPEER,
    fault_rig,
    frozen_world,
    live_world,
    livekit_active,
    livepeer_active,
    memory_kib,
)
from tests.integration.faults.scrape import Exposition

MIB = 1024 * 1024
WINDOW = "24h"
"""Active window and recording lookback for frozen worlds: far from any session's lastSeen
age, so the exporter's moving clock cannot flip a session between active and not."""


def test_invalid_json_and_the_wrong_shape_fail_as_invalid_response() -> None:
    """A cut-short body, or JSON of the wrong top-level type, from either API (and from a
    LiveKit details call) fails that poll as invalid_response; the next poll recovers."""
    steps = [
        ("livekit.list", LIVEKIT, FaultAction.INVALID_JSON),
        ("livekit.list", LIVEKIT, FaultAction.WRONG_SHAPE),
        ("livekit.details", LIVEKIT, FaultAction.INVALID_JSON),
        ("livepeer.list", LIVEPEER, FaultAction.INVALID_JSON),
        ("livepeer.list", LIVEPEER, FaultAction.WRONG_SHAPE),
    ]
    with fault_rig(live_world(), "--poll.interval=500ms") as rig:
        expected = {LIVEKIT: 0.0, LIVEPEER: 0.0}
        for endpoint, source, action in steps:
            other = LIVEPEER if source == LIVEKIT else LIVEKIT
            rig.guard(other)
            rig.sim.faults.set(endpoint, Fault(action, count=1))
            expected[source] += 1

            def failed(m: Exposition, source: str = source) -> bool:
                return rig.errors(m, source, "invalid_response") == expected[source]

            m = rig.wait(failed, what=f"{action.value} on {endpoint} to fail a poll")
            assert rig.stat(m, "source_up", source) == 0
            assert rig.errors(m, source) == expected[source]

            def recovered(m: Exposition, source: str = source) -> bool:
                return rig.up(m, source)

            rig.wait(recovered, what=f"{source} to recover")
        events = rig.exporter.events("poll_failed")
        assert len(events) == len(steps)
        assert {e["reason"] for e in events} == {"invalid_response"}


def test_one_malformed_record_is_skipped_and_the_good_ones_exported() -> None:
    """A list page with one record of the wrong shape: the poll succeeds, every good session
    is exported, and records_skipped_total{reason="invalid"} counts exactly the one."""
    flags = (f"--livepeer.active-window={WINDOW}", f"--livepeer.recording-lookback={WINDOW}")
    with fault_rig(frozen_world(), *flags, guard=[LIVEKIT, LIVEPEER]) as rig:
        livekit_ids = {s.session_id for s in livekit_active(rig.sim)}
        livepeer_ids = {s.id for s in livepeer_active(rig.sim, 24 * 3600)}
        assert livekit_ids
        assert livepeer_ids
        lists = {LIVEKIT: "livekit.list", LIVEPEER: "livepeer.list"}
        m = rig.scrape()
        polls = {source: rig.stat(m, "source_polls_total", source) or 0 for source in lists}
        for endpoint in lists.values():
            rig.sim.faults.set(endpoint, Fault(FaultAction.MALFORMED_RECORD, count=1))

        def met(m: Exposition) -> bool:
            # poll n + 2 has started, so the one that met the fault (n or n + 1) has ended
            return all(
                (rig.stat(m, "source_polls_total", source) or 0) >= polls[source] + 2
                and rig.sim.faults.remaining(endpoint) == 0
                for source, endpoint in lists.items()
            )

        m = rig.wait(met, what="a malformed record in each list, and a poll after")
        for source in lists:
            assert rig.stat(m, "records_skipped_total", source, reason="invalid") == 1
            assert rig.stat(m, "records_skipped_total", source, reason="duplicate") == 0
        m = rig.scrape()
        exported_livekit = {
            s.labels["session_id"] for s in m.samples("livekit_cloud_session_participants")
        }
        exported_livepeer = {
            s.labels["session_id"] for s in m.samples("livepeer_studio_session_info")
        }
        assert exported_livekit == livekit_ids
        assert exported_livepeer == livepeer_ids
        project = rig.targets[LIVEKIT]
        assert m.value("livekit_cloud_sessions_active", project=project) == len(livekit_ids)
        assert m.total("livepeer_studio_sessions_active") == len(livepeer_ids)


def test_an_oversized_or_endless_body_is_aborted_and_memory_stays_bounded() -> None:
    """A body declared over the cap, and an endless one, each fail a poll as
    invalid_response, the connection is dropped, and the exporter's peak memory grows by
    far less than the bytes sent."""
    assert MAX_BODY_BYTES == 32 * MIB  # the cap the README documents
    with fault_rig(live_world(), guard=[LIVEKIT]) as rig:
        pid = rig.exporter.process.pid
        before = memory_kib(pid)
        rig.sim.faults.set("livepeer.list", Fault.oversized(40, count=1))
        rig.wait(lambda m: rig.errors(m, LIVEPEER, "invalid_response") == 1, what="40 MiB body")
        rig.wait(lambda m: rig.up(m, LIVEPEER), what="recovery")
        rig.sim.faults.set("livepeer.list", Fault.oversized(None, count=2))
        m = rig.wait(
            lambda m: rig.errors(m, LIVEPEER, "invalid_response") == 3,
            within=30,
            what="two endless bodies",
        )
        after = memory_kib(pid)
        assert rig.errors(m, LIVEPEER) == 3
        assert rig.stat(m, "source_up", LIVEPEER) == 0
        faulty = [r for r in rig.requests(LIVEPEER) if r.fault]
        assert [r.outcome for r in faulty] == ["abandoned"] * 3
        grew_mib = (after["VmHWM"] - before["VmHWM"]) / 1024
        assert grew_mib < 64, f"peak memory grew by {grew_mib:.0f} MiB"
        rss_mib = (after["VmRSS"] - before["VmRSS"]) / 1024
        assert rss_mib < 48, f"resident memory grew by {rss_mib:.0f} MiB and stayed"
        events = rig.failed_events(LIVEPEER)
        assert all("cap" in e["error"] for e in events), events
