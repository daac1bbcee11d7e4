"""``--config.auto-reload-interval`` (targets.md, "Reload"): the content of the file and of
every secret file it references is checked that often, so a Kubernetes Secret or ConfigMap
update, an atomic ``..data`` symlink swap that leaves each file's own path unchanged, is picked
up without any signal or HTTP request.
"""

from __future__ import annotations

import time

from tests.integration.reload.rig import (
    AGGREGATE,
    LIVEKIT,
    LIVEPEER,
    ProjectedVolume,
    Rig,
    livepeer_identity,
    metrics,
    polled,
    series_of,
    stat,
)
from tests.support.processes import ExporterProcess, wait_for

WATCH = "--config.auto-reload-interval=200ms"
RELOADS = "livesession_exporter_config_reloads_total"
SUCCESSFUL = "livesession_exporter_config_last_reload_successful"
INFO = "livesession_exporter_target_info"
WRONG_SECRET = "not-this-projects-secret-" + "x" * 40


def reloads(exporter: ExporterProcess, result: str) -> float:
    return metrics(exporter).value(RELOADS, result=result) or 0


def test_a_rotated_livekit_secret_is_picked_up_without_a_signal(rig: Rig) -> None:
    """The Secret first holds a wrong secret (every poll fails auth); the swap to the right
    one is reloaded on its own, and the target recovers with tokens signed by the new one."""
    secrets = ProjectedVolume(rig.root / "secret-volume")
    secrets.publish({"secret": WRONG_SECRET + "\n"})
    rig.write(rig.livekit("a", 0, api_secret_file=str(secrets.path("secret"))))
    with rig.exporter(WATCH) as exporter:
        wait_for(
            lambda: (
                (stat(metrics(exporter), "source_poll_errors_total", "a", reason="auth") or 0) >= 1
            ),
            within=10,
            what="a's polls to fail auth with the wrong secret",
        )
        assert stat(metrics(exporter), "source_up", "a") == 0
        secrets.publish({"secret": rig.livekit_project(0).api_secret + "\n"})
        m = polled(exporter, LIVEKIT, "a")
        assert m.value(RELOADS, result="success") == 1
        assert m.value(RELOADS, result="failure") == 0
        assert exporter.event("config_change_detected") is not None
        assert exporter.event("reload_requested") is None, "something else asked for it"
        for secret in (WRONG_SECRET, rig.livekit_project(0).api_secret):
            assert secret not in exporter.stderr


def test_a_rotated_livepeer_key_is_a_new_identity(rig: Rig) -> None:
    """The key file swapped from project 0's key to project 1's: the same target name now
    polls another account, so it is a new target (new identity, new series, new counters)."""
    keys = ProjectedVolume(rig.root / "key-volume")
    keys.publish({"key": rig.livepeer_project(0).api_key + "\n"})
    rig.write(rig.livepeer("pa", api_key_file=str(keys.path("key"))))
    old_identity = livepeer_identity(rig.livepeer_project(0).api_key)
    new_identity = livepeer_identity(rig.livepeer_project(1).api_key)
    with rig.exporter(WATCH) as exporter:
        before = polled(exporter, LIVEPEER, "pa", polls=3)
        assert before.value(INFO, target="pa", identity=old_identity) == 1
        old_project = rig.livepeer_project(0).project_id
        assert before.has(AGGREGATE[LIVEPEER], target="pa", project=old_project)
        keys.publish({"key": rig.livepeer_project(1).api_key + "\n"})

        def switched() -> object:
            m = metrics(exporter)
            return m if m.has(INFO, target="pa", identity=new_identity) else None

        m = wait_for(switched, within=5, what="the new key's identity in target_info")
        assert [s.labels["identity"] for s in m.samples(INFO, target="pa")] == [new_identity]
        assert (stat(m, "source_polls_total", "pa") or 0) <= 2, "the new identity's counters"
        assert m.value(RELOADS, result="success") == 1
        new_project = rig.livepeer_project(1).project_id
        m = polled(exporter, LIVEPEER, "pa")
        projects = {s.labels["project"] for s in m.samples(AGGREGATE[LIVEPEER], target="pa")}
        assert projects == {new_project}
        old_requests = len(rig.livepeer_requests(0))
        time.sleep(1.2)
        assert len(rig.livepeer_requests(0)) == old_requests, "the old key is still used"
        assert rig.livepeer_requests(1)


