"""yamlv2: yaml.v2 UnmarshalStrict's decoding replayed on libyaml's events, over a toy schema.

Every rule here was checked against promtool 2.42 (which decodes with yaml.v2) while this
module was written; the web config's own cases are in test_schema.py and, against the real
promtool, in tests/integration/web/test_webconfig_parity.py.
"""

from __future__ import annotations

import pytest

from exporter.web.security import yamlv2

NAMES = yamlv2.Named("t.Name", "name", frozenset({"A", "B"}))
INNER = yamlv2.Struct("t.Inner", {"s": yamlv2.Scalar("string", "string"), "n": NAMES})
ROOT = yamlv2.Struct(
    "t.Root",
    {
        "s": yamlv2.Scalar("string", "string"),
        "secret": yamlv2.Scalar("string", "t.Secret", secret=True),
        "b": yamlv2.Scalar("bool", "bool"),
        "i": yamlv2.Scalar("int", "int"),
        "d": yamlv2.Scalar("int", "t.Duration", parse=lambda text: len(text)),
        "name": NAMES,
        "list": yamlv2.Slice(yamlv2.Scalar("string", "string"), "[]string"),
        "map": yamlv2.Map(yamlv2.Scalar("string", "string"), "map[string]string"),
        "inner": INNER,
    },
)


def decode(text: str) -> dict[str, object]:
    start = yamlv2.zero(ROOT)
    assert isinstance(start, dict)
    start["b"] = True  # a default that is not the zero value, as Go's getConfig sets
    value, problems = yamlv2.decode(text, ROOT, start)
    assert problems == [], problems
    assert isinstance(value, dict)
    return value


def problems(text: str) -> list[str]:
    start = yamlv2.zero(ROOT)
    assert isinstance(start, dict)
    _, found = yamlv2.decode(text, ROOT, start)
    assert found
    return found


def test_no_document_keeps_the_defaults_and_a_null_one_zeroes_them() -> None:
    """An empty stream changes nothing; ``~`` or a bare ``---`` is Go's zero struct."""
    assert decode("# nothing\n")["b"] is True
    assert decode("---\n")["b"] is False
    assert decode("~")["b"] is False


def test_only_the_first_document_is_read() -> None:
    """yaml.v2 stops after the first document: later unknown keys, even bad YAML, are unseen."""
    assert decode("s: one\n---\nunknown: 1\n---\n\t[bad")["s"] == "one"


def test_a_redefined_anchor_names_its_latest_node() -> None:
    """PyYAML's composer refuses a duplicate anchor; libyaml and yaml.v2 take the latest."""
    value = decode("list: [&x a, &x b]\ns: *x\n")
    assert value["s"] == "b"


def test_an_unknown_anchor_is_refused() -> None:
    """An alias with no anchor before it stops decoding."""
    assert problems("s: *nowhere") == ["yaml: line 1: unknown anchor 'nowhere' referenced"]


def test_a_merge_applies_where_it_stands() -> None:
    """yaml.v2 decodes ``<<`` in place: keys after it win, keys before it are overwritten."""
    assert decode("<<: {s: merged}\ns: own\n")["s"] == "own"
    assert decode("s: own\n<<: {s: merged}\n")["s"] == "merged"


def test_a_sequence_merge_lets_its_earlier_mappings_win() -> None:
    """Merged backwards, so the first mapping of the list is applied last."""
    value = decode("<<: [{s: first}, {s: second, i: 2}]\n")
    assert (value["s"], value["i"]) == ("first", 2)


def test_merges_reach_nested_structs_and_maps() -> None:
    """A merged struct field is decoded into the same value: fields combine."""
    value = decode("inner: {<<: {s: x}, n: A}\nmap: {<<: {k: v}, j: w}")
    assert value["inner"] == {"s": "x", "n": "A"}
    assert value["map"] == {"k": "v", "j": "w"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("map: {<<: {k: v}, k: w}", 'line 1: map: key "k" already set in map'),
        ("<<: ~", "yaml: map merge requires map or sequence of maps as the value"),
        ("<<: [a]", "yaml: map merge requires map or sequence of maps as the value"),
        ("list: &l [a]\n<<: *l", "yaml: map merge requires map or sequence of maps as the value"),
        ("inner: &r {<<: *r}", "yaml: anchor 'r' value contains itself"),
        ('"<<": {}', "line 1: field << not found in type t.Root"),
    ],
)
def test_merge_errors_follow_yaml_v2(text: str, message: str) -> None:
    """Strict maps refuse a merged key set again; merges take mappings; no self-reference."""
    assert message in problems(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x: 1", "line 1: field x not found in type t.Root"),
        ("~: 1", "line 1: field  not found in type t.Root"),
        ("[a]: 1", "line 1: cannot unmarshal !!seq into string"),
        ("s: 1\ns: 2", "line 2: field s already set in type t.Root"),
        ("inner: {x: 1}", "line 1: inner: field x not found in type t.Inner"),
        ("s: [a]", "line 1: s: cannot unmarshal !!seq into string"),
        ("s: {a: b}", "line 1: s: cannot unmarshal !!map into string"),
        ("list: {a: b}", "line 1: list: cannot unmarshal !!map into []string"),
        ("list: [[a]]", "line 1: list[0]: cannot unmarshal !!seq into string"),
        ("map: [a]", "line 1: map: cannot unmarshal !!seq into map[string]string"),
        ("inner: 5", "line 1: inner: cannot unmarshal !!int `5` into t.Inner"),
        ("b: abcdefghijk", "line 1: b: cannot unmarshal !!str `abcdefg...` into bool"),
        ("b: abcdefghij", "line 1: b: cannot unmarshal !!str `abcdefghij` into bool"),
        ("b: 2001-02-03", "line 1: b: cannot unmarshal !!timestamp `2001-02-03` into bool"),
        ("b: ! y", "line 1: b: cannot unmarshal ! `y` into bool"),
        ("b: !local y", "line 1: b: cannot unmarshal !local `y` into bool"),
        ("name: C", "line 1: name: unknown name: C"),
        ("name: Null", "line 1: name: unknown name: "),
        ('name: "null"', "line 1: name: cannot unmarshal !!str `null` into t.Name"),
        ("name: [A]", "line 1: name: cannot unmarshal !!seq into string"),
    ],
)
def test_type_errors_are_collected_with_yaml_v2s_words(text: str, message: str) -> None:
    """Line, key path, then yaml.v2's own message (values over 10 bytes cut to 7)."""
    assert message in problems(text)


