"""PromQL taken apart with promql-parser, so a test can prove an expression's parts.

A query that filters (``x == 0``) or an alert's condition may rightly return nothing while
all is well; what still must hold is that its metric names, labels and joins match what the
exporter serves. :func:`without_filters` drops the comparisons against constants,
:func:`selectors` lists every series selector, so each can be queried on its own, and
:func:`missing_labels` checks that every label named in ``by``, ``on``, ``ignoring`` and
``group_left`` exists: a misspelt one there does not empty the result, it merges series.
:func:`target_merges` finds the aggregations and joins that merge the series of several targets
of one exporter.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

import promql_parser

from tests.e2e.prometheus import Series

__all__ = [
    "COUNTER_SUFFIXES",
    "PROCESS_WIDE",
    "LabelUse",
    "TargetMerge",
    "counters_outside_range",
    "label_uses",
    "missing_labels",
    "parse",
    "selectors",
    "target_merges",
    "without_filters",
]

_COMPARISONS = frozenset({"==", "!=", ">", "<", ">=", "<="})

COUNTER_SUFFIXES = ("_total", "_bucket")
"""Series that only make sense through ``rate()``/``increase()`` (counters, histogram buckets)."""


def parse(expr: str) -> promql_parser.Expr:
    """The AST of ``expr``; promql-parser's ``ValueError`` names the problem."""
    return promql_parser.parse(expr)


def _is_filter(node: promql_parser.BinaryExpr) -> bool:
    modifier = node.modifier
    return str(node.op) in _COMPARISONS and not (modifier is not None and modifier.return_bool)


def without_filters(expr: str) -> str:
    """``expr`` with every comparison against a number literal replaced by its vector side.

    ``(a == 0) * on (x) group_left (y) b`` becomes ``(a) * on (x) group_left (y) b``: the same
    selectors and joins, without the condition that may make the result empty.
    """

    def relax(node: promql_parser.Expr) -> promql_parser.Expr | None:
        if isinstance(node, promql_parser.BinaryExpr) and _is_filter(node):
            if isinstance(node.rhs, promql_parser.NumberLiteral):
                return node.lhs
            if isinstance(node.lhs, promql_parser.NumberLiteral):
                return node.rhs
        return None

    return str(promql_parser.transform(parse(expr), post_visit=relax))


def selectors(expr: str) -> list[str]:
    """Every vector selector in ``expr`` (also those inside range selectors), as PromQL.

    ``offset`` and ``@`` are dropped: a young test server has no data that far back.
    """
    found: list[str] = []

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            node.offset = None
            node.at = None
            text = str(node)
            if text not in found:
                found.append(text)

    promql_parser.walk(parse(expr), pre_visit=visit)
    return found


def counters_outside_range(expr: str) -> list[str]:
    """Counter and bucket selectors read raw, not through a range (``rate(x[...])``)."""
    depth = 0
    found: list[str] = []

    def enter(node: promql_parser.Expr) -> None:
        nonlocal depth
        if isinstance(node, promql_parser.MatrixSelector):
            depth += 1
        elif isinstance(node, promql_parser.VectorSelector) and depth == 0:
            name = node.name or ""
            if name.endswith(COUNTER_SUFFIXES):
                found.append(str(node))

    def leave(node: promql_parser.Expr) -> None:
        nonlocal depth
        if isinstance(node, promql_parser.MatrixSelector):
            depth -= 1

    promql_parser.walk(parse(expr), pre_visit=enter, post_visit=leave)
    return found


@dataclass(frozen=True)
class LabelUse:
    """Labels a clause names, which must be on some series of the expressions ``among``."""

    clause: str
    labels: tuple[str, ...]
    among: tuple[str, ...]


