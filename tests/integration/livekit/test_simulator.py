"""The real exporter against the simulated LiveKit Cloud Analytics API, over loopback sockets.

Every exported LiveKit value is compared with the simulator's world at the same instant:
across several pages, with details, with the cap, as the world moves, under a small request
budget, with hostile ids, and with faults switched on one at a time.
"""

from __future__ import annotations

from collections.abc import Sequence

import jwt
import pytest
from prometheus_client.parser import text_string_to_metric_families

from exporter.app import Exporter
from exporter.simulator import Fault, FaultAction, LiveKitSessionTruth
from exporter.sources.livekit.client import path_segment
from tests.support.simulated import (
    exposition,
    livekit_active,
    livekit_listed,
    simulated,
)

pytestmark = pytest.mark.anyio

NS = 1_000_000_000
Samples = dict[str, dict[tuple[str, ...], float]]
SOURCES = ("camera", "microphone", "screen_share", "screen_share_audio")
EGRESS = ("never_started", "active", "ended")


def exported(exporter: Exporter) -> tuple[Samples, Samples]:
    """LiveKit data samples and self-metric samples, by name and sorted-label values; data
    samples without their ``target`` label, which must name the one target on each."""
    data: Samples = {}
    own: Samples = {}
    (target,) = exporter.fleet.targets
    for family in text_string_to_metric_families(exposition(exporter)):
        for sample in family.samples:
            key = tuple(sample.labels[name] for name in sorted(sample.labels))
            if sample.name.startswith("livekit_cloud_"):
                labels = dict(sample.labels)
                assert labels.pop("target") == target.source.target, sample
                key = tuple(labels[name] for name in sorted(labels))
                data.setdefault(sample.name, {})[key] = sample.value
            elif sample.name.startswith("livesession_exporter_"):
                own.setdefault(sample.name, {})[key] = sample.value
    return data, own


def expected(
    project: str,
    active: Sequence[LiveKitSessionTruth],
    *,
    shown: set[str] | None = None,
    details: bool = True,
) -> Samples:
    """What the README's metric tables say the exporter shows for these sessions of the world."""
    out: Samples = {
        "livekit_cloud_sessions_active": {(project,): len(active)},
        "livekit_cloud_participants_active": {
            (project,): sum(t.num_active_participants for t in active)
        },
        "livekit_cloud_egress_active": {(project,): sum(t.egress == 1 for t in active)},
        "livekit_cloud_publishers": {
            (project, source): sum(t.publishers()[source] for t in active) if details else 0
            for source in SOURCES
        },
    }

    def put(name: str, key: tuple[str, ...], value: float) -> None:
        out.setdefault(f"livekit_cloud_session_{name}", {})[key] = value

    for t in active:
        if shown is not None and t.session_id not in shown:
            continue
        labels = (project, t.room_name, t.session_id)
        put("participants_active", labels, t.num_active_participants)
        put("participants", labels, t.num_participants)
        put("bandwidth_bytes_total", ("incoming", *labels), t.bandwidth_in)
        put("bandwidth_bytes_total", ("outgoing", *labels), t.bandwidth_out)
        put("start_timestamp_seconds", labels, t.created_at_ns / NS)
        put("last_active_timestamp_seconds", labels, t.last_active_ns / NS)
        for code, state in enumerate(EGRESS):
            put("egress_status", (*labels, state), float(t.egress == code))
        if not details:
            continue
        for source, count in t.publishers().items():
            put("publishers", (*labels, source), count)
        if t.billable_bandwidth:
            put("billable_bandwidth_bytes_total", labels, t.billable_bandwidth)
        if t.connection_minutes:
            put("connection_seconds_total", labels, t.connection_minutes * 60)
    return out


def own(samples: Samples, name: str, *extra: str) -> float | None:
    """A self-metric of the LiveKit target (labels after source/target in sorted order)."""
    for key, value in samples.get(f"livesession_exporter_{name}", {}).items():
        if "livekit_cloud" in key and all(part in key for part in extra):
            return value
    return None