def test_null_is_the_zero_value_of_each_type() -> None:
    """Strings "", bools false, ints 0, names/slices/maps None, structs their zero fields."""
    value = decode("s:\nb: ~\ni: null\nname:\nlist: ~\nmap:\ninner: ~\nsecret: NULL")
    assert value == {
        "s": "",
        "secret": "",
        "b": False,
        "i": 0,
        "d": 0,
        "name": None,
        "list": None,
        "map": None,
        "inner": {"s": "", "n": None},
    }
    assert decode("list: []\nmap: {}")["list"] == []


def test_strings_take_raw_text_and_binary_tags_are_decoded() -> None:
    """Any scalar is its text in a string; ``!!binary`` is base64, as yaml.v2 decodes it."""
    assert decode("s: 0x10")["s"] == "0x10"
    assert decode("s: !!str yes")["s"] == "yes"
    assert decode("s: !local text")["s"] == "text"
    assert decode("s: !!binary aGVsbG8=")["s"] == "hello"
    assert decode("s: |\n  two\n  lines\n")["s"] == "two\nlines\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("s: !!binary aGVsbG8", "yaml: !!binary value contains invalid base64 data"),
        ("s: !!binary //79", "line 1: s: !!binary value is not UTF-8 text"),
        ("b: !!int y", "line 1: b: cannot decode !!bool `y` as a !!int"),
        ("s: !!null x", "line 1: s: cannot decode !!str `x` as a !!null"),
        ("secret: !!int hunter2", "line 1: secret: cannot decode !!str `<hidden>` as a !!int"),
    ],
)
def test_explicit_tags_must_fit_their_text(text: str, message: str) -> None:
    """yaml.v2 stops on a tag its text cannot have; a secret's text is never shown."""
    assert message in problems(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("i: 10", 10),
        ("i: -0x10", -16),
        ("i: 010", 8),
        ("i: 0b101", 5),
        ("i: 1_000", 1000),
        ("i: 1.9", 1),
        ("i: -1.9", -1),
        ("i: 1e3", 1000),
        ("i: 08", 8),
        ("i: !!float 3", 3),
        ("i: -.inf", -(2**63)),
        ("i: 9223372036854775807", 2**63 - 1),
        ("d: 12345", 12345),
        ("d: abc", 3),
    ],
)
def test_integers_take_go_numbers_and_a_parser_takes_strings(text: str, expected: int) -> None:
    """strconv's bases, yaml.v2's float truncation; ``parse`` (a duration's) gets the rest."""
    value = decode(text)
    assert value[text[0]] == expected


@pytest.mark.parametrize(
    "text", ["i: 9223372036854775808", "i: .nan", "i: .inf", "i: 1e19", "i: true", "i: '5'"]
)
def test_integers_out_of_int64_or_of_another_type_are_refused(text: str) -> None:
    """Overflow, NaN and infinity, a bool or a quoted string do not fit an int."""
    assert "into int" in problems(text)[0]


def test_quoted_and_plain_bools_differ() -> None:
    """A quoted word is a string; ``on`` is a bool only when plain."""
    assert decode("b: off")["b"] is False
    assert "cannot unmarshal !!str `on` into bool" in problems("b: 'on'")[0]


def test_deep_nesting_is_a_problem_not_a_crash() -> None:
    """Thousands of nested merges exhaust no stack: one problem is reported."""
    depth = 900  # libyaml itself refuses 1000 levels
    found = problems("inner: " + "{<<: " * depth + "{}" + "}" * depth)
    assert found[-1] in ("yaml: nested too deeply", "yaml: document contains excessive aliasing")


def test_a_syntax_error_is_one_problem_without_the_text_around_it() -> None:
    """libyaml's problem and line, never a snippet of the file (it may hold a secret)."""
    found = problems('s: ok\nsecret: "hunter2\n')
    assert len(found) == 1
    assert found[0].startswith("yaml: line 3: ")
    assert "hunter2" not in found[0]
