"""The shipped Prometheus rules match what the exporter serves.

Recording rules must return series. Alert rules, by design, return nothing while all is well,
so each series selector in their expression must return series instead: a wrong metric name
or label would otherwise leave an alert that can never fire. Prometheus then loads the rules
(every group evaluated each second), evaluates each without error, and stores the recorded
series.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.params import cases, present
from tests.e2e.prometheus import PrometheusServer
from tests.e2e.promql import missing_labels, parse, selectors
from tests.e2e.rules import RULES_DIR, Rule, load_rules, rule_files
from tests.support.processes import wait_for

_FILES = rule_files()
_RULES = load_rules(_FILES)
_MISSING = f"no {RULES_DIR}/*.rules.yml"


@pytest.mark.parametrize("path", cases(_FILES, lambda p: p.name, _MISSING))
def test_rule_file_passes_promtool(path: Path | None, promtool: str) -> None:
    """``promtool check rules`` accepts the rule file."""
    path = present(path, _MISSING)
    result = subprocess.run(
        [promtool, "check", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("rule", cases(_RULES, lambda r: r.id, _MISSING))
def test_rule_selects_served_series(rule: Rule | None, prometheus: PrometheusServer) -> None:
    """A recording rule returns series; every selector of an alert rule returns series; and
    every label a rule groups or joins by is on the series it is taken from."""
    rule = present(rule, _MISSING)
    try:
        parse(rule.expr)
    except ValueError as error:
        pytest.fail(f"promql-parser rejects {rule.expr!r}: {error}")
    prometheus.format_query(rule.expr)
    prometheus.query(rule.expr)
    assert not missing_labels(rule.expr, prometheus.query)
    if rule.kind == "record":
        assert prometheus.query(rule.expr), f"{rule.name}: no series for {rule.expr!r}"
        return
    empty = [selector for selector in selectors(rule.expr) if not prometheus.query(selector)]
    assert not empty, f"{rule.name}: selectors without series: {empty}"


def test_prometheus_evaluates_every_rule_and_records_its_series(
    prometheus: PrometheusServer,
) -> None:
    """Prometheus loads every shipped rule, evaluates each without error, and stores every
    recorded series."""
    assert _RULES, _MISSING
    # Prometheus loads its rule files before it reports ready.
    loaded = sorted(rule["name"] for rule in prometheus.rules())
    assert loaded == sorted(rule.name for rule in _RULES)

    def evaluated_once() -> list[dict[str, Any]] | None:
        rules = prometheus.rules()
        return rules if all(rule["health"] != "unknown" for rule in rules) else None

    evaluated = wait_for(evaluated_once, within=30, what="Prometheus to evaluate every rule once")
    failing = {rule["name"]: rule.get("lastError") for rule in evaluated if rule["health"] != "ok"}
    assert not failing
    records = sorted({rule.name for rule in _RULES if rule.kind == "record"})
    wait_for(
        lambda: all(prometheus.query(name) for name in records),
        within=30,
        what=f"recorded series {records}",
    )
