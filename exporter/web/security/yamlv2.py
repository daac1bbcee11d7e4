"""YAML decoded as Go's ``yaml.v2`` ``UnmarshalStrict`` decodes it into typed structs.

The exporter-toolkit reads the web config with yaml.v2, whose rules differ from PyYAML's
(and from the strict loader of the exporter's own config file): any scalar is a string's raw
text, ``y``/``on`` are booleans, only the first document counts, the keys of a merge (``<<``)
apply where the merge stands, an anchor may be redefined. A file promtool accepts must load
and one it refuses must not, so this module replays yaml.v2's decode.go and resolve.go over
libyaml's events (the parser both are built on) against a small schema of Go types.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

import yaml

from exporter.web.security.goscalars import TagMismatch, as_int64, go_quote, resolve, short_tag

__all__ = ["Map", "Named", "Scalar", "Slice", "Struct", "Type", "decode", "zero"]

_LOADER: Final = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_LONG: Final = "tag:yaml.org,2002:"


@dataclass(frozen=True, slots=True)
class Scalar:
    """A Go string, bool or integer field; ``go`` is its type's name in messages.

    An integer with ``parse`` also takes a string through it (``time.Duration`` takes
    ``"1s"`` through ``time.ParseDuration``); ``secret`` values are never quoted.
    """

    kind: Literal["string", "bool", "int"]
    go: str
    secret: bool = False
    parse: Callable[[str], int | None] | None = None


@dataclass(frozen=True, slots=True)
class Named:
    """A Go type whose ``UnmarshalYAML`` reads a string and looks it up in ``names``.

    A text not there is refused as ``unknown {what}: {text}``. yaml.v2 skips the unmarshaler
    for ``~``, ``null`` and an empty value, which leave Go's zero (None), but not ``Null``.
    """

    go: str
    what: str
    names: frozenset[str]


@dataclass(frozen=True, slots=True)
class Slice:
    """``[]elem``: null is Go's nil (None), which differs from ``[]`` (an empty list)."""

    elem: Type
    go: str


@dataclass(frozen=True, slots=True)
class Map:
    """``map[string]elem``; strict yaml.v2 refuses a key set twice, through merges too."""

    elem: Type
    go: str


@dataclass(frozen=True, slots=True)
class Struct:
    """A Go struct by its yaml tags; strict yaml.v2 refuses any other key."""

    go: str
    fields: Mapping[str, Type]


Type = Scalar | Named | Slice | Map | Struct
_STRING: Final = Scalar("string", "string")


def zero(typ: Type) -> object:
    """Go's zero value: what null decodes to (a struct's is a dict of its fields' zeros)."""
    if isinstance(typ, Struct):
        return {name: zero(sub) for name, sub in typ.fields.items()}
    if isinstance(typ, Scalar):
        return {"string": "", "bool": False, "int": 0}[typ.kind]
    return None


def decode(text: str, root: Struct, value: dict[str, object]) -> tuple[object, list[str]]:
    """``text``'s first document decoded into ``value`` (``root``'s defaults, changed in
    place) and every problem: yaml.v2's message, after the line and the key path."""
    decoder = _Decoder()
    try:
        node, count = _compose(text)
        decoder.budget = 10_000 + 10 * count
        if node is None:  # no document at all: Go leaves the defaults alone
            return value, []
        result = decoder.decode(node, root, value, "")
        return (value if result is _FAIL else result), decoder.problems
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        return value, [f"yaml: {where}{getattr(exc, 'problem', None) or exc}"]
    except _Abort as exc:
        return value, [*decoder.problems, f"yaml: {exc}"]
    except RecursionError:
        return value, ["yaml: nested too deeply"]


@dataclass(eq=False, slots=True)
class _Node:
    kind: Literal["scalar", "mapping", "sequence", "alias"]
    line: int
    tag: str = ""
    value: str = ""
    implicit: bool = False
    """Plain and untagged (or tagged ``!``): its type comes from its text."""
    children: list[_Node] = field(default_factory=list)
    target: _Node | None = None


class _Abort(Exception):
    """Where yaml.v2 stops rather than collects: recursion, excess, bad merges, bad base64."""


_FAIL: Final = object()
"""Nothing decoded: yaml.v2 leaves the field as it was."""


def _compose(text: str) -> tuple[_Node | None, int]:
    # Nodes from libyaml's events rather than PyYAML's composer, which refuses a redefined
    # anchor and forgets whether a scalar's tag was explicit; both matter to yaml.v2.
    anchors: dict[str, _Node] = {}
    stack: list[_Node] = []
    root: _Node | None = None
    count = 0
    # leaving the loop drops the generator, whose finally disposes of the parser at once
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.StreamEndEvent | yaml.DocumentEndEvent):
            break  # the first document only, as yaml.v2 reads it
        if isinstance(event, yaml.CollectionEndEvent):
            stack.pop()
        if not isinstance(event, yaml.NodeEvent):
            continue
        count += 1
        line = event.start_mark.line if event.start_mark is not None else 0
        if isinstance(event, yaml.AliasEvent):
            if event.anchor not in anchors:
                raise _Abort(f"line {line + 1}: unknown anchor '{event.anchor}' referenced")
            node = _Node("alias", line, value=event.anchor, target=anchors[event.anchor])
        elif isinstance(event, yaml.ScalarEvent):
            node = _Node("scalar", line, event.tag or "", event.value, event.implicit[0])
        else:
            assert isinstance(event, yaml.CollectionStartEvent)  # noqa: S101  # the third kind
            mapping = isinstance(event, yaml.MappingStartEvent)
            node = _Node("mapping" if mapping else "sequence", line, event.tag or "")
        if event.anchor is not None and node.target is None:
            anchors[event.anchor] = node  # a later anchor of the same name wins
        if stack:
            stack[-1].children.append(node)
        else:
            root = node
        if node.kind in ("mapping", "sequence"):
            stack.append(node)
    return root, count


