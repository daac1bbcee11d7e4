"""Strict YAML (exporter.config.yamlfile): one document, every node with its line, YAML's own
scalar types kept, duplicate keys and syntax errors reported at their line."""

from __future__ import annotations

import pytest

from exporter.config.yamlfile import Map, Scalar, Seq, parse_yaml
from exporter.errors import ConfigError

ORIGIN = "conf/targets.yaml"


def parse_map(text: str) -> Map:
    root, found = parse_yaml(text, ORIGIN)
    assert isinstance(root, Map)
    assert found == []
    return root


def problems(text: str) -> list[str]:
    """What is wrong with ``text``: the problems beside its tree, or the syntax error."""
    try:
        _, found = parse_yaml(text, ORIGIN)
    except ConfigError as exc:
        return list(exc.problems)
    return found


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("60", "integer"),
        ("60s", "string"),
        ("'60'", "string"),
        ('"60"', "string"),
        ("true", "boolean"),
        ("'true'", "string"),
        ("1.5", "number"),
        ("~", "null"),
        ("", "null"),
        ("p_abc123", "string"),
    ],
)
def test_scalars_keep_yamls_type(value: str, kind: str) -> None:
    """60 is an integer and 60s a string: a wrong type stays visible to the reader."""
    (line, node) = parse_map(f"key: {value}\n").entries["key"]
    assert isinstance(node, Scalar)
    assert (line, node.type) == (1, kind)


def test_quoted_scalars_keep_their_text() -> None:
    """The text is the value as written, quotes removed."""
    (_, node) = parse_map("key: ' padded '\n").entries["key"]
    assert isinstance(node, Scalar)
    assert node.text == " padded "


def test_every_key_knows_its_line() -> None:
    """Each mapping entry keeps the line of its key, at any depth, in lists too."""
    root = parse_map("a: 1\nlivekit:\n  - name: x\n\n    page_size: 3\n  - name: y\n")
    assert root.entries["a"][0] == 1
    line, targets = root.entries["livekit"]
    assert line == 2
    assert isinstance(targets, Seq)
    first, second = targets.items
    assert isinstance(first, Map)
    assert isinstance(second, Map)
    assert (first.entries["name"][0], first.entries["page_size"][0]) == (3, 5)
    assert second.entries["name"][0] == 6


def test_an_empty_document_is_none() -> None:
    """A file with only comments holds no document."""
    assert parse_yaml("# nothing here\n", ORIGIN) == (None, [])


def test_a_duplicate_key_is_a_problem_at_the_second_line() -> None:
    """YAML loaders silently keep one of two equal keys; here it is a problem at the second,
    and the first is kept so the rest of the file is still checked."""
    text = "livekit:\n  - name: a\n    page_size: 1\n    page_size: 2\n"
    assert problems(text) == [f"{ORIGIN}:4: livekit[0].page_size: duplicate key"]
    root, _ = parse_yaml(text, ORIGIN)
    assert isinstance(root, Map)
    targets = root.entries["livekit"][1]
    assert isinstance(targets, Seq)
    target = targets.items[0]
    assert isinstance(target, Map)
    kept = target.entries["page_size"][1]
    assert isinstance(kept, Scalar)
    assert kept.text == "1"


def test_every_duplicate_key_is_reported() -> None:
    """Several duplicates, at several depths, are all reported at once."""
    found = problems("a: 1\na: 2\nb:\n  c: 1\n  c: 2\n")
    assert len(found) == 2
    assert found[0].startswith(f"{ORIGIN}:2: a")
    assert found[1].startswith(f"{ORIGIN}:5: b.c")


@pytest.mark.parametrize("text", ["? [a, b]\n: 1\n", "1: x\n", "true: x\n"])
def test_non_text_keys_are_problems(text: str) -> None:
    """Keys are names: a list, a number or a boolean as a key is a problem at its line."""
    (found,) = problems(text)
    assert found.startswith(f"{ORIGIN}:1:")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: 1\nb: [1,\nc: 2\n", 4),
        ("livekit:\n  - name: a\n\tproject_id: p\n", 3),
        ("a: 1\n---\nb: 2\n", 2),
        ("a: *nowhere\n", 1),
    ],
    ids=["unclosed-list", "tab", "two-documents", "undefined-alias"],
)
def test_invalid_yaml_is_one_problem_with_a_line(text: str, line: int) -> None:
    """Syntax errors name the line where parsing stopped and say it is not valid YAML."""
    (found,) = problems(text)
    assert found.startswith(f"{ORIGIN}:{line}: invalid YAML")


def test_an_alias_bomb_is_refused_quickly() -> None:
    """Nine lines of aliases would expand to a billion values; the file is refused instead."""
    lines = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for index in range(1, 9):
        prev, here = chr(ord("a") + index - 1), chr(ord("a") + index)
        lines.append(f"{here}: &{here} [{', '.join([f'*{prev}'] * 10)}]")
    (found,) = problems("\n".join(lines) + "\n")
    assert found == f"{ORIGIN}: more than 250,000 values once aliases expand"


def test_nesting_beyond_the_parser_is_one_problem() -> None:
    """A document nested deeper than the parser's recursion is refused, not a crash."""
    (found,) = problems("[" * 5000 + "]" * 5000 + "\n")
    assert found == f"{ORIGIN}: nested too deeply to be a targets file"