def label_uses(expr: str) -> list[LabelUse]:
    """The label lists of ``by (...)``, ``on (...)``, ``ignoring (...)`` and ``group_*``.

    ``by`` labels come from the aggregated expression; ``on`` labels from both sides (each
    side a use of its own); ``ignoring`` labels from either side; ``group_left`` labels from
    the right-hand ("one") side, ``group_right`` labels from the left.
    """
    uses: list[LabelUse] = []

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.AggregateExpr):
            modifier = node.modifier
            if modifier is not None and modifier.type == promql_parser.AggModifierType.By:
                clause = f"by ({', '.join(modifier.labels)})"
                uses.append(LabelUse(clause, tuple(modifier.labels), (str(node.expr),)))
        elif isinstance(node, promql_parser.BinaryExpr) and node.modifier is not None:
            lhs, rhs = str(node.lhs), str(node.rhs)
            matching = node.modifier.matching
            if matching is not None and matching.labels:
                labels = tuple(matching.labels)
                clause = (
                    f"{'on' if matching.type == _INCLUDE else 'ignoring'} ({', '.join(labels)})"
                )
                if matching.type == _INCLUDE:
                    uses.extend(
                        [LabelUse(clause, labels, (lhs,)), LabelUse(clause, labels, (rhs,))]
                    )
                else:
                    uses.append(LabelUse(clause, labels, (lhs, rhs)))
            group = node.modifier.group_labels
            if group:
                card = node.modifier.card
                one_side = rhs if card == promql_parser.VectorMatchCardinality.ManyToOne else lhs
                uses.append(LabelUse(f"group ({', '.join(group)})", tuple(group), (one_side,)))

    promql_parser.walk(parse(expr), pre_visit=visit)
    return uses


_INCLUDE = promql_parser.LabelModifierType.Include

PROCESS_WIDE: Final = re.compile(
    r"up|process_\w+|python_\w+"
    r"|livesession_exporter_(build_info|config_\w+|shard_ordinal|total_shards)"
)
"""Series about an exporter process, not one of its targets: they alone have no ``target``
label (metrics.md, targets.md); every data series and every other self-metric has one."""

_SELECTING = frozenset({"topk", "bottomk", "limitk", "limit_ratio"})
"""Aggregations that pick series and keep their labels rather than merging them."""


@dataclass(frozen=True)
class TargetMerge:
    """An aggregation or a join in a query that merges series of different targets.

    ``total`` is an aggregation without any grouping, a headline total over every selected
    target; anything else (``by`` without ``target``, ``without (target)``, ``on`` without
    ``target``, ``ignoring (target)``) keeps other labels but loses the target.
    """

    expr: str
    total: bool


def _per_target(node: promql_parser.Expr) -> bool:
    """Whether ``node`` selects any series that carries ``target``."""
    found = False

    def visit(inner: promql_parser.Expr) -> None:
        nonlocal found
        if isinstance(inner, promql_parser.VectorSelector):
            found |= not PROCESS_WIDE.fullmatch(inner.name or "")

    promql_parser.walk(node, pre_visit=visit)
    return found


def target_merges(expr: str) -> list[TargetMerge]:
    """Where ``expr`` merges the series of several targets (see :class:`TargetMerge`)."""
    merges: list[TargetMerge] = []

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.AggregateExpr):
            if str(node.op) in _SELECTING or not _per_target(node.expr):
                return
            modifier = node.modifier
            if modifier is None:
                merges.append(TargetMerge(str(node), total=True))
            elif (modifier.type == promql_parser.AggModifierType.By) != (
                "target" in modifier.labels
            ):
                merges.append(TargetMerge(str(node), total=False))
        elif isinstance(node, promql_parser.BinaryExpr) and node.modifier is not None:
            matching = node.modifier.matching
            if matching is None or not (_per_target(node.lhs) and _per_target(node.rhs)):
                return
            if (matching.type == _INCLUDE) != ("target" in matching.labels):
                merges.append(TargetMerge(str(node), total=False))

    promql_parser.walk(parse(expr), pre_visit=visit)
    return merges


def missing_labels(expr: str, query: Callable[[str], Sequence[Series]]) -> list[str]:
    """What :func:`label_uses` names but no series carries, with filters relaxed."""
    problems = []
    for use in label_uses(expr):
        found: set[str] = set()
        for sub in use.among:
            for series in query(without_filters(sub)):
                found |= set(series["metric"])
        problems += [
            f"{label!r} of {use.clause} is on no series of {' or '.join(use.among)}"
            for label in use.labels
            if label not in found
        ]
    return problems
