"""The shipped Prometheus rule files (``deploy/prometheus/*.rules.yml``) as data.

The test server loads copies whose groups evaluate every second (:func:`fast_copy`), so the
recorded series exist moments after the first scrapes; the expressions are the shipped ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

__all__ = ["RULES_DIR", "Rule", "fast_copy", "load_rules", "rule_files"]

ROOT = Path(__file__).resolve().parents[2]
RULES_DIR: Final = ROOT / "deploy" / "prometheus"


@dataclass(frozen=True)
class Rule:
    """One recording or alerting rule of one group."""

    file: str
    group: str
    name: str
    kind: str  # "record" or "alert"
    expr: str

    @property
    def id(self) -> str:
        return f"{self.file}:{self.group}:{self.kind}:{self.name}"


def rule_files() -> list[Path]:
    """Every rule file Prometheus is meant to load."""
    return sorted(RULES_DIR.glob("*.rules.yml"))


def _read(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict), f"{path}: not a mapping"
    return document


def load_rules(paths: list[Path]) -> list[Rule]:
    found = []
    for path in paths:
        for group in _read(path).get("groups") or []:
            for rule in group.get("rules") or []:
                kind = "record" if "record" in rule else "alert"
                found.append(
                    Rule(
                        file=path.name,
                        group=str(group.get("name")),
                        name=str(rule.get(kind)),
                        kind=kind,
                        expr=str(rule.get("expr")),
                    )
                )
    return found


def fast_copy(path: Path, directory: Path) -> Path:
    """A copy of ``path`` in ``directory`` whose every group evaluates each second."""
    document = _read(path)
    for group in document.get("groups") or []:
        group["interval"] = "1s"
    copy = directory / path.name
    copy.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return copy
