"""The README's tables are checked against the code, so documentation cannot drift."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry

from exporter.cli import main
from exporter.exposition.self_metrics import SelfMetrics
from exporter.sources.registry import all_flags

FLAGS = all_flags()

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
GOLDEN = ROOT / "tests" / "fixtures" / "exposition"


def table_rows(first_cell: str) -> list[list[str]]:
    """Rows of markdown tables whose first cell matches ``first_cell`` (a regex)."""
    rows = []
    for line in README.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and re.fullmatch(first_cell, cells[0]):
            rows.append(cells)
    return rows


def ticked(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def test_flag_table_matches_the_flag_definitions() -> None:
    """Every flag appears once with its env vars and default, and no other flag does."""
    rows = {ticked(row[0])[0]: row for row in table_rows(r"`--[^`]+`")}
    expected = {}
    for flag in FLAGS:
        spelled = f"--[no-]{flag.name}" if flag.kind == "bool" else f"--{flag.name}"
        envs = [] if flag.kind == "action" else [flag.env, *flag.extra_env]
        default = (
            [f"--{flag.inherits.name}"] if flag.inherits else [flag.default] if flag.default else []
        )
        expected[spelled] = (envs, default)
    assert set(rows) == set(expected)
    for spelled, (envs, default) in expected.items():
        row = rows[spelled]
        assert ticked(row[1]) == envs, spelled
        assert ticked(row[2]) == default, spelled


def test_self_metric_table_matches_the_registry() -> None:
    """Every self-metric family is documented with its type, and nothing else is."""
    registry = CollectorRegistry()
    SelfMetrics(registry)
    families = {
        metric.name + ("_total" if metric.type == "counter" else ""): metric.type
        for metric in registry.collect()
    }
    documented = {ticked(row[0])[0]: row[1] for row in table_rows(r"`livesession_exporter_\w+`")}
    assert documented == families


@pytest.mark.parametrize(
    ("prefix", "goldens"),
    [
        ("livekit_cloud_", ["livekit_snapshot.prom"]),
        ("livepeer_studio_", ["livepeer_all_fields.prom", "livepeer_two_sessions.prom"]),
    ],
)
def test_data_metric_tables_match_the_rendered_families(prefix: str, goldens: list[str]) -> None:
    """Each source's README table lists exactly the families it renders, with their types.

    The golden expositions are pinned to the renderers by the sources' own tests.
    """
    rendered = {}
    for name in goldens:
        for line in (GOLDEN / name).read_text(encoding="utf-8").splitlines():
            if line.startswith("# TYPE "):
                _, _, family, kind = line.split(" ")
                rendered[family] = kind
    documented = {ticked(row[0])[0]: row[1] for row in table_rows(rf"`{prefix}\w+`")}
    assert documented == rendered


def test_every_alert_has_its_runbook_and_table_row() -> None:
    """Each alert's runbook_url anchor is a README heading, and the alert table lists it."""
    rules = yaml.safe_load((ROOT / "deploy/prometheus/livesession-exporter.rules.yml").read_text())
    alerts = {r["alert"]: r for g in rules["groups"] for r in g["rules"] if "alert" in r}
    headings = {
        line.removeprefix("### Runbook: ").strip()
        for line in README.splitlines()
        if line.startswith("### Runbook: ")
    }
    assert headings == set(alerts)
    for name, rule in alerts.items():
        anchor = rule["annotations"]["runbook_url"].rsplit("#", 1)[1]
        assert anchor == f"runbook-{name.lower()}"
    listed = {ticked(row[0])[0] for row in table_rows(r"`(Livesession|LiveKit|Livepeer)\w+`")}
    assert listed == set(alerts)


def _blocks(after: str, language: str) -> list[str]:
    """The ``language`` code blocks of the README that follow the line ``after``."""
    text = README[README.index(after) :]
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


@pytest.mark.parametrize(("example", "code"), [(0, 0), (1, 2)])
def test_config_check_examples_are_real_output(
    example: int,
    code: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The README's ``--config.check`` outputs are what the command prints for its files.

    The secrets the example names are written under ``tmp_path`` (the output shows none of
    them; the Livepeer key fixes the identity digest shown)."""
    files = _blocks("### The file", "yaml")
    outputs = _blocks("### The file", "console")
    name = ("targets.yaml", "bad.yaml")[example]
    secrets = {"prod-eu": "lk-eu-secret-0123456789abcdef", "prod-us": "lk-us-secret-0123456789"}
    secrets["studio-main"] = "6d9f6bc4-4c3e-4bd5-9f3e-2a5c0c1d7e21"
    for secret, value in secrets.items():
        (tmp_path / secret).write_text(value + "\n")
    text = files[example].replace("/etc/livesession-exporter/secrets", str(tmp_path))
    (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    env = {"LK_STAGING_SECRET": "lk-staging-secret-0123456789"}
    status = main(["--config.check", "--config.file", name], env)
    out, err = capsys.readouterr()
    command, _, shown = outputs[example].partition("\n")
    assert command == f"$ livesession-exporter --config.check --config.file {name}"
    assert status == code
    assert (out if code == 0 else err) == shown
