"""What a valid reload does to each target, matched by identity (targets.md, "Reload"):

- unchanged: loop, token and counters untouched, no extra request;
- removed or ``enabled: false``: the loop stops, and its data and self-metric series are gone
  from the very next scrape;
- settings changed: the loop restarts with the new settings, the last good data is served
  until the next poll replaces it, and counters continue.
"""

from __future__ import annotations

import itertools
import time

import pytest

from exporter.config.targets import spread
from exporter.simulator import Fault
from tests.integration.reload.rig import (
    AGGREGATE,
    LIVEKIT,
    LIVEPEER,
    Rig,
    livepeer_identity,
    metrics,
    polled,
    reload,
    series_of,
    stat,
)
from tests.support.processes import wait_for

LIFECYCLE = "--web.enable-lifecycle"
INFO = "livesession_exporter_target_info"
PER_SESSION = "livekit_cloud_session_participants"


def test_a_reload_that_adds_a_target_leaves_the_others_untouched(rig: Rig) -> None:
    """A reload in the middle of a's interval that only adds b: a polls on its old schedule
    (no extra request at the reload), with the same token, and its counters go on."""
    interval = 1.5
    a = rig.livekit("a", 0, poll_interval=f"{interval}s")
    rig.write(a)
    with rig.exporter(LIFECYCLE) as exporter:
        before = polled(exporter, LIVEKIT, "a", polls=2)
        lists = rig.livekit_requests(0, "livekit.list")
        # a third into a's interval, well away from its next poll
        time.sleep(max(0.0, lists[-1].received_at + interval / 3 - time.time()))
        rig.write(a, rig.livekit("b", 1), rig.livepeer("pb", 1))
        reloaded_at = time.time()
        assert reloaded_at - lists[-1].received_at < interval * 0.6, "not mid-interval"
        response = reload(exporter)
        assert response.status_code == 200, response.text
        polled(exporter, LIVEKIT, "b")
        polled(exporter, LIVEPEER, "pb")
        wait_for(
            lambda: len(rig.livekit_requests(0, "livekit.list")) >= len(lists) + 1,
            within=interval * 3,
            what="a's next scheduled poll",
        )
        after = polled(
            exporter, LIVEKIT, "a", polls=(stat(before, "source_polls_total", "a") or 0) + 1
        )
        times = [r.received_at for r in rig.livekit_requests(0, "livekit.list")]
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        assert min(gaps) > interval * 0.8, (
            f"a polled {min(gaps):.2f} s after a previous poll (reload at "
            f"{reloaded_at - times[0]:.2f} s, polls at {[round(t - times[0], 2) for t in times]})"
        )
        tokens = {r.header("authorization") for r in rig.livekit_requests(0)}
        assert len(tokens) == 1, "a minted a new token at a reload that did not change it"
        for name in ("token_expiry_timestamp_seconds", "source_polls_total"):
            assert (stat(after, name, "a") or 0) >= (stat(before, name, "a") or 0), name
        assert stat(after, "token_expiry_timestamp_seconds", "a") == stat(
            before, "token_expiry_timestamp_seconds", "a"
        )
        requests = "livesession_exporter_api_requests_total"
        assert after.total(requests, target="a") > before.total(requests, target="a")
        assert after.total(requests, target="a") == len(rig.livekit_requests(0))
        reloaded = wait_for(
            lambda: exporter.event("config_reloaded"), within=5, what="config_reloaded logged"
        )
        assert reloaded["changed"] == [], reloaded
        assert reloaded["removed"] == [], reloaded


@pytest.mark.parametrize("how", ["removed", "disabled"])
def test_a_target_taken_out_loses_every_series_at_once(rig: Rig, how: str) -> None:
    """Removed from the file, or ``enabled: false``: from the very next scrape after the 200,
    no series of any family carries its target label, and its loop no longer polls."""
    a, b, pa = rig.livekit("a", 0), rig.livekit("b", 1), rig.livepeer("pa", 0)
    rig.write(a, b, pa)
    with rig.exporter(LIFECYCLE) as exporter:
        polled(exporter, LIVEKIT, "b")
        m = polled(exporter, LIVEPEER, "pa")
        polled(exporter, LIVEKIT, "a")
        for name in ("b", "pa"):
            families = {s.name for s in series_of(m, name)}
            assert AGGREGATE[LIVEKIT if name == "b" else LIVEPEER] in families
            assert "livesession_exporter_source_polls_total" in families
        if how == "removed":
            rig.write(a)
        else:
            rig.write(a, b.with_keys(enabled="false"), pa.with_keys(enabled="false"))
        response = reload(exporter)
        assert response.status_code == 200, response.text
        counted = (len(rig.livekit_requests(1)), len(rig.livepeer_requests(0)))
        m = metrics(exporter)
        for name in ("b", "pa"):
            left = sorted({s.name for s in series_of(m, name)})
            assert not left, f"{name} is gone from the file but still has series: {left}"
        assert [s.labels["target"] for s in m.samples(INFO)] == ["a"]
        assert m.has(AGGREGATE[LIVEKIT], target="a")
        assert stat(m, "source_up", "a") == 1
        time.sleep(1.5)  # more than an interval: a loop still running would have polled
        assert (len(rig.livekit_requests(1)), len(rig.livepeer_requests(0))) == counted
        m = polled(exporter, LIVEKIT, "a", polls=(stat(m, "source_polls_total", "a") or 0) + 1)
        assert not series_of(m, "b")
        assert not series_of(m, "pa")


