"""Strict YAML: one document read into a small tree whose every node knows its line.

PyYAML's loaders quietly keep the last of two equal keys and lose line numbers, and a
configuration error must name the key's path and line. So the document is composed (parsed to
nodes with marks) and converted here; equal keys are problems, every problem is collected.
Scalars keep YAML's resolved type (``60`` is an int, ``60s`` a string, ``true`` a bool), so a
wrong type is caught by whoever reads the tree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import yaml

from exporter.errors import ConfigError

__all__ = ["Map", "Node", "Scalar", "Seq", "parse_yaml"]

_MAX_NODES: Final = 250_000
"""Values a file may hold, aliases expanded: thousands of targets, never a billion laughs."""
_TYPES: Final = {
    "tag:yaml.org,2002:str": "string",
    "tag:yaml.org,2002:int": "integer",
    "tag:yaml.org,2002:float": "number",
    "tag:yaml.org,2002:bool": "boolean",
    "tag:yaml.org,2002:null": "null",
}


@dataclass(frozen=True, slots=True)
class Scalar:
    """A scalar as written, with YAML's type for it (``string``, ``integer``, ``boolean``…)."""

    text: str
    type: str
    line: int

    @property
    def kind(self) -> str:
        return self.type


@dataclass(frozen=True, slots=True)
class Map:
    """A mapping of string keys; each entry keeps the line of its key."""

    entries: dict[str, tuple[int, Node]]
    line: int

    @property
    def kind(self) -> str:
        return "mapping"


@dataclass(frozen=True, slots=True)
class Seq:
    items: tuple[Node, ...]
    line: int

    @property
    def kind(self) -> str:
        return "list"


Node = Scalar | Map | Seq


def parse_yaml(text: str, origin: str) -> tuple[Node | None, list[str]]:
    """The one document of ``text`` (None when there is none) and the problems found in it;
    ConfigError when it is not YAML at all.

    ``origin`` (the file's path) starts every problem, as ``origin:line: ...``. Of two equal
    keys the first is kept (and the second is a problem), so the rest is still checked.
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:
        raise ConfigError([f"{origin}: nested too deeply to be a targets file"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{origin}:{mark.line + 1}" if mark is not None else origin
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ConfigError([f"{where}: invalid YAML: {problem}"]) from None
    if root is None:
        return None, []
    problems: list[str] = []
    budget = [_MAX_NODES]
    try:
        return _convert(root, origin, "", problems, budget), problems
    except RecursionError:
        raise ConfigError([f"{origin}: nested too deeply to be a targets file"]) from None


def _convert(
    node: yaml.Node, origin: str, path: str, problems: list[str], budget: list[int]
) -> Node:
    budget[0] -= 1
    if budget[0] < 0:  # aliases of aliases expand exponentially: a few lines, billions of nodes
        raise ConfigError([f"{origin}: more than {_MAX_NODES:,} values once aliases expand"])
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        entries: dict[str, tuple[int, Node]] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode) or _type(key_node) != "string":
                problems.append(f"{origin}:{key_line}: {path or 'top level'}: keys must be text")
                continue
            key = key_node.value
            here = f"{path}.{key}" if path else key
            if key in entries:
                problems.append(f"{origin}:{key_line}: {here}: duplicate key")
                continue
            entries[key] = (key_line, _convert(value_node, origin, here, problems, budget))
        return Map(entries, line)
    if isinstance(node, yaml.SequenceNode):
        items = tuple(
            _convert(item, origin, f"{path}[{index}]", problems, budget)
            for index, item in enumerate(node.value)
        )
        return Seq(items, line)
    assert isinstance(node, yaml.ScalarNode)  # noqa: S101  # the three node kinds of YAML
    return Scalar(str(node.value), _type(node), line)


def _type(node: yaml.ScalarNode) -> str:
    return _TYPES.get(node.tag, node.tag)
