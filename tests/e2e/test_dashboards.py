"""The dashboards are valid Grafana dashboard models and follow the rules a schema can't state:
unique ids and uids, a tidy grid, one datasource variable, units, rates over
``$__rate_interval``, links between the three, and a ``target`` filter on every query that
keeps the targets of a multi-target exporter apart."""

from __future__ import annotations

import re
import subprocess
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.grafana import (
    BUILTIN_INTERVALS,
    DASHBOARDS,
    EXPECTED_UIDS,
    load_dashboards,
    panel_queries,
    panels,
    referenced_variables,
    substitute,
    variable_queries,
    variable_uses_outside_regex,
)
from tests.e2e.promql import counters_outside_range, target_merges
from tests.support.tools import venv_tool

_DASHBOARDS = load_dashboards()
_FILES = sorted(EXPECTED_UIDS)
_DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
_NUMERIC = {"timeseries", "stat", "bargauge", "gauge", "table"}
_RANGE = re.compile(r"\[([^\]]*)\]")
_TARGET_FILTER = 'target=~"$target"'
_TARGET_INFO = "livesession_exporter_target_info"


def _dashboard(name: str) -> dict[str, Any]:
    assert name in _DASHBOARDS, f"{DASHBOARDS / name} is missing"
    return _DASHBOARDS[name]


def _content_panels(name: str) -> list[dict[str, Any]]:
    return [p for p in panels(_dashboard(name)) if p.get("type") != "row"]


def test_dashboards_are_the_three_with_stable_uids() -> None:
    """Exactly the three dashboards exist, each with its fixed uid."""
    assert {name: d.get("uid") for name, d in _DASHBOARDS.items()} == EXPECTED_UIDS


