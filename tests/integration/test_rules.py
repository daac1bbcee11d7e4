"""The shipped rules: promtool accepts and unit-tests them, every rule is covered, every
selector names what the exporter exposes, and the Grafana-managed copy says the same thing."""

from __future__ import annotations

import functools
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import promql_parser
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from exporter.config.durations import parse_duration
from exporter.sources.registry import all_flags
from tests.e2e.promql import target_merges

FLAGS = all_flags()

ROOT: Final = Path(__file__).resolve().parents[2]
PROMETHEUS: Final = ROOT / "deploy" / "prometheus"
RULES: Final = PROMETHEUS / "livesession-exporter.rules.yml"
RULE_TESTS: Final = PROMETHEUS / "livesession-exporter.rules.test.yml"
CONFIG: Final = PROMETHEUS / "prometheus.yml"
GRAFANA_RULES: Final = ROOT / "grafana" / "provisioning" / "alerting" / "livesession-exporter.yml"
GOLDEN: Final = ROOT / "tests" / "fixtures" / "exposition"

JOB: Final = "livesession-exporter"
RUNBOOK: Final = "https://github.com/livesession-exporter/livesession-exporter#runbook-"
SEVERITIES: Final = {"critical", "warning", "info"}
TARGET_LABELS: Final = {"job", "instance"}
"""Labels a scrape adds to every series; rules may group or match on them."""
DATASOURCE_UID: Final = "prometheus"
"""The uid grafana/provisioning/datasources gives the Prometheus datasource."""
EXPRESSION_TYPES: Final = {"math", "reduce", "resample", "threshold", "classic_conditions"}
GRAFANA_UID: Final = re.compile(r"[A-Za-z0-9_-]{1,40}")
TEMPLATE: Final = re.compile(r"\{\{(.*?)\}\}")
LABEL_TEMPLATE: Final = re.compile(r" \$labels\.([a-zA-Z_][a-zA-Z0-9_]*) ")

Rule = dict[str, Any]


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _prometheus_rules() -> list[tuple[str, Rule]]:
    """(group name, rule) for every rule of the Prometheus rules file, in file order."""
    return [(group["name"], rule) for group in _load(RULES)["groups"] for rule in group["rules"]]


def _grafana_rules() -> list[tuple[str, Rule]]:
    """(group name, rule) for every Grafana-managed rule, in file order."""
    return [
        (group["name"], rule) for group in _load(GRAFANA_RULES)["groups"] for rule in group["rules"]
    ]


ALERTS: Final = {rule["alert"]: rule for _, rule in _prometheus_rules() if "alert" in rule}
RECORDS: Final = {rule["record"]: rule for _, rule in _prometheus_rules() if "record" in rule}
EXPRESSIONS: Final = {name: rule["expr"] for name, rule in (ALERTS | RECORDS).items()}


def _unit_tests() -> list[Rule]:
    tests: list[Rule] = _load(RULE_TESTS)["tests"]
    return tests


def _selectors(expr: str) -> list[promql_parser.VectorSelector]:
    """Every vector selector in ``expr``, including those inside range selectors."""
    found: list[promql_parser.VectorSelector] = []

    def visit(node: promql_parser.Expr) -> None:
        # walk() descends into a range selector's vector selector by itself
        if isinstance(node, promql_parser.VectorSelector):
            found.append(node)

    promql_parser.walk(promql_parser.parse(expr), pre_visit=visit)
    return found


def _grouping_labels(expr: str) -> set[str]:
    """Label names named by ``by``/``without`` and ``on``/``ignoring`` clauses in ``expr``."""
    names: set[str] = set()

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.AggregateExpr) and node.modifier is not None:
            names.update(node.modifier.labels)
        elif (
            isinstance(node, promql_parser.BinaryExpr)
            and node.modifier is not None
            and node.modifier.matching is not None
        ):
            names.update(node.modifier.matching.labels)

    promql_parser.walk(promql_parser.parse(expr), pre_visit=visit)
    return names


@functools.cache
def _exposed() -> dict[str, dict[str, set[str]]]:
    """Sample name → label name → values, over every golden exposition of the exporter."""
    exposed: dict[str, dict[str, set[str]]] = {}
    for path in sorted(GOLDEN.glob("*.prom")):
        for family in text_string_to_metric_families(path.read_text(encoding="utf-8")):
            for sample in family.samples:
                labels = exposed.setdefault(sample.name, {})
                for name, value in sample.labels.items():
                    labels.setdefault(name, set()).add(value)
    return exposed