async def test_every_value_equals_the_world_across_pages() -> None:
    """Over many list pages, with details, every LiveKit series equals the world's truth."""
    async with (
        simulated(livekit_sessions=60) as rig,
        rig.exporter("livekit", "--livekit.page-size", "7") as ex,
    ):
        assert await ex.poll_all_once()
        data, metrics = exported(ex)
        active = livekit_active(rig.sim)
        assert len(active) > 20
        assert data == expected(rig.endpoints.livekit_project_id, active)
        pages = rig.sim.log.for_endpoint("livekit.list")
        assert len(pages) == len(livekit_listed(rig.sim)) // 7 + 1 > 3
        assert [p.query_string.split("page=")[1].split("&")[0] for p in pages] == [
            str(i) for i in range(len(pages))
        ]
        details = rig.sim.log.for_endpoint("livekit.details")
        assert sorted(r.raw_path.rsplit("/", 1)[1] for r in details) == sorted(
            path_segment(t.session_id) for t in active
        )
        assert own(metrics, "source_up") == 1
        assert own(metrics, "sessions_omitted") == 0
        assert own(metrics, "records_skipped_total", "invalid") == 0
        assert own(metrics, "token_expiry_timestamp_seconds") == int(rig.clock.time()) + 600


async def test_snake_case_responses_give_the_same_values() -> None:
    """A simulator answering in snake_case (as old docs showed) yields the same series."""
    async with (
        simulated(livekit_sessions=25, livekit_snake_case=True) as rig,
        rig.exporter("livekit") as ex,
    ):
        assert await ex.poll_all_once()
        data, _ = exported(ex)
        assert data == expected(rig.endpoints.livekit_project_id, livekit_active(rig.sim))


async def test_the_cap_keeps_the_busiest_sessions_of_the_world() -> None:
    """max-sessions keeps the world's busiest sessions; the rest are omitted, aggregates exact."""
    async with (
        simulated(livekit_sessions=40) as rig,
        rig.exporter("livekit", "--livekit.max-sessions", "5") as ex,
    ):
        assert await ex.poll_all_once()
        data, metrics = exported(ex)
        active = livekit_active(rig.sim)
        busiest = sorted(active, key=lambda t: (-t.num_active_participants, t.session_id))[:5]
        shown = {t.session_id for t in busiest}
        assert data == expected(rig.endpoints.livekit_project_id, active, shown=shown)
        assert own(metrics, "sessions_omitted") == len(active) - 5


async def test_values_follow_the_world_and_ended_sessions_vanish() -> None:
    """After the world moves on, the next poll equals the new truth; ended sessions are gone."""
    async with simulated(livekit_sessions=30) as rig, rig.exporter("livekit") as ex:
        assert await ex.poll_all_once()
        before = {t.session_id for t in livekit_active(rig.sim)}
        await rig.advance(3 * 3600)
        assert await ex.poll_all_once()
        data, _ = exported(ex)
        after = livekit_active(rig.sim)
        assert before - {t.session_id for t in after}, "some sessions ended meanwhile"
        assert data == expected(rig.endpoints.livekit_project_id, after)