@pytest.mark.parametrize("name", _FILES)
def test_dashboard_matches_grafana_schema(name: str, dashboard_schema: Path) -> None:
    """The dashboard validates against the JSON Schema generated from @grafana/schema."""
    result = subprocess.run(
        [
            venv_tool("check-jsonschema"),
            "--schemafile",
            str(dashboard_schema),
            str(DASHBOARDS / name),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", _FILES)
def test_dashboard_is_modern(name: str) -> None:
    """A recent schemaVersion, no legacy ``rows``, tags for finding it, and a refresh."""
    dashboard = _dashboard(name)
    assert 36 <= dashboard["schemaVersion"] <= 41
    assert "rows" not in dashboard
    assert "livesession-exporter" in dashboard["tags"]
    assert {"livekit", "livepeer"} & set(dashboard["tags"])
    assert dashboard["title"]
    assert dashboard["description"]


@pytest.mark.parametrize("name", _FILES)
def test_panel_ids_are_unique(name: str) -> None:
    """No two panels share an id."""
    ids = [p.get("id") for p in panels(_dashboard(name))]
    assert None not in ids
    assert len(ids) == len(set(ids)), ids


@pytest.mark.parametrize("name", _FILES)
def test_panel_titles_are_unique(name: str) -> None:
    """No two panels share a title, so a failing query's test id names one panel."""
    titles = [str(p.get("title")) for p in panels(_dashboard(name))]
    assert len(titles) == len(set(titles)), sorted({t for t in titles if titles.count(t) > 1})


@pytest.mark.parametrize("name", _FILES)
def test_panels_tile_the_grid(name: str) -> None:
    """Every panel has a gridPos inside the 24 columns, and no two panels overlap."""
    boxes = []
    for panel in panels(_dashboard(name)):
        grid = panel.get("gridPos")
        assert grid, f"{panel.get('title')!r} has no gridPos"
        x, y, w, h = grid["x"], grid["y"], grid["w"], grid["h"]
        assert min(w, h) > 0, panel["title"]
        assert min(x, y) >= 0, panel["title"]
        assert x + w <= 24, f"{panel['title']!r} is wider than the grid"
        boxes.append((panel["title"], x, y, w, h))
    for (a, ax, ay, aw, ah), (b, bx, by, bw, bh) in combinations(boxes, 2):
        overlap = ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah
        assert not overlap, f"{a!r} overlaps {b!r}"


@pytest.mark.parametrize("name", _FILES)
def test_panels_describe_themselves(name: str) -> None:
    """Every panel has a title and a description of what it shows."""
    for panel in _content_panels(name):
        assert panel.get("title"), panel.get("id")
        assert len(panel.get("description", "")) > 20, panel["title"]


@pytest.mark.parametrize("name", _FILES)
def test_panels_query_the_datasource_variable(name: str) -> None:
    """Every panel and every target uses the ``${datasource}`` Prometheus variable."""
    for panel in _content_panels(name):
        assert panel.get("datasource") == _DATASOURCE, panel["title"]
        assert panel.get("targets"), f"{panel['title']!r} has no query"
        for target in panel["targets"]:
            assert target.get("datasource") == _DATASOURCE, (panel["title"], target["refId"])
            assert target.get("expr"), (panel["title"], target["refId"])


@pytest.mark.parametrize("name", _FILES)
def test_numeric_panels_set_a_unit(name: str) -> None:
    """Panels showing numbers say their unit (bytes, Bps, s, dateTimeFromNow, none...)."""
    for panel in _content_panels(name):
        if panel["type"] in _NUMERIC:
            assert panel["fieldConfig"]["defaults"].get("unit"), panel["title"]


@pytest.mark.parametrize("name", _FILES)
def test_counters_are_rated_over_the_rate_interval(name: str) -> None:
    """Counters and buckets are read only through a range, and every range is
    ``$__rate_interval`` (Grafana's window that always holds enough scrapes)."""
    for query in panel_queries({name: _dashboard(name)}):
        ranges = _RANGE.findall(query.expr)
        assert all(r == "$__rate_interval" for r in ranges), (query.id, ranges)
        assert not counters_outside_range(substitute(query.expr)), query.id


@pytest.mark.parametrize("name", _FILES)
def test_variables_are_defined_and_multi_valued(name: str) -> None:
    """A Prometheus ``datasource`` variable; every other variable is a multi-value
    ``label_values`` query with "All" = ``.*`` on that datasource, used only in ``=~``."""
    dashboard = _dashboard(name)
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    datasource = variables.pop("datasource")
    assert datasource["type"] == "datasource"
    assert datasource["query"] == "prometheus"
    assert variables, "no filter variable"
    for variable in variables.values():
        assert variable["type"] == "query", variable["name"]
        assert variable["datasource"] == _DATASOURCE, variable["name"]
        assert variable["multi"] is True, variable["name"]
        assert variable["includeAll"] is True, variable["name"]
        assert variable["allValue"] == ".*", variable["name"]
    defined = {"datasource", *variables, *BUILTIN_INTERVALS}
    used: set[str] = set()
    for query in panel_queries({name: dashboard}):
        used |= referenced_variables(query.expr)
        assert not variable_uses_outside_regex(query.expr), query.id
    assert used <= defined, used - defined
    assert set(variables) <= used, f"variables no query uses: {set(variables) - used}"


@pytest.mark.parametrize("name", _FILES)
def test_dashboards_link_to_each_other(name: str) -> None:
    """A dashboard link lists every dashboard tagged livesession-exporter, and panel data
    links point at dashboards that exist."""
    dashboard = _dashboard(name)
    assert any(
        link["type"] == "dashboards" and link["tags"] == ["livesession-exporter"]
        for link in dashboard["links"]
    )
    uids = set(EXPECTED_UIDS.values())
    for panel in _content_panels(name):
        for link in panel["fieldConfig"]["defaults"].get("links", []):
            match = re.match(r"^/d/([\w-]+)", link["url"])
            assert match, link["url"]
            assert match[1] in uids, link["url"]


@pytest.mark.parametrize("name", _FILES)
def test_target_variable_is_multi_select_over_the_polled_targets(name: str) -> None:
    """A ``target`` variable lists the names of the targets the exporter polls
    (``livesession_exporter_target_info``), several at once or "All"; the variables that
    depend on it come after it, so Grafana resolves it first."""
    dashboard = _dashboard(name)
    variables = dashboard["templating"]["list"]
    names = [v["name"] for v in variables]
    assert "target" in names, "no target variable"
    target = variables[names.index("target")]
    assert target["type"] == "query"
    assert target["multi"] is True
    assert target["includeAll"] is True
    assert target["allValue"] == ".*"
    assert target["current"]["value"] == ["$__all"]
    (query,) = [q for q in variable_queries({name: dashboard}) if q.name == "target"]
    assert query.label == "target"
    assert query.selector.startswith(_TARGET_INFO + "{"), query.selector
    for position, variable in enumerate(variables):
        text = variable.get("query", {})
        text = text.get("query", "") if isinstance(text, dict) else str(text)
        used = referenced_variables(text) - set(BUILTIN_INTERVALS)
        assert used <= set(names[:position]), (variable["name"], used - set(names[:position]))


@pytest.mark.parametrize("name", _FILES)
def test_every_panel_query_is_filtered_by_target(name: str) -> None:
    """Every query of every panel selects by ``target=~"$target"``: data series, self-metrics,
    and process metrics through the ``target_info`` of the process that polls the target."""
    queries = panel_queries({name: _dashboard(name)})
    assert queries
    unfiltered = [query.id for query in queries if _TARGET_FILTER not in query.expr]
    assert not unfiltered


@pytest.mark.parametrize("name", _FILES)
def test_panels_keep_targets_apart(name: str) -> None:
    """Graphs, tables and bar gauges aggregate and join by ``target``, so several targets (two
    projects with a room of the same name, two Livepeer keys without a project id) show as
    separate series; only stat panels may sum the selected targets into one headline total."""
    for panel in _content_panels(name):
        for target in panel["targets"]:
            merges = target_merges(substitute(target["expr"]))
            allowed = [m for m in merges if m.total and panel["type"] == "stat"]
            ident = f"{panel['title']}/{target['refId']}"
            assert merges == allowed, (ident, [m.expr for m in merges if m not in allowed])
