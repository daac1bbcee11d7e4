"""The Livepeer source against the simulator over real sockets: the world's expected output.

Tests run the simulator and an exporter with the Livepeer source in-process on one fake clock
(:mod:`tests.support.simulated`) and poll at chosen instants. :func:`expected` derives, from
the simulator's ground truth and straight from the metric contract, every ``livepeer_studio_*``
sample the exporter should expose; it shares no code with the source, so it checks the source
rather than repeating it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from exporter.app import Exporter
from exporter.simulator import LivepeerSessionPlan, LivepeerSessionTruth, StreamPlan
from tests.support.simulated import Simulated, exposition

Sample = tuple[str, tuple[tuple[str, str], ...]]
STATES = ("waiting", "ready", "failed", "deleted", "none")
WINDOW = 90.0
LOOKBACK = 6 * 3600.0


def sample(name: str, **labels: str) -> Sample:
    return (name, tuple(sorted(labels.items())))


def exported(text: str, target: str = "default") -> dict[Sample, float]:
    """Every ``livepeer_studio_*`` sample of an exposition, by name and labels but ``target``,
    which must be ``target`` on every one."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name.startswith("livepeer_studio_"):
                labels = dict(s.labels)
                assert labels.pop("target") == target, s
                out[sample(s.name, **labels)] = s.value
    return out


def expected(
    truths: Iterable[LivepeerSessionTruth],
    now: float,
    projects: Iterable[str],
    *,
    window: float = WINDOW,
    lookback: float = LOOKBACK,
) -> dict[Sample, float]:
    """What metrics.md says the exporter shows for the world ``truths`` at ``now``."""
    out: dict[Sample, float] = {}
    now_ms = now * 1000
    totals = {p: {"health": [0, 0, 0], "in": 0.0, "out": 0.0, "rec": dict.fromkeys(STATES, 0)}
              for p in projects}  # fmt: skip
    for t in truths:
        project = t.project_id or ""
        ids = {"project": project, "stream_id": t.parent_id, "stream_name": t.stream.name,
               "session_id": t.id}  # fmt: skip
        active = t.last_seen > 0 and now_ms - t.last_seen <= window * 1000
        tracked = t.record and t.last_seen > 0 and now_ms - t.last_seen <= lookback * 1000
        total: Any = totals[project]
        if active:
            healthy = t.is_healthy if isinstance(t.is_healthy, bool) else None
            total["health"][{True: 0, False: 1, None: 2}[healthy]] += 1
            total["in"] += t.ingest_rate
            total["out"] += t.outgoing_rate
            if healthy is not None:
                out[sample("livepeer_studio_session_healthy", **ids)] = float(healthy)
            issues = len(t.issues) if isinstance(t.issues, tuple) else 0
            per_session = {
                "issues": issues,
                "ingest_rate_bytes_per_second": t.ingest_rate,
                "outgoing_rate_bytes_per_second": t.outgoing_rate,
                "source_bytes_total": t.source_bytes,
                "transcoded_bytes_total": t.transcoded_bytes,
                "source_segments_total": t.source_segments,
                "transcoded_segments_total": t.transcoded_segments,
                "source_duration_seconds_total": t.source_segments_duration,
                "transcoded_duration_seconds_total": t.transcoded_segments_duration,
                "start_timestamp_seconds": t.created_at / 1000,
                "last_seen_timestamp_seconds": t.last_seen / 1000,
            }
            for name, value in per_session.items():
                out[sample(f"livepeer_studio_session_{name}", **ids)] = float(value)
        if tracked:
            status = t.recording_status or "waiting"
            total["rec"][status] += 1
            for state in STATES:
                out[sample("livepeer_studio_session_recording_status", **ids, status=state)] = (
                    1.0 if state == status else 0.0
                )
        if active or tracked:
            record = "true" if t.record else "false"
            info = sample("livepeer_studio_session_info", **ids, playback_id=t.playback_id,
                          record=record)  # fmt: skip
            out[info] = 1.0
    for project, total in totals.items():
        for health, count in zip(("healthy", "unhealthy", "unknown"), total["health"], strict=True):
            out[sample("livepeer_studio_sessions_active", project=project, health=health)] = count
        out[sample("livepeer_studio_ingest_rate_bytes_per_second", project=project)] = total["in"]
        out[sample("livepeer_studio_outgoing_rate_bytes_per_second", project=project)] = total[
            "out"
        ]
        for status, count in total["rec"].items():
            out[sample("livepeer_studio_recordings", project=project, status=status)] = count
    return out


def values(exporter: Exporter) -> dict[Sample, float]:
    """Every ``livepeer_studio_*`` sample the exporter exposes now (of its one target)."""
    (target,) = exporter.fleet.targets
    return exported(exposition(exporter), target.source.target)


def world(rig: Simulated, **windows: float) -> dict[Sample, float]:
    """The expected samples for the world as it is now."""
    truths = rig.sim.livepeer.sessions(at=rig.now)
    return expected(truths, rig.now, [rig.sim.livepeer.project_id], **windows)


def scripted(
    rig: Simulated, sid: str, *, started: float, ended: float | None = None, **plan: Any
) -> LivepeerSessionPlan:
    """Add a session of its own parent stream, ``started``/``ended`` seconds from now."""
    now_ms = int(rig.now * 1000)
    record = bool(plan.pop("record", False))
    project = rig.sim.livepeer.project_id
    parent = StreamPlan(
        id=f"stream-{sid}",
        name=f'scripted {sid} "quoted" \\ back',
        stream_key=f"STREAMKEY-{sid}-must-never-leak",
        playback_id=f"pb{sid}",
        user_id=rig.sim.livepeer.user_id,
        project_id=project,
        created_at_ms=now_ms - 86_400_000,
        record=record,
    )
    return rig.sim.livepeer.add_session(
        LivepeerSessionPlan(
            id=sid,
            name=f"video+pb{sid}",
            stream=parent,
            started_at_ms=now_ms + int(started * 1000),
            ended_at_ms=None if ended is None else now_ms + int(ended * 1000),
            project_id=project,
            user_id=rig.sim.livepeer.user_id,
            record=record,
            **plan,
        )
    )