def test_a_configmap_swap_of_the_file_itself_is_picked_up(rig: Rig) -> None:
    """The configuration file is itself a ConfigMap key behind ``..data``."""
    volume = ProjectedVolume(rig.root / "config-volume")
    a = rig.livekit("a", 0)
    volume.publish({"exporter.yaml": rig.render([a])})
    config = volume.path("exporter.yaml")
    with rig.exporter(WATCH, config=config) as exporter:
        polled(exporter, LIVEKIT, "a")
        volume.publish({"exporter.yaml": rig.render([a, rig.livekit("b", 1)])})
        m = polled(exporter, LIVEKIT, "b")
        assert m.value(RELOADS, result="success") == 1
        assert series_of(m, "a")


def test_a_bad_rotation_is_tried_once_and_reverting_it_is_picked_up(rig: Rig) -> None:
    """An empty secret is refused once (not again at every check); the target keeps polling
    with the old secret; putting the good secret back is reloaded."""
    secrets = ProjectedVolume(rig.root / "secret-volume")
    good = rig.livekit_project(0).api_secret + "\n"
    secrets.publish({"secret": good})
    rig.write(rig.livekit("a", 0, api_secret_file=str(secrets.path("secret"))))
    with rig.exporter(WATCH) as exporter:
        polled(exporter, LIVEKIT, "a")
        secrets.publish({"secret": "\n"})
        wait_for(
            lambda: reloads(exporter, "failure") == 1, within=5, what="the empty secret refused"
        )
        m = metrics(exporter)
        assert m.value(SUCCESSFUL) == 0
        polls = stat(m, "source_polls_total", "a") or 0
        polled(exporter, LIVEKIT, "a", polls=polls + 1)  # still polling with the old secret
        time.sleep(1.0)  # five checks: an unchanged bad file is not tried again
        m = metrics(exporter)
        assert m.value(RELOADS, result="failure") == 1
        assert len(exporter.events("config_reload_failed")) == 1
        secrets.publish({"secret": good})
        wait_for(
            lambda: reloads(exporter, "success") == 1, within=5, what="the good secret reloaded"
        )
        m = metrics(exporter)
        assert m.value(SUCCESSFUL) == 1
        assert stat(m, "source_up", "a") == 1


def test_a_secret_file_named_by_a_refused_file_is_watched(rig: Rig) -> None:
    """The ConfigMap (the file) is updated before the Secret it now references exists, as
    happens when the two volumes update at different moments: the reload is refused, and the
    secret file's arrival must then be picked up, because the file references it."""
    a = rig.livekit("a", 0)
    rig.write(a)
    pending = rig.root / "late-secrets" / "b"
    with rig.exporter(WATCH) as exporter:
        polled(exporter, LIVEKIT, "a")
        rig.write(a, rig.livekit("b", 1, api_secret_file=str(pending)))
        wait_for(
            lambda: reloads(exporter, "failure") == 1,
            within=5,
            what="the file naming a missing secret refused",
        )
        time.sleep(1.0)  # five checks: nothing changed, so nothing is tried again
        tried = reloads(exporter, "failure")
        detected = len(exporter.events("config_change_detected"))
        assert (tried, detected) == (1, 1), (
            f"an unchanged refused file was tried {tried:g} times ({detected} changes detected)"
        )
        rig.write_file(pending, rig.livekit_project(1).api_secret + "\n")
        wait_for(
            lambda: reloads(exporter, "success") == 1,
            within=5,
            what="the reload once the referenced secret file exists",
        )
        polled(exporter, LIVEKIT, "b")
