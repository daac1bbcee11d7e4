"""Fault matrix, upstream error statuses: 5xx then recovery, 429 Retry-After, 401/403.

Each test runs the real exporter process against the in-thread simulator with both sources
configured; the source the fault is not aimed at is guarded (see :mod:`.rig`), so every scrape
also proves that its data and the self-metrics stay intact and the process keeps running.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import jwt
import pytest

from exporter.simulator import Fault, RecordedRequest
from tests.integration.faults.rig import (
    INTERVAL,
    LIVEKIT,
    LIVEPEER,
    Rig,
    fault_rig,
    frozen_world,
    live_world,
    livekit_active,
)
from tests.integration.faults.scrape import Exposition
from tests.support.processes import wait_for

STALE_AFTER = 3.0
RETRY_AFTER = 2
WRONG_SECRET = "not-the-secret-the-simulator-knows-0123456789"
ADDED_ROOM = "room-added-during-the-outage"
# Requests of one poll arrive within this of each other; polls at least INTERVAL apart.
SAME_POLL = 0.5
# Times are when the simulator's thread saw a request: scheduling jitter on a busy machine
# moves one by tens of ms (56 ms seen with both cores loaded); far below a real hammering.
CLOCK_SLACK = 0.15


def livekit_data(m: Exposition) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every ``livekit_cloud_*`` sample, by name and labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for name in list(m.names("livekit_cloud_"))
        for s in m.samples(name)
    }


def test_5xx_serves_last_good_data_until_stale_then_recovers_without_restart() -> None:
    """503s: up 0 and server_error grows; last data kept until stale-after, then dropped;
    when the API recovers, up is 1 again with fresh data, in the same process."""
    with fault_rig(frozen_world(), f"--poll.stale-after={STALE_AFTER:g}s", guard=[LIVEPEER]) as rig:
        truth = livekit_active(rig.sim)
        good = rig.wait(
            lambda m: (
                m.value("livekit_cloud_sessions_active", project=rig.targets[LIVEKIT]) == len(truth)
            ),
            what="LiveKit data equal to the world",
        )
        good_data = livekit_data(good)
        pid = rig.exporter.process.pid

        rig.sim.faults.set("livekit.list", Fault(status=503))
        failing = rig.wait(
            lambda m: rig.errors(m, LIVEKIT, "server_error") >= 1, what="a failed poll"
        )
        assert rig.stat(failing, "source_up", LIVEKIT) == 0
        assert rig.errors(failing, LIVEKIT) == rig.errors(failing, LIVEKIT, "server_error")
        event = rig.failed_events(LIVEKIT)[0]
        assert (event["level"], event["target"]) == ("warning", rig.targets[LIVEKIT])
        assert (event["reason"], event["error"]) == ("server_error", "list_sessions: HTTP 503")
        assert event["duration_s"] >= 0

        def dropped(m: Exposition) -> bool:
            last_success = rig.stat(m, "source_last_success_timestamp_seconds", LIVEKIT)
            assert last_success is not None, "last success timestamp went missing"
            age = time.time() - last_success
            if m.has("livekit_cloud_sessions_active"):
                assert livekit_data(m) == good_data, "served data is not the last good data"
                return False
            assert age >= STALE_AFTER - CLOCK_SLACK, f"data dropped {age:.2f} s after success"
            return True

        stale = rig.wait(dropped, within=STALE_AFTER + 10, what="stale data to be dropped")
        assert not list(stale.names("livekit_cloud_"))
        assert rig.stat(stale, "source_up", LIVEKIT) == 0  # self-metrics stay

        rig.wait(lambda m: rig.errors(m, LIVEKIT, "server_error") >= 2, what="errors to grow")
        # the world changes during the outage (the fault answers before the world is read)
        rig.sim.livekit.add_session(room_name=ADDED_ROOM)
        rig.sim.faults.clear("livekit.list")
        fresh = rig.wait(lambda m: rig.up(m, LIVEKIT), within=20, what="recovery")
        project = rig.targets[LIVEKIT]
        assert fresh.value("livekit_cloud_sessions_active", project=project) == len(truth) + 1
        assert fresh.has("livekit_cloud_session_participants", room=ADDED_ROOM)
        assert rig.exporter.process.pid == pid
        assert rig.exporter.returncode is None


@pytest.mark.parametrize(
    ("endpoint", "source", "other"),
    [
        pytest.param("livekit.list", LIVEKIT, LIVEPEER, id="livekit"),
        pytest.param("livepeer.list", LIVEPEER, LIVEKIT, id="livepeer"),
    ],
)
def test_429_retry_after_silences_the_target_for_that_long(
    endpoint: str, source: str, other: str
) -> None:
    """A 429 with Retry-After: N fails the poll as rate_limited and no request reaches that
    API for N seconds, although the poll interval is shorter."""
    with fault_rig(live_world(), guard=[other]) as rig:
        rig.sim.faults.set(endpoint, Fault.rate_limited(RETRY_AFTER, count=1))
        limited = rig.wait(lambda m: rig.errors(m, source, "rate_limited") == 1, what="a 429")
        assert rig.stat(limited, "source_up", source) == 0
        rig.wait(lambda m: rig.up(m, source), within=RETRY_AFTER + 10, what="the next poll")

        (refused,) = [r for r in rig.requests(source) if r.status == 429]
        after = [r for r in rig.requests(source) if r.received_at > refused.received_at]
        assert after, "no request after the 429"
        quiet = after[0].received_at - refused.received_at
        assert quiet >= RETRY_AFTER - CLOCK_SLACK, f"next request after only {quiet:.2f} s"
        assert INTERVAL < RETRY_AFTER  # so the gap is the Retry-After's doing
        (event,) = [e for e in rig.failed_events(source) if e["reason"] == "rate_limited"]
        assert event["retry_after_s"] == RETRY_AFTER
        m = rig.scrape()
        assert rig.stat(m, "api_requests_total", source, endpoint="list_sessions", code="429") == 1


def poll_starts(times: list[float]) -> list[float]:
    """The first request time of each poll, grouping requests that arrive together."""
    starts: list[float] = []
    for t in times:
        if not starts or t - starts[-1] > SAME_POLL:
            starts.append(t)
    return starts


def assert_no_hammering(rig: Rig, source: str, endpoint: str, per_poll: int) -> None:
    """Every failed poll sent ``per_poll`` requests; polls at least an interval apart."""
    times = [r.received_at for r in rig.requests(source, endpoint)]
    starts = poll_starts(times)
    assert len(times) == per_poll * len(starts), f"requests per poll: {times}"
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert gaps, "fewer than two polls"
    assert min(gaps) >= INTERVAL - CLOCK_SLACK, f"polls closer than the interval: {gaps}"
    assert gaps[-1] > INTERVAL * 1.5, f"no backoff after repeated failures: {gaps}"


@pytest.mark.parametrize(
    ("case", "source", "fault", "per_poll"),
    [
        pytest.param("livekit-wrong-secret", LIVEKIT, None, 2, id="livekit-wrong-secret"),
        pytest.param("livekit-scale-plan", LIVEKIT, Fault.scale_plan(), 1, id="livekit-plan-403"),
        pytest.param("livepeer-unknown-key", LIVEPEER, None, 1, id="livepeer-unknown-key"),
    ],
)
def test_auth_failures_are_auth_and_never_hammer(
    case: str, source: str, fault: Fault | None, per_poll: int
) -> None:
    """401/403 fail polls as auth; LiveKit re-mints and retries a 401 once, right away, and
    otherwise each try comes an interval or more after the last, backing off."""
    env = {
        "livekit-wrong-secret": {"LIVEKIT_API_SECRET": WRONG_SECRET},
        "livepeer-unknown-key": {"LIVEPEER_API_KEY": "0b8e3c2a-unknown-key-of-no-project"},
    }.get(case, {})
    other = LIVEPEER if source == LIVEKIT else LIVEKIT
    endpoint = "livekit.list" if source == LIVEKIT else "livepeer.list"
    faults = () if fault is None else ((endpoint, fault),)
    with fault_rig(live_world(faults=faults), up=[other], guard=[other], env=env) as rig:
        m = rig.wait(lambda m: rig.errors(m, source, "auth") >= 3, within=20, what="3 auth fails")
        assert rig.errors(m, source) == rig.errors(m, source, "auth")
        assert rig.stat(m, "source_up", source) == 0
        assert_no_hammering(rig, source, endpoint, per_poll)
        events = rig.failed_events(source)
        assert {e["reason"] for e in events} == {"auth"}
        if case == "livekit-scale-plan":
            assert "Scale plan" in events[-1]["error"]
            assert rig.exporter.event("livekit_plan_required") is not None
        if case == "livekit-wrong-secret":
            refused, retry = rig.requests(LIVEKIT, "livekit.list")[:2]
            first, again = claims(refused), claims(retry)
            assert again["iss"] == first["iss"]
            assert again["exp"] >= first["exp"]


def claims(request: RecordedRequest) -> dict[str, Any]:
    """The claims of the bearer token a LiveKit request carried (signature not checked)."""
    header = request.header("authorization") or ""
    token = header.removeprefix("Bearer ")
    decoded: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return decoded


def test_a_single_401_is_retried_once_with_a_re_minted_token() -> None:
    """A 401 on a token that worked: the same request is sent again at once with a newly
    minted token, the poll succeeds, and the new token is used from then on."""
    with fault_rig(live_world(), guard=[LIVEPEER]) as rig:
        first = rig.requests(LIVEKIT)[0]
        # a token minted in a later second differs from the first one
        wait_for(lambda: time.time() > first.received_at + 1.1, within=5, what="a new second")
        rig.guard(LIVEKIT, LIVEPEER)
        rig.sim.faults.set("livekit.list", Fault(status=401, count=1))
        rig.wait(
            lambda m: (
                rig.stat(m, "api_requests_total", LIVEKIT, endpoint="list_sessions", code="401")
                == 1
                and rig.sim.faults.remaining("livekit.list") == 0
            ),
            what="the 401",
        )
        lists = rig.requests(LIVEKIT, "livekit.list")
        index = next(i for i, r in enumerate(lists) if r.status == 401)
        refused = lists[index]
        rig.wait(lambda m: len(rig.requests(LIVEKIT, "livekit.list")) > index + 2, what="polls")
        retry = rig.requests(LIVEKIT, "livekit.list")[index + 1]
        assert retry.status == 200
        assert retry.received_at - refused.received_at < SAME_POLL
        old, new = refused.header("authorization"), retry.header("authorization")
        assert old != new
        later = {
            r.header("authorization")
            for r in rig.requests(LIVEKIT)
            if r.received_at >= retry.received_at
        }
        assert later == {new}, "the re-minted token is not the one used afterwards"
        m = rig.scrape()
        assert rig.stat(m, "token_expiry_timestamp_seconds", LIVEKIT) == claims(retry)["exp"]