def _target_dropped(expr: str) -> list[str]:
    """The aggregations and joins in ``expr`` that would merge the series of two targets (the
    dashboards' check, :func:`tests.e2e.promql.target_merges`)."""
    return [merge.expr for merge in target_merges(expr)]


def _selected_labels(expr: str, exposed: dict[str, dict[str, set[str]]]) -> set[str]:
    """The label names the series selected by ``expr`` can carry."""
    names = set(TARGET_LABELS)
    for selector in _selectors(expr):
        names.update(exposed.get(selector.name or "", {}))
    return names


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60, check=False)


def _iter_alert_cases() -> Iterator[tuple[str, list[Rule]]]:
    for test in _unit_tests():
        for case in test.get("alert_rule_test", []):
            yield case["alertname"], case["exp_alerts"]


# ---------------------------------------------------------------- promtool


def test_promtool_check_rules_passes_with_every_lint_fatal(promtool: str) -> None:
    """promtool check rules accepts the rules file with --lint=all --lint-fatal."""
    result = _run(promtool, "check", "rules", "--lint=all", "--lint-fatal", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(ALERTS) + len(RECORDS)} rules found" in result.stdout


def test_promtool_unit_tests_pass(promtool: str) -> None:
    """promtool test rules runs the rules' unit tests without a failure."""
    result = _run(promtool, "test", "rules", str(RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_example_config_passes_promtool_check_config(promtool: str) -> None:
    """promtool check config accepts the example prometheus.yml and the rule file it loads."""
    result = _run(promtool, "check", "config", str(CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 1 rule files found" in result.stdout


# ---------------------------------------------------------------- coverage of the unit tests


def test_every_alert_is_unit_tested_quiet_and_firing() -> None:
    """Each alert has a case expecting no alert and one expecting it to fire, and no case names
    an alert that does not exist (promtool would pass it silently)."""
    quiet = {name for name, expected in _iter_alert_cases() if not expected}
    firing = {name for name, expected in _iter_alert_cases() if expected}
    assert quiet == set(ALERTS), "alerts without a not-firing case or unknown names"
    assert firing == set(ALERTS), "alerts without a firing case or unknown names"


def test_firing_cases_check_severity_and_every_annotation() -> None:
    """Every expected firing alert states its severity and all three annotations."""
    for name, expected in _iter_alert_cases():
        for alert in expected:
            assert alert["exp_labels"]["severity"] == ALERTS[name]["labels"]["severity"], name
            assert set(alert["exp_annotations"]) == {"summary", "description", "runbook_url"}


def test_every_recording_rule_has_an_expression_test() -> None:
    """Each recording rule is evaluated by a promql_expr_test expecting samples of it."""
    tested = {
        selector.name
        for test in _unit_tests()
        for case in test.get("promql_expr_test", [])
        if case["exp_samples"]
        for selector in _selectors(case["expr"])
    }
    assert set(RECORDS) <= tested


# ---------------------------------------------------------------- the rules themselves


@pytest.mark.parametrize("name", sorted(ALERTS))
def test_alert_has_severity_summary_description_and_runbook(name: str) -> None:
    """An alert carries only a known severity label, and summary, description and a
    runbook_url pointing at the README's "Runbook: <name>" heading."""
    rule = ALERTS[name]
    assert set(rule["labels"]) == {"severity"}
    assert rule["labels"]["severity"] in SEVERITIES
    assert set(rule["annotations"]) == {"summary", "description", "runbook_url"}
    assert rule["annotations"]["runbook_url"] == RUNBOOK + name.lower()
    assert all(rule["annotations"][key].strip() for key in ("summary", "description"))


def test_alert_names_are_unique_and_prefixed() -> None:
    """Alert names are unique and start with Livesession, LiveKit or Livepeer."""
    names = [rule["alert"] for _, rule in _prometheus_rules() if "alert" in rule]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"(Livesession|LiveKit|Livepeer)[A-Z][A-Za-z]+", n) for n in names)


@pytest.mark.parametrize("name", sorted(EXPRESSIONS))
def test_expression_parses_with_promql_parser(name: str) -> None:
    """promql-parser (the parser the dashboards are checked with) accepts the expression."""
    promql_parser.parse(EXPRESSIONS[name])


@pytest.mark.parametrize("name", sorted(EXPRESSIONS))
def test_selectors_name_metrics_and_labels_the_exporter_exposes(name: str) -> None:
    """Every metric, label and label value an expression selects or groups by appears in the
    exporter's golden expositions; only the exporter-absent alert selects the scrape's up."""
    exposed = _exposed()
    expr = EXPRESSIONS[name]
    for selector in _selectors(expr):
        matchers = {m.name: m for m in selector.matchers.matchers}
        if selector.name == "up":
            assert name == "LivesessionExporterAbsent"
            assert set(matchers) == {"job"}
            assert matchers["job"].value == JOB
            continue
        assert selector.name in exposed, selector.name
        for matcher in matchers.values():
            assert matcher.name in exposed[selector.name], (selector.name, matcher.name)
            assert matcher.op == promql_parser.MatchOp.Equal
            assert matcher.value in exposed[selector.name][matcher.name], str(matcher)
    assert _grouping_labels(expr) <= _selected_labels(expr, exposed)


@pytest.mark.parametrize("name", sorted(EXPRESSIONS))
def test_rules_keep_targets_apart(name: str) -> None:
    """No rule sums, groups or matches the series of several targets together: every
    aggregation over per-target series keeps ``target``, and every join matches on it, so one
    exporter polling many projects alerts and records per target."""
    assert not _target_dropped(EXPRESSIONS[name])


def test_target_check_catches_rules_that_merge_targets() -> None:
    """The check above flags each way of merging targets, and only those."""
    merging = [
        "sum(livesession_exporter_source_up) == 0",
        "max by (source) (livesession_exporter_source_up) == 0",
        "sum without (target) (rate(livekit_cloud_session_bandwidth_bytes_total[5m]))",
        "sum by (project, direction) (rate(livekit_cloud_session_bandwidth_bytes_total[5m]))",
        "livesession_exporter_source_up and on (job, instance, source) "
        "livesession_exporter_source_up",
        "livesession_exporter_source_polls_total / ignoring (target, reason) "
        "livesession_exporter_source_poll_errors_total",
    ]
    keeping = [
        "livesession_exporter_source_up == 0",
        "max by (job, source, target) (livesession_exporter_source_up) == 0",
        "topk(10, livekit_cloud_session_participants_active)",
        "livesession_exporter_source_up and on (job, instance, source, target) "
        "livesession_exporter_source_up",
        "stdvar by (job) (livesession_exporter_total_shards) != 0",
        "process_resident_memory_bytes and on (job, instance) livesession_exporter_build_info",
    ]
    assert [expr for expr in merging if not _target_dropped(expr)] == []
    assert [expr for expr in keeping if _target_dropped(expr)] == []


@pytest.mark.parametrize("name", sorted(ALERTS))
def test_annotations_template_only_labels_the_alert_carries(name: str) -> None:
    """Annotations use no template but {{ $labels.x }}, x being a label of the selected
    series, so Prometheus and Grafana render them alike."""
    rule = ALERTS[name]
    available = _selected_labels(rule["expr"], _exposed())
    for text in rule["annotations"].values():
        for inner in TEMPLATE.findall(text):
            match = LABEL_TEMPLATE.fullmatch(inner)
            assert match is not None, f"{name}: {{{{{inner}}}}}"
            assert match.group(1) in available, f"{name}: {match.group(1)}"


def test_recording_rules_follow_the_naming_convention() -> None:
    """Recorded names read level:metric:operations, the metric without _total, and the
    level lists the labels the rule aggregates by."""
    for record, rule in RECORDS.items():
        level, metric, operations = record.split(":")
        assert not metric.endswith("_total")
        assert operations == "rate5m"
        assert level in _grouping_labels(rule["expr"])
        assert [s.name for s in _selectors(rule["expr"])] == [metric + "_total"]


# ---------------------------------------------------------------- example Prometheus config


def test_example_config_scrapes_the_alerted_job_at_the_default_poll_interval() -> None:
    """prometheus.yml scrapes job livesession-exporter (the job the absent alert selects),
    every default poll interval, and loads the rules file beside it."""
    config = _load(CONFIG)
    poll_interval = next(f.default for f in FLAGS if f.name == "poll.interval")
    assert poll_interval is not None
    (job,) = config["scrape_configs"]
    assert job["job_name"] == JOB
    assert parse_duration(job["scrape_interval"]) == parse_duration(poll_interval)
    assert [(CONFIG.parent / path).resolve() for path in config["rule_files"]] == [RULES]


# ---------------------------------------------------------------- Grafana-managed rules


def test_grafana_rules_match_the_prometheus_alerts() -> None:
    """The Grafana rules are the Prometheus alerts: same titles in same-named groups, same
    PromQL, pending period, labels and annotations."""
    grafana = {rule["title"]: (group, rule) for group, rule in _grafana_rules()}
    prometheus = {rule["alert"]: group for group, rule in _prometheus_rules() if "alert" in rule}
    assert set(grafana) == set(ALERTS)
    for title, (group, rule) in grafana.items():
        alert = ALERTS[title]
        (query,) = [d for d in rule["data"] if d["datasourceUid"] != "__expr__"]
        assert group == prometheus[title], title
        assert query["model"]["expr"].strip() == alert["expr"].strip(), title
        assert parse_duration(rule["for"]) == parse_duration(alert.get("for", "0s")), title
        assert rule["labels"] == alert["labels"], title
        assert rule["annotations"] == alert["annotations"], title


def test_grafana_rules_file_is_structurally_valid() -> None:
    """The provisioning file has apiVersion 1, groups with org, name, folder and interval, and
    rules with unique short uids, a condition naming one of their refIds, a relative time
    range on every query, valid no-data and error states, and a pending period that is a
    whole number of evaluation intervals."""
    document = _load(GRAFANA_RULES)
    assert document["apiVersion"] == 1
    uids: list[str] = []
    for group in document["groups"]:
        assert isinstance(group["orgId"], int)
        assert group["name"]
        assert group["folder"]
        interval = parse_duration(group["interval"])
        assert interval >= 10
        assert interval % 10 == 0
        assert group["rules"]
        for rule in group["rules"]:
            uids.append(rule["uid"])
            assert GRAFANA_UID.fullmatch(rule["uid"]), rule["uid"]
            ref_ids = [d["refId"] for d in rule["data"]]
            assert len(ref_ids) == len(set(ref_ids)), rule["title"]
            assert rule["condition"] in ref_ids, rule["title"]
            assert rule["noDataState"] in {"OK", "NoData", "Alerting", "KeepLast"}
            assert rule["execErrState"] in {"OK", "Error", "Alerting", "KeepLast"}
            # Grafana only checks at each evaluation: a pending period between two of
            # them would silently round up
            assert parse_duration(rule["for"]) % interval == 0, rule["title"]
            assert rule["isPaused"] is False
            for data in rule["data"]:
                assert data["model"]["refId"] == data["refId"]
                span = data["relativeTimeRange"]
                assert span["from"] >= span["to"] >= 0
                source = data["model"]["datasource"]
                assert source["uid"] == data["datasourceUid"]
                if data["datasourceUid"] == "__expr__":
                    assert source["type"] == "__expr__"
                    assert data["model"]["type"] in EXPRESSION_TYPES
                    used = set(re.findall(r"\$\{?(\w+)\}?", data["model"]["expression"]))
                    assert used <= set(ref_ids) - {data["refId"]}, rule["title"]
                else:
                    assert data["datasourceUid"] == DATASOURCE_UID
                    assert source["type"] == "prometheus"
                    assert data["model"]["instant"] is True
                    assert data["model"]["range"] is False
                    assert span["from"] > 0
    assert len(uids) == len(set(uids))


def test_grafana_condition_fires_for_every_series_its_query_returns() -> None:
    """Each condition is is_number() of the PromQL query, never a threshold on its value, so
    a firing series whose value is 0 (source_up == 0) fires in Grafana too; no series at all
    is OK, as an empty Prometheus result is."""
    for _, rule in _grafana_rules():
        (query,) = [d for d in rule["data"] if d["datasourceUid"] == DATASOURCE_UID]
        (condition,) = [d for d in rule["data"] if d["refId"] == rule["condition"]]
        assert condition["model"]["type"] == "math"
        assert condition["model"]["expression"] == f"is_number(${query['refId']})"
        assert rule["noDataState"] == "OK"
        assert rule["execErrState"] == "Error"
