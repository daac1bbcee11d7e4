"""``/-/reload`` over a real socket (targets.md, "Reload"): served only with
``--web.enable-lifecycle``, POST and PUT reload, GET is 405; a refused reload answers 500
listing the problems (never a secret), changes nothing, and shows in the metrics and one log
line; fixing the file is then accepted.
"""

from __future__ import annotations

import time

import pytest

from tests.integration.reload.rig import (
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
RELOADS = "livesession_exporter_config_reloads_total"
SUCCESSFUL = "livesession_exporter_config_last_reload_successful"
SUCCESS_TIME = "livesession_exporter_config_last_reload_success_timestamp_seconds"
HASH = "livesession_exporter_config_hash"
INFO = "livesession_exporter_target_info"


def test_post_puts_a_new_target_in_force_before_answering(rig: Rig) -> None:
    """A 200 means the new configuration is in force: the added target's ``target_info`` is in
    the very next scrape, and its data series follow its first poll."""
    a = rig.livekit("a", 0)
    rig.write(a)
    with rig.exporter(LIFECYCLE) as exporter:
        polled(exporter, LIVEKIT, "a")
        rig.write(a, rig.livekit("b", 1))
        response = reload(exporter)
        assert response.status_code == 200, response.text
        m = metrics(exporter)
        b_project = rig.livekit_project(1).project_id
        assert m.value(INFO, source=LIVEKIT, target="b") == 1
        assert m.samples(INFO, target="b")[0].labels["identity"] == b_project
        assert m.value(RELOADS, result="success") == 1
        m = polled(exporter, LIVEKIT, "b")
        assert m.value("livekit_cloud_sessions_active", target="b", project=b_project) is not None
        assert m.value("livekit_cloud_sessions_active", target="a") is not None
        assert rig.livekit_requests(1), "b was never polled"


def test_put_reloads_too(rig: Rig) -> None:
    a = rig.livekit("a", 0)
    rig.write(a)
    with rig.exporter(LIFECYCLE) as exporter:
        polled(exporter, LIVEKIT, "a")
        rig.write(a, rig.livepeer("pb", 1))
        response = reload(exporter, "PUT")
        assert response.status_code == 200, response.text
        m = metrics(exporter)
        identity = livepeer_identity(rig.livepeer_project(1).api_key)
        assert m.value(INFO, source=LIVEPEER, target="pb", identity=identity) == 1
        polled(exporter, LIVEPEER, "pb")


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_reading_the_reload_path_is_405_and_reloads_nothing(rig: Rig, method: str) -> None:
    a = rig.livekit("a", 0)
    rig.write(a)
    with rig.exporter(LIFECYCLE) as exporter:
        rig.write(a, rig.livekit("b", 1))
        response = reload(exporter, method)
        assert response.status_code == 405
        m = metrics(exporter)
        assert m.value(RELOADS, result="success") == 0
        assert not m.has(INFO, target="b")


def test_without_lifecycle_the_reload_endpoint_is_not_served(rig: Rig) -> None:
    a = rig.livekit("a", 0)
    rig.write(a)
    with rig.exporter() as exporter:
        rig.write(a, rig.livekit("b", 1))
        for method in ("POST", "PUT"):
            response = reload(exporter, method)
            assert response.status_code != 200
            assert 400 <= response.status_code < 500, response.status_code
        time.sleep(0.3)  # a reload started by mistake would have ended by now
        m = metrics(exporter)
        assert m.value(RELOADS, result="success") == 0
        assert m.value(RELOADS, result="failure") == 0
        assert not m.has(INFO, target="b")
        assert exporter.event("config_reloaded") is None, "a reload ran without the API"


def test_a_refused_reload_changes_nothing_and_fixing_the_file_is_accepted(rig: Rig) -> None:
    """An invalid file: 500 listing each problem, no secret anywhere; the old target keeps
    polling under its old settings; the metrics and one log line show the failure. The fixed
    file is then accepted: successful 1 again, success timestamp and hash move."""
    a = rig.livekit("a", 0)
    rig.write(a)
    with rig.exporter(LIFECYCLE) as exporter:
        before = polled(exporter, LIVEKIT, "a")
        started_hash = before.value(HASH)
        started_at = before.value(SUCCESS_TIME)
        assert started_hash
        assert started_at
        a_secret = rig.livekit_project(0).api_secret
        # b is broken three ways; c pastes a's secret where a path belongs (a common slip)
        b = rig.livekit("b", 1, poll_interval="soon", bogus_key="1")
        c = rig.livekit("c", 1, api_secret_file=a_secret)
        rig.write(a, b, c)
        response = reload(exporter)
        assert response.status_code == 500, response.text
        body = response.text
        for needle in ("poll_interval", "bogus_key", "api_secret_file", "exporter.yaml"):
            assert needle in body, f"the refusal does not mention {needle}: {body}"
        for secret in rig.secrets:
            assert secret not in body, "a secret value is in the 500 body"
        refused = metrics(exporter)
        assert refused.value(SUCCESSFUL) == 0
        assert refused.value(RELOADS, result="failure") == 1
        assert refused.value(RELOADS, result="success") == 0
        assert refused.value(HASH) == started_hash, "a refused file changed the hash"
        assert refused.value(SUCCESS_TIME) == started_at
        assert [s.labels["target"] for s in refused.samples(INFO)] == ["a"]
        assert not series_of(refused, "b")
        assert not series_of(refused, "c")
        # the old target keeps polling: its polls_total keeps rising, and it stays up
        polls = stat(refused, "source_polls_total", "a") or 0
        polled(exporter, LIVEKIT, "a", polls=polls + 2)
        assert not rig.livekit_requests(1), "a target of the refused file was polled"
        failed = exporter.events("config_reload_failed")
        assert len(failed) == 1, failed
        assert failed[0]["level"] == "error"
        for secret in rig.secrets:
            assert secret not in exporter.stderr, "a secret value was logged"

        # fixing the file is accepted
        rig.write(a, rig.livekit("b", 1))
        response = reload(exporter)
        assert response.status_code == 200, response.text
        fixed = metrics(exporter)
        assert fixed.value(SUCCESSFUL) == 1
        assert fixed.value(RELOADS, result="success") == 1
        assert fixed.value(RELOADS, result="failure") == 1
        assert (fixed.value(SUCCESS_TIME) or 0) > started_at
        assert abs((fixed.value(SUCCESS_TIME) or 0) - time.time()) < 5
        assert fixed.value(HASH) not in (None, 0, started_hash)
        assert fixed.value(INFO, target="b") == 1
        polled(exporter, LIVEKIT, "b")
        assert len(exporter.events("config_reload_failed")) == 1


def test_reloading_an_unchanged_file_answers_200_and_keeps_the_hash(rig: Rig) -> None:
    rig.write(rig.livekit("a", 0))
    with rig.exporter(LIFECYCLE) as exporter:
        before = polled(exporter, LIVEKIT, "a")
        response = reload(exporter)
        assert response.status_code == 200, response.text
        after = metrics(exporter)
        assert after.value(HASH) == before.value(HASH)
        assert after.value(RELOADS, result="success") == 1
        assert after.value(SUCCESSFUL) == 1


def test_a_refused_reload_is_retried_only_when_asked(rig: Rig) -> None:
    """Without the watcher nothing retries a refused file on its own: the failure stays one."""
    a = rig.livekit("a", 0)
    rig.write(a)
    with rig.exporter(LIFECYCLE) as exporter:
        polled(exporter, LIVEKIT, "a")
        rig.write(a, rig.livekit("b", 1, max_sessions="-1"))
        assert reload(exporter).status_code == 500
        assert reload(exporter).status_code == 500
        wait_for(
            lambda: len(exporter.events("config_reload_failed")) == 2,
            within=5,
            what="one log line per refused reload",
        )
        m = metrics(exporter)
        assert m.value(RELOADS, result="failure") == 2
        assert m.value(SUCCESSFUL) == 0
