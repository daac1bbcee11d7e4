"""The shipped Grafana dashboards as data: their panels, queries and variables.

No Grafana server is obtainable on these machines, so the tests do what Grafana would do to
a query before sending it to Prometheus: substitute the dashboard variables.
:func:`substitute` maps the built-in intervals to fixed durations and every dashboard
variable to ``.*`` (the ``allValue`` of each variable, which the dashboards only use inside
``=~"..."`` matchers; :func:`variable_uses_outside_regex` checks that).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

__all__ = [
    "BUILTIN_INTERVALS",
    "DASHBOARDS",
    "EXPECTED_UIDS",
    "PanelQuery",
    "VariableQuery",
    "load_dashboards",
    "panel_queries",
    "panels",
    "referenced_variables",
    "substitute",
    "variable_queries",
    "variable_uses_outside_regex",
]

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS: Final = ROOT / "grafana" / "dashboards"

EXPECTED_UIDS: Final = {
    "livekit-cloud.json": "livesession-livekit",
    "livepeer-studio.json": "livesession-livepeer",
    "livesession-exporter.json": "livesession-exporter",
}
"""File name → dashboard uid. Links and bookmarks use the uid, so it never changes."""

BUILTIN_INTERVALS: Final = {
    # Grafana derives this from the time range and the datasource's scrape interval; 5m is
    # its usual value. rate() needs two samples inside the window, and a window longer than
    # the data so far still holds every sample, so 5m works seconds after the first scrape.
    "__rate_interval": "5m",
    "__interval": "1m",
    "__range": "1h",
}

# $name, ${name}, ${name:format}, [[name]]
_VARIABLE = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\$(\w+)|\[\[(\w+)\]\]")
_REGEX_USE = re.compile(r'=~"(?:\$\{\w+\}|\$\w+)"')
_LABEL_VALUES = re.compile(r"^\s*label_values\(\s*(?P<selector>.+?)\s*,\s*(?P<label>\w+)\s*\)\s*$")


def load_dashboards() -> dict[str, dict[str, Any]]:
    """Every ``grafana/dashboards/*.json`` by file name."""
    return {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(DASHBOARDS.glob("*.json"))
    }


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, including those nested in (collapsed) row panels, rows themselves too."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


@dataclass(frozen=True)
class PanelQuery:
    """One target's ``expr`` in one panel."""

    dashboard: str
    panel: str
    ref: str
    expr: str

    @property
    def id(self) -> str:
        return f"{self.dashboard}/{self.panel}/{self.ref}"


@dataclass(frozen=True)
class VariableQuery:
    """A ``label_values(selector, label)`` template variable."""

    dashboard: str
    name: str
    selector: str
    label: str

    @property
    def id(self) -> str:
        return f"{self.dashboard}/${self.name}"


def panel_queries(dashboards: dict[str, dict[str, Any]]) -> list[PanelQuery]:
    return [
        PanelQuery(
            dashboard=dashboard["uid"],
            panel=panel.get("title", f"panel {panel.get('id')}"),
            ref=target.get("refId", "?"),
            expr=target["expr"],
        )
        for dashboard in dashboards.values()
        for panel in panels(dashboard)
        for target in panel.get("targets", [])
        if "expr" in target
    ]


def variable_queries(dashboards: dict[str, dict[str, Any]]) -> list[VariableQuery]:
    """Every ``query`` variable; anything but ``label_values(selector, label)`` fails."""
    found = []
    for dashboard in dashboards.values():
        for variable in dashboard.get("templating", {}).get("list", []):
            if variable.get("type") != "query":
                continue
            query = variable.get("query")
            text = query.get("query", "") if isinstance(query, dict) else str(query)
            match = _LABEL_VALUES.match(text)
            assert match, f"{dashboard['uid']} ${variable['name']}: not label_values(): {text!r}"
            found.append(
                VariableQuery(
                    dashboard=dashboard["uid"],
                    name=variable["name"],
                    selector=match["selector"],
                    label=match["label"],
                )
            )
    return found


def referenced_variables(expr: str) -> set[str]:
    """Names of the variables ``expr`` uses, built-ins included."""
    return {next(g for g in match.groups() if g) for match in _VARIABLE.finditer(expr)}


def substitute(expr: str) -> str:
    """``expr`` as Grafana would send it with every variable at its "All" value (``.*``)."""

    def replace(match: re.Match[str]) -> str:
        name = next(g for g in match.groups() if g)
        if name in BUILTIN_INTERVALS:
            return BUILTIN_INTERVALS[name]
        if name.startswith("__"):
            raise AssertionError(f"no substitution known for Grafana's ${name} in {expr!r}")
        return ".*"

    return _VARIABLE.sub(replace, expr)


def variable_uses_outside_regex(expr: str) -> list[str]:
    """Uses of dashboard variables other than as a whole ``=~"$var"`` matcher value.

    Multi-value variables expand to ``a|b`` or ``.*``, which only a regex matcher handles.
    """
    rest = _REGEX_USE.sub("", expr)
    return sorted(name for name in referenced_variables(rest) if not name.startswith("__"))
