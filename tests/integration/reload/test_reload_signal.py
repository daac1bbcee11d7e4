"""SIGHUP reloads the configuration (targets.md, "Reload"), with or without the lifecycle
API: the process keeps running and the new target appears."""

from __future__ import annotations

import signal

from tests.integration.reload.rig import LIVEKIT, LIVEPEER, Rig, metrics, polled, series_of
from tests.support.processes import wait_for

RELOADS = "livesession_exporter_config_reloads_total"
INFO = "livesession_exporter_target_info"


def test_sighup_reloads_the_file(rig: Rig) -> None:
    a = rig.livekit("a", 0)
    rig.write(a)
    with rig.exporter() as exporter:  # no --web.enable-lifecycle: signals need none
        polled(exporter, LIVEKIT, "a")
        rig.write(a, rig.livepeer("pb", 1))
        exporter.process.send_signal(signal.SIGHUP)
        wait_for(
            lambda: metrics(exporter).value(RELOADS, result="success") == 1,
            within=5,
            what="the SIGHUP reload to be counted",
        )
        m = polled(exporter, LIVEPEER, "pb")
        assert m.value(INFO, source=LIVEPEER, target="pb") == 1
        assert series_of(m, "a"), "the kept target lost its series"
        assert exporter.returncode is None
        wait_for(lambda: exporter.event("config_reloaded"), within=5, what="config_reloaded")


def test_sighup_with_a_broken_file_keeps_running_the_old_one(rig: Rig) -> None:
    a = rig.livekit("a", 0)
    rig.write(a)
    with rig.exporter() as exporter:
        polled(exporter, LIVEKIT, "a")
        rig.write_file(rig.config, "livekit: [\n")
        exporter.process.send_signal(signal.SIGHUP)
        wait_for(
            lambda: metrics(exporter).value(RELOADS, result="failure") == 1,
            within=5,
            what="the refused SIGHUP reload to be counted",
        )
        m = metrics(exporter)
        assert m.value("livesession_exporter_config_last_reload_successful") == 0
        polls = m.value("livesession_exporter_source_polls_total", target="a") or 0
        polled(exporter, LIVEKIT, "a", polls=polls + 1)
        assert exporter.returncode is None
        failed = wait_for(
            lambda: exporter.events("config_reload_failed"), within=5, what="the failure logged"
        )
        assert len(failed) == 1