async def test_a_small_budget_refreshes_details_round_robin() -> None:
    """With budget for 3 details a poll, polls stay within the bucket, every session is
    refreshed once before any twice, and then every value equals the world."""
    async with simulated(livekit_sessions=14, seed=5, still=True) as rig:
        flags = ("--livekit.requests-per-minute", "120", "--livekit.poll-interval", "2s")
        async with rig.exporter("livekit", *flags) as ex:
            active = livekit_active(rig.sim)
            rounds = -(-len(active) // 3)
            for _ in range(rounds):
                before = len(rig.sim.log)
                assert await ex.poll_all_once()
                assert len(rig.sim.log) - before == 4  # the bucket holds 4 tokens a poll
                await rig.advance(2.0)  # the exporter's time; the world stands still
            fetched = [r.raw_path for r in rig.sim.log.for_endpoint("livekit.details")]
            assert len(fetched) == 3 * rounds
            assert len(set(fetched[: len(active)])) == len(active)
            data, _ = exported(ex)
            assert data == expected(rig.endpoints.livekit_project_id, active)


async def test_hostile_ids_and_names_stay_in_the_sessions_path() -> None:
    """Session ids with /, .., %, spaces and unicode are one encoded path segment each; room
    names with quotes, backslashes and newlines export intact."""
    hostile = ["..", "../../other", "a/b", "100%", "%2F", "with space", "会议 ☕"]
    async with simulated(livekit_sessions=3) as rig:
        for index, session_id in enumerate(hostile):
            room = f'room "{index}" \\ line\nbreak ✓' + "x" * (1000 if index == 0 else 0)
            rig.sim.livekit.add_session(session_id=session_id, room_name=room)
        async with rig.exporter("livekit") as ex:
            assert await ex.poll_all_once()
            data, _ = exported(ex)
            assert data == expected(rig.endpoints.livekit_project_id, livekit_active(rig.sim))
    endpoints = {r.endpoint for r in rig.sim.log}
    assert endpoints == {"livekit.list", "livekit.details"}
    paths = {r.raw_path for r in rig.sim.log.for_endpoint("livekit.details")}
    base = f"/api/project/{rig.endpoints.livekit_project_id}/sessions/"
    assert {base + path_segment(session_id) for session_id in hostile} <= paths


@pytest.mark.parametrize(
    ("endpoint", "fault", "reason"),
    [
        ("livekit.list", Fault(status=503), "server_error"),
        ("livekit.list", Fault(status=400), "client_error"),
        ("livekit.list", Fault(FaultAction.INVALID_JSON), "invalid_response"),
        ("livekit.list", Fault(FaultAction.WRONG_SHAPE), "invalid_response"),
        ("livekit.list", Fault(FaultAction.RESET), "connection"),
        ("livekit.list", Fault.oversized(33), "invalid_response"),
        ("livekit.details", Fault(status=500), "server_error"),
        ("livekit.details", Fault(FaultAction.INVALID_JSON), "invalid_response"),
        ("livekit.details", Fault(FaultAction.CLOSE), "connection"),
    ],
)
async def test_faults_fail_the_poll_with_their_reason(
    endpoint: str, fault: Fault, reason: str
) -> None:
    """Each injected fault fails the poll with its reason and source_up 0."""
    async with simulated(livekit_sessions=10) as rig, rig.exporter("livekit") as ex:
        rig.sim.faults.set(endpoint, fault)
        assert not await ex.poll_all_once()
        _, metrics = exported(ex)
        assert own(metrics, "source_up") == 0
        assert own(metrics, "source_poll_errors_total", reason) == 1


async def test_a_hanging_request_times_out() -> None:
    """A request that never gets an answer fails the poll as timeout after --poll.timeout."""
    async with (
        simulated(livekit_sessions=5) as rig,
        rig.exporter("livekit", "--poll.timeout", "200ms") as ex,
    ):
        rig.sim.faults.set("livekit.list", Fault(FaultAction.HANG))
        assert not await ex.poll_all_once()
        _, metrics = exported(ex)
        assert own(metrics, "source_poll_errors_total", "timeout") == 1


@pytest.mark.parametrize("endpoint", ["livekit.list", "livekit.details"])
async def test_one_malformed_record_costs_only_itself(endpoint: str) -> None:
    """A record of the wrong shape among good ones is skipped and counted; the good ones
    export exactly as the world says."""
    async with simulated(livekit_sessions=12) as rig, rig.exporter("livekit") as ex:
        rig.sim.faults.set(endpoint, Fault(FaultAction.MALFORMED_RECORD, count=1))
        assert await ex.poll_all_once()
        data, metrics = exported(ex)
        assert data == expected(rig.endpoints.livekit_project_id, livekit_active(rig.sim))
        assert own(metrics, "records_skipped_total", "invalid") == 1


async def test_tokens_are_short_lived_and_verified_by_the_simulator() -> None:
    """Requests carry HS256 roomList tokens with the configured TTL, accepted by the server."""
    async with (
        simulated(livekit_sessions=3) as rig,
        rig.exporter("livekit", "--livekit.token-ttl", "2m") as ex,
    ):
        assert await ex.poll_all_once()
    (request,) = rig.sim.log.for_endpoint("livekit.list")
    token = (request.header("authorization") or "").removeprefix("Bearer ")
    claims = jwt.decode(
        token,
        rig.endpoints.livekit_api_secret,
        algorithms=["HS256"],
        options={"verify_exp": False, "verify_nbf": False},
    )
    assert claims["exp"] - int(rig.clock.time()) == 120
    assert claims["iss"] == rig.endpoints.livekit_api_key
    assert request.status == 200