def test_changed_settings_restart_the_loop_serving_the_last_data_meanwhile(rig: Rig) -> None:
    """max_sessions and poll_interval changed: until the restarted loop's (slow) first poll
    ends, the last good data is still served; then the new cap applies, the new interval
    paces the polls, and every counter continues from where it was."""
    a = rig.livekit("a", 0, poll_interval="1s")
    rig.write(a)
    with rig.exporter(LIFECYCLE) as exporter:
        before = polled(exporter, LIVEKIT, "a", polls=2)
        sessions = len(before.samples(PER_SESSION, target="a"))
        assert sessions >= 2, "the world needs two active sessions to see the cap"
        rig.write(a.with_keys(max_sessions="1", poll_interval="400ms"))
        rig.sim.faults.set("livekit.list", Fault(latency=1.5))
        response = reload(exporter)
        assert response.status_code == 200, response.text
        reloaded = wait_for(
            lambda: exporter.event("config_reloaded"), within=5, what="config_reloaded logged"
        )
        assert reloaded["changed"] == [f"{LIVEKIT}/a"], reloaded
        deadline = time.monotonic() + 0.8
        while time.monotonic() < deadline:  # the restarted loop's first poll is in flight
            m = metrics(exporter)
            assert len(m.samples(PER_SESSION, target="a")) == sessions, "last data not served"
            assert m.has(AGGREGATE[LIVEKIT], target="a")
            assert stat(m, "source_up", "a") == 1
            for name in ("source_polls_total", "api_requests_total"):
                assert m.total("livesession_exporter_" + name, target="a") >= before.total(
                    "livesession_exporter_" + name, target="a"
                ), f"{name} went back at the restart"
            time.sleep(0.05)
        rig.sim.faults.clear()

        def capped() -> bool:
            m = metrics(exporter)
            return len(m.samples(PER_SESSION, target="a")) == 1

        wait_for(capped, within=5, what="the new max_sessions to apply")
        m = metrics(exporter)
        assert stat(m, "sessions_omitted", "a") == sessions - 1
        polls = stat(m, "source_polls_total", "a") or 0
        assert polls > (stat(before, "source_polls_total", "a") or 0), "polls_total was reset"
        requests = "livesession_exporter_api_requests_total"
        assert m.total(requests, target="a") > before.total(requests, target="a")
        # the new interval paces the polls: at least three lists in the next 1.5 s
        start = len(rig.livekit_requests(0, "livekit.list"))
        time.sleep(1.5)
        assert len(rig.livekit_requests(0, "livekit.list")) - start >= 3


def test_the_first_polls_of_targets_added_together_are_spread(rig: Rig) -> None:
    """Two Livepeer targets added by one reload first poll at the point of their interval
    fixed by their identity (``spread``), not at once; a target added alone polls at once."""
    interval = 3.0
    a = rig.livekit("a", 0)
    pa = rig.livepeer("pa", 0, poll_interval=f"{interval:g}s")
    pb = rig.livepeer("pb", 1, poll_interval=f"{interval:g}s")
    rig.write(a)
    with rig.exporter(LIFECYCLE) as exporter:
        polled(exporter, LIVEKIT, "a")
        rig.write(a, pa, pb)
        asked = time.time()
        assert reload(exporter).status_code == 200
        answered = time.time()
        wait_for(
            lambda: rig.livepeer_requests(0) and rig.livepeer_requests(1),
            within=interval + 2,
            what="the first polls of pa and pb",
        )
        for project in (0, 1):
            identity = livepeer_identity(rig.livepeer_project(project).api_key)
            offset = spread(identity, interval)
            first = rig.livepeer_requests(project)[0].received_at
            # never before its point; late only by how busy the machine is
            assert asked + offset - 0.2 <= first <= answered + offset + 1.0, (
                f"project {project}: first poll {first - asked:.2f} s after the reload, "
                f"expected about {offset:.2f} s"
            )
        # a target added alone polls at once
        rig.write(a, pa, pb, rig.livekit("b", 1, poll_interval="30s"))
        asked = time.time()
        assert reload(exporter).status_code == 200
        polled(exporter, LIVEKIT, "b")
        assert rig.livekit_requests(1)[0].received_at - asked < 1.5


def test_a_renamed_target_moves_its_series_to_the_new_name(rig: Rig) -> None:
    """Same account, another name: the old name's series go, the new name's come."""
    rig.write(rig.livekit("a", 0))
    with rig.exporter(LIFECYCLE) as exporter:
        polled(exporter, LIVEKIT, "a")
        rig.write(rig.livekit("a2", 0))
        assert reload(exporter).status_code == 200
        m = metrics(exporter)
        assert not series_of(m, "a")
        assert m.value(INFO, target="a2", identity=rig.livekit_project(0).project_id) == 1
        m = polled(exporter, LIVEKIT, "a2")
        check = m.samples(AGGREGATE[LIVEKIT])
        assert [s.labels["target"] for s in check] == ["a2"]