class _Decoder:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.budget = 0
        self._aliases: set[int] = set()

    def problem(self, node: _Node, path: str, message: str) -> object:
        where = f"line {node.line + 1}: {path}: " if path else f"line {node.line + 1}: "
        self.problems.append(where + message)
        return _FAIL

    def decode(self, node: _Node, typ: Type, current: object, path: str) -> object:
        self.budget -= 1
        if self.budget < 0:  # merges of merges grow exponentially: a few lines, hours of work
            raise _Abort("document contains excessive aliasing")
        if node.target is not None:
            if id(node) in self._aliases:
                raise _Abort(f"anchor '{node.value}' value contains itself")
            self._aliases.add(id(node))
            try:
                return self.decode(node.target, typ, current, path)
            finally:
                self._aliases.discard(id(node))
        if isinstance(typ, Named) and not _prepared_null(node):
            text = self.decode(node, _STRING, None, path)
            if isinstance(text, str) and text not in typ.names:
                return self.problem(node, path, f"unknown {typ.what}: {text}")
            return text
        if node.kind == "scalar":
            return self._scalar(node, typ, path)
        if node.kind == "mapping" and isinstance(typ, Struct | Map):
            return self._mapping(node, typ, current, path)
        if node.kind == "sequence" and isinstance(typ, Slice):
            items = [
                self.decode(child, typ.elem, None, f"{path}[{index}]")
                for index, child in enumerate(node.children)
            ]
            return [item for item in items if item is not _FAIL]
        return self._terror(node, "!!map" if node.kind == "mapping" else "!!seq", typ, path)

    def _scalar(self, node: _Node, typ: Type, path: str) -> object:
        tag: str = "!!str"
        resolved: object = node.value
        if node.tag or node.implicit:
            try:
                tag, resolved = resolve(node.tag, node.value)
            except TagMismatch as exc:
                shown = "<hidden>" if isinstance(typ, Scalar) and typ.secret else node.value
                return self.problem(
                    node, path, f"cannot decode {exc.found} `{shown}` as a {exc.tag}"
                )
        if tag == "!!binary":
            try:
                resolved = base64.b64decode(re.sub("[\r\n]", "", node.value), validate=True)
            except binascii.Error:
                raise _Abort("!!binary value contains invalid base64 data") from None
        if resolved is None:
            return zero(typ)
        if isinstance(typ, Scalar) and typ.kind == "string":
            if not isinstance(resolved, bytes):
                return node.value
            try:
                return resolved.decode()
            except UnicodeDecodeError:
                return self.problem(node, path, "!!binary value is not UTF-8 text")
        if isinstance(typ, Scalar) and typ.kind == "bool" and isinstance(resolved, bool):
            return resolved
        if isinstance(typ, Scalar) and typ.kind == "int" and not isinstance(resolved, bool):
            number = as_int64(resolved)
            if number is None and isinstance(resolved, str) and typ.parse is not None:
                number = typ.parse(resolved)
            if number is not None:
                return number
        return self._terror(node, tag, typ, path)

    def _mapping(self, node: _Node, typ: Struct | Map, current: object, path: str) -> object:
        out: dict[str, object] = current if isinstance(current, dict) else {}
        done: set[str] = set()  # per mapping, so a merged field may be set again (doneFields)
        for key, value in zip(node.children[::2], node.children[1::2], strict=True):
            if (
                key.kind == "scalar"
                and key.value == "<<"
                and (key.implicit or key.tag == _LONG + "merge")
            ):
                self._merge(value, typ, out, path)
                continue
            name = self.decode(key, _STRING, None, path)
            if not isinstance(name, str):
                continue
            here = f"{path}.{name}" if path else name
            if isinstance(typ, Map):
                item = self.decode(value, typ.elem, None, here)
                if item is not _FAIL and name in out:
                    self.problem(value, path, f"key {go_quote(name)} already set in map")
                elif item is not _FAIL:
                    out[name] = item
            elif name not in typ.fields or name in done:
                why = "already set" if name in done else "not found"
                self.problem(key, path, f"field {name} {why} in type {typ.go}")
            else:
                done.add(name)
                item = self.decode(value, typ.fields[name], out.get(name), here)
                if item is not _FAIL:
                    out[name] = item
        return out

    def _merge(self, node: _Node, typ: Struct | Map, out: dict[str, object], path: str) -> None:
        # a sequence merges backwards, so that its earlier mappings win
        merged = node.children[::-1] if node.kind == "sequence" else [node]
        if not all((item.target or item).kind == "mapping" for item in merged):
            raise _Abort("map merge requires map or sequence of maps as the value")
        for item in merged:
            self.decode(item, typ, out, path)

    def _terror(self, node: _Node, tag: str, typ: Type, path: str) -> object:
        short = short_tag(node.tag) if node.tag else tag
        value = node.value if len(node.value) <= 10 else node.value[:7] + "..."
        shown = "" if short in ("!!seq", "!!map") else f" `{value}`"
        return self.problem(node, path, f"cannot unmarshal {short}{shown} into {typ.go}")


def _prepared_null(node: _Node) -> bool:
    # yaml.v2's prepare(): these skip an UnmarshalYAML (quoted "null" too, but not Null)
    return node.tag == _LONG + "null" or (
        node.kind == "scalar"
        and not node.tag
        and (node.value in ("null", "~") or (node.value == "" and node.implicit))
    )
