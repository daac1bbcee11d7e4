"""Every dashboard query, with Grafana's variables substituted, parses in both PromQL parsers
(promql-parser and Prometheus 2.42 itself) and returns series from Prometheus scraping the
exporter in demo mode: a wrong metric name, label or join shows up as an empty result.

Queries that list exceptions (``livepeer_studio_session_healthy == 0``) may rightly be empty
while the simulated world is healthy; they run as given (and must not error), and their
filter-free form (:func:`tests.e2e.promql.without_filters`) must return series. A misspelt
label in ``by``/``on``/``group_left`` merges series instead of emptying the result, so every
such label must be on the series it is taken from.
"""

from __future__ import annotations

import pytest

from tests.e2e.grafana import (
    PanelQuery,
    VariableQuery,
    load_dashboards,
    panel_queries,
    substitute,
    variable_queries,
)
from tests.e2e.params import cases, present
from tests.e2e.prometheus import PrometheusServer
from tests.e2e.promql import missing_labels, parse, without_filters

_DASHBOARDS = load_dashboards()
_MISSING = "no dashboard queries under grafana/dashboards"


def _parses(expr: str, prometheus: PrometheusServer) -> None:
    try:
        parse(expr)
    except ValueError as error:
        pytest.fail(f"promql-parser rejects {expr!r}: {error}")
    prometheus.format_query(expr)


@pytest.mark.parametrize("query", cases(panel_queries(_DASHBOARDS), lambda q: q.id, _MISSING))
def test_panel_query_returns_series(query: PanelQuery | None, prometheus: PrometheusServer) -> None:
    """A panel's query parses in both parsers, runs, and (filters aside) returns series
    carrying every label it groups or joins by."""
    query = present(query, _MISSING)
    expr = substitute(query.expr)
    _parses(expr, prometheus)
    prometheus.query(expr)
    probe = without_filters(expr)
    assert prometheus.query(probe), f"no series for {probe!r}"
    assert not missing_labels(expr, prometheus.query)


@pytest.mark.parametrize("variable", cases(variable_queries(_DASHBOARDS), lambda v: v.id, _MISSING))
def test_variable_query_finds_label_values(
    variable: VariableQuery | None, prometheus: PrometheusServer
) -> None:
    """A ``label_values(selector, label)`` variable's selector returns series with that label."""
    variable = present(variable, _MISSING)
    selector = substitute(variable.selector)
    _parses(selector, prometheus)
    values = {
        series["metric"][variable.label]
        for series in prometheus.query(selector)
        if variable.label in series["metric"]
    }
    assert values, f"{selector!r} has no series with a {variable.label!r} label"
