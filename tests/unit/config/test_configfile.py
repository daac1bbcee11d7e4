"""``--config.file`` (targets.md, "The file" and "Precise points"): real files in tmp_path, read
through ``Settings.from_sources`` as a start reads them.

Every problem must start with ``<file>:<line>:`` and name the key's path; all of them come at
once; no secret value ever appears in one.
"""

from __future__ import annotations

import hashlib
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from exporter.config.settings import Settings
from exporter.config.targets import TargetSettings
from exporter.errors import ConfigError
from exporter.sources.livekit.settings import LiveKitSettings
from exporter.sources.livepeer.settings import LivepeerSettings
from exporter.sources.registry import SOURCES

LK_EU_SECRET = "lk-eu-secret-value-0123456789abcdef"
LK_US_SECRET = "lk-us-secret-value-0123456789abcdef"
LP_MAIN_KEY = "lp-main-key-value-0123456789abcdef"
LP_B_KEY = "lp-b-key-value-0123456789abcdef"
LIVEKIT = "livekit_cloud"
LIVEPEER = "livepeer_studio"

EXAMPLE = """\
defaults:
  livekit:
    poll_interval: 60s
    requests_per_minute: 90
  livepeer:
    recording_lookback: 2h
livekit:
  - name: prod-eu
    project_id: p_eu123
    api_key: APIeu
    api_secret_file: {dir}/lk-eu
    url: http://127.0.0.1:8080/
    token_ttl: 5m
    lookback_days: 3
    page_size: 250
    max_pages: 7
    details: false
    max_sessions: 0
  - name: prod-us
    project_id: p_us456
    api_key: APIus
    api_secret_env: LK_US_SECRET
    poll_interval: 15s
    enabled: false
livepeer:
  - name: studio-main
    api_key_file: {dir}/lp-main
    active_window: 2m
  - name: studio-b
    api_key_env: LP_B
    page_size: 1000
    requests_per_minute: 5
"""
"""The shape of targets.md; studio-b's last line is wrong (a LiveKit-only key) and is cut off
by :func:`example` unless a test wants it."""

EXAMPLE_ENV = {"LK_US_SECRET": LK_US_SECRET, "LP_B": LP_B_KEY}


def write(tmp_path: Path, text: str, name: str = "targets.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).format(dir=tmp_path), encoding="utf-8")
    return path


def example(tmp_path: Path) -> Path:
    """The example file with its secret files, valid."""
    (tmp_path / "lk-eu").write_text(f"{LK_EU_SECRET}\n")
    (tmp_path / "lp-main").write_text(f"  {LP_MAIN_KEY}\n\n")
    text = EXAMPLE.replace("    requests_per_minute: 5\n", "")
    return write(tmp_path, text)


def load(path: Path, argv: Sequence[str] = (), env: Mapping[str, str] | None = None) -> Settings:
    return Settings.from_sources(["--config.file", str(path), *argv], env or {}, SOURCES)


def problems(
    path: Path, argv: Sequence[str] = (), env: Mapping[str, str] | None = None
) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(path, argv, env)
    return list(info.value.problems)


def line_of(path: Path, needle: str, nth: int = 1) -> int:
    """The 1-based line of the ``nth`` line of ``path`` that contains ``needle``."""
    lines = [i for i, text in enumerate(path.read_text().splitlines(), 1) if needle in text]
    return lines[nth - 1]


def problem_at(found: Sequence[str], path: Path, line: int, *needles: str) -> str:
    """The one problem at ``path:line`` that mentions every needle."""
    at = [p for p in found if p.startswith(f"{path}:{line}:") and all(n in p for n in needles)]
    assert len(at) == 1, (line, needles, found)
    return at[0]


def livekit(target: TargetSettings) -> LiveKitSettings:
    assert isinstance(target.settings, LiveKitSettings)
    return target.settings


def livepeer(target: TargetSettings) -> LivepeerSettings:
    assert isinstance(target.settings, LivepeerSettings)
    return target.settings


def digest(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()[:16]


def by_name(settings: Settings, kind: str, name: str) -> TargetSettings:
    (target,) = [t for t in settings.targets if (t.kind, t.name) == (kind, name)]
    return target


LK_TARGET = """\
livekit:
  - name: a
    project_id: p_a
    api_key: APIa
    api_secret_env: LK_A
"""
LK_ENV = {"LK_A": LK_EU_SECRET}


# --- the example ---------------------------------------------------------------------------


def test_example_file_loads_every_target_in_file_order(tmp_path: Path) -> None:
    """Two LiveKit and two Livepeer targets, in file order, the disabled one kept and marked."""
    s = load(example(tmp_path), env=EXAMPLE_ENV)
    assert [(t.kind, t.name, t.enabled) for t in s.targets] == [
        (LIVEKIT, "prod-eu", True),
        (LIVEKIT, "prod-us", False),
        (LIVEPEER, "studio-main", True),
        (LIVEPEER, "studio-b", True),
    ]


def test_example_identities_are_project_ids_and_key_digests(tmp_path: Path) -> None:
    """LiveKit: the project id; Livepeer: sha256: and 16 hex digits of the (stripped) key."""
    s = load(example(tmp_path), env=EXAMPLE_ENV)
    assert [t.identity for t in s.targets] == [
        "p_eu123",
        "p_us456",
        digest(LP_MAIN_KEY),
        digest(LP_B_KEY),
    ]
    assert len(digest(LP_B_KEY)) == len("sha256:") + 16


def test_example_livekit_values_are_parsed_with_the_flags_types(tmp_path: Path) -> None:
    """Durations become seconds, integers ints, booleans bools, URLs lose their slash; keys
    not given take defaults, then the flags' built-in defaults."""
    s = load(example(tmp_path), env=EXAMPLE_ENV)
    eu = livekit(by_name(s, LIVEKIT, "prod-eu"))
    assert eu.credentials is not None
    assert (eu.credentials.project_id, eu.credentials.api_key) == ("p_eu123", "APIeu")
    assert eu.url == "http://127.0.0.1:8080"
    assert (eu.poll_interval, eu.token_ttl, eu.lookback_days) == (60.0, 300.0, 3)
    assert (eu.page_size, eu.max_pages, eu.details, eu.max_sessions) == (250, 7, False, 0)
    assert eu.requests_per_minute == 90
    us = livekit(by_name(s, LIVEKIT, "prod-us"))
    assert us.url == "https://cloud-api.livekit.io"
    assert (us.poll_interval, us.token_ttl, us.lookback_days) == (15.0, 600.0, 1)
    assert (us.page_size, us.max_pages, us.details, us.max_sessions) == (100, 50, True, 1000)
    assert us.requests_per_minute == 90


def test_example_livepeer_values_are_parsed_with_the_flags_types(tmp_path: Path) -> None:
    """Livepeer targets take their own keys, then defaults.livepeer, then built-in defaults."""
    s = load(example(tmp_path), env=EXAMPLE_ENV)
    main = livepeer(by_name(s, LIVEPEER, "studio-main"))
    assert main.url == "https://livepeer.studio/api"
    assert (main.poll_interval, main.active_window, main.recording_lookback) == (30, 120, 7200)
    assert (main.page_size, main.max_pages, main.max_sessions) == (100, 50, 1000)
    b = livepeer(by_name(s, LIVEPEER, "studio-b"))
    assert (b.active_window, b.recording_lookback, b.page_size) == (90, 7200, 1000)


def test_example_secrets_come_from_their_file_or_variable(tmp_path: Path) -> None:
    """*_file secrets are read (stripped), *_env secrets taken from the named variable."""
    s = load(example(tmp_path), env=EXAMPLE_ENV)
    eu, us = livekit(s.targets[0]), livekit(s.targets[1])
    assert eu.credentials is not None
    assert us.credentials is not None
    assert eu.credentials.api_secret.reveal() == LK_EU_SECRET
    assert us.credentials.api_secret.reveal() == LK_US_SECRET
    main, b = livepeer(s.targets[2]), livepeer(s.targets[3])
    assert main.api_key is not None
    assert b.api_key is not None
    assert (main.api_key.reveal(), b.api_key.reveal()) == (LP_MAIN_KEY, LP_B_KEY)


def test_example_settings_and_targets_never_print_a_secret(tmp_path: Path) -> None:
    """repr of the loaded settings (what a log line or a traceback would show) has no secret."""
    text = repr(load(example(tmp_path), env=EXAMPLE_ENV))
    for secret in (LK_EU_SECRET, LK_US_SECRET, LP_MAIN_KEY, LP_B_KEY):
        assert secret not in text


def test_loaded_lists_the_file_and_every_secret_file(tmp_path: Path) -> None:
    """What auto-reload watches: the configuration file and each secret file it names."""
    path = example(tmp_path)
    files = load(path, env=EXAMPLE_ENV).loaded.files
    assert set(files) == {str(path), str(tmp_path / "lk-eu"), str(tmp_path / "lp-main")}


def test_config_hash_follows_the_file_content(tmp_path: Path) -> None:
    """The same content gives the same non-zero hash; a changed file a different one."""
    path = example(tmp_path)
    first = load(path, env=EXAMPLE_ENV).loaded.hash
    assert first != 0
    assert load(path, env=EXAMPLE_ENV).loaded.hash == first
    path.write_text(path.read_text().replace("lookback_days: 3", "lookback_days: 4"))
    assert load(path, env=EXAMPLE_ENV).loaded.hash != first


# --- precedence ----------------------------------------------------------------------------

PRECEDENCE = """\
defaults:
  livekit:
    poll_interval: 60s
    page_size: 20
livekit:
  - name: own
    project_id: p_own
    api_key: k
    api_secret_env: LK_A
    poll_interval: 5s
    page_size: 10
  - name: from-defaults
    project_id: p_def
    api_key: k
    api_secret_env: LK_A
livepeer:
  - name: no-defaults
    api_key_env: LK_A
"""


def test_a_targets_own_key_beats_defaults(tmp_path: Path) -> None:
    """A key on the target wins over the same key in defaults.<source>."""
    s = load(write(tmp_path, PRECEDENCE), ["--poll.interval=20s"], LK_ENV)
    own = livekit(by_name(s, LIVEKIT, "own"))
    assert (own.poll_interval, own.page_size) == (5, 10)


def test_defaults_beat_the_poll_interval_flag_and_built_in_defaults(tmp_path: Path) -> None:
    """defaults.<source> wins over --poll.interval and over a key's built-in default."""
    s = load(write(tmp_path, PRECEDENCE), ["--poll.interval=20s"], LK_ENV)
    target = livekit(by_name(s, LIVEKIT, "from-defaults"))
    assert (target.poll_interval, target.page_size) == (60, 20)


@pytest.mark.parametrize(
    ("argv", "env"),
    [(["--poll.interval=20s"], {}), ([], {"LIVESESSION_POLL_INTERVAL": "20s"})],
    ids=["flag", "env"],
)
def test_poll_interval_flag_applies_without_key_or_default(
    tmp_path: Path, argv: list[str], env: dict[str, str]
) -> None:
    """With neither a key nor a default, --poll.interval (or its variable) is the interval."""
    s = load(write(tmp_path, PRECEDENCE), argv, {**LK_ENV, **env})
    target = by_name(s, LIVEPEER, "no-defaults")
    assert target.interval == 20


def test_built_in_thirty_seconds_is_the_last_resort(tmp_path: Path) -> None:
    """With no key, no default and no --poll.interval, a target polls every 30 s."""
    s = load(write(tmp_path, PRECEDENCE), [], LK_ENV)
    assert by_name(s, LIVEPEER, "no-defaults").interval == 30


def test_defaults_enabled_false_disables_targets_that_do_not_say(tmp_path: Path) -> None:
    """enabled is a per-target key like the others: defaults set it, the target overrides."""
    path = write(
        tmp_path,
        """\
        defaults:
          livepeer:
            enabled: false
        livepeer:
          - name: quiet
            api_key_env: LK_A
          - name: loud
            api_key_file: {dir}/key
            enabled: true
        """,
    )
    (tmp_path / "key").write_text(LP_MAIN_KEY)
    assert [(t.name, t.enabled) for t in load(path, env=LK_ENV).targets] == [
        ("quiet", False),
        ("loud", True),
    ]


# --- strictness ----------------------------------------------------------------------------


def test_unknown_top_level_key_names_its_line(tmp_path: Path) -> None:
    """A key that is neither defaults nor a source is an error at its line."""
    path = write(tmp_path, LK_TARGET + "livekits:\n  - name: b\n")
    found = problems(path, env=LK_ENV)
    problem_at(found, path, line_of(path, "livekits:"), "livekits", "unknown key")
    assert len(found) == 1


def test_unknown_key_in_a_target_names_its_path_and_line(tmp_path: Path) -> None:
    """A key a target does not have (a typo) is an error naming the target and the key."""
    path = write(tmp_path, LK_TARGET + "    pol_interval: 10s\n")
    found = problems(path, env=LK_ENV)
    problem_at(found, path, line_of(path, "pol_interval"), "livekit[0]", ".pol_interval")
    assert len(found) == 1


def test_unknown_key_in_defaults_names_its_path_and_line(tmp_path: Path) -> None:
    """defaults.<source> takes only its source's per-target keys."""
    path = write(tmp_path, "defaults:\n  livekit:\n    colour: red\n" + LK_TARGET)
    found = problems(path, env=LK_ENV)
    problem_at(found, path, 3, "defaults.livekit.colour", "unknown key")
    assert len(found) == 1


def test_unknown_source_in_defaults_is_an_error(tmp_path: Path) -> None:
    """defaults holds only the known sources."""
    path = write(tmp_path, "defaults:\n  livekid:\n    page_size: 3\n" + LK_TARGET)
    found = problems(path, env=LK_ENV)
    problem_at(found, path, 2, "defaults.livekid")
    assert len(found) == 1


def test_livekit_only_key_on_a_livepeer_target_is_unknown(tmp_path: Path) -> None:
    """Each source has its own keys: requests_per_minute is LiveKit's."""
    (tmp_path / "lk-eu").write_text(LK_EU_SECRET)
    (tmp_path / "lp-main").write_text(LP_MAIN_KEY)
    path = write(tmp_path, EXAMPLE)
    found = problems(path, env=EXAMPLE_ENV)
    problem_at(found, path, line_of(path, "requests_per_minute", 2), "livepeer[1]", "requests")
    assert len(found) == 1


def test_duplicate_key_names_the_line_of_the_second(tmp_path: Path) -> None:
    """A key given twice in one mapping is an error (YAML loaders would keep the last)."""
    path = write(tmp_path, LK_TARGET + "    api_key: APIb\n")
    found = problems(path, env=LK_ENV)
    problem_at(found, path, line_of(path, "api_key: APIb"), "livekit[0]", "api_key", "duplicate")
    assert len(found) == 1


def test_duplicate_key_is_reported_with_every_other_problem(tmp_path: Path) -> None:
    """A duplicate key does not hide the file's other problems: all come at once."""
    path = write(tmp_path, LK_TARGET + "    api_key: APIb\n    lookback_days: 9\n    bogus: 1\n")
    found = problems(path, env=LK_ENV)
    problem_at(found, path, line_of(path, "api_key: APIb"), "api_key", "duplicate")
    problem_at(found, path, line_of(path, "lookback_days"), "lookback_days")
    problem_at(found, path, line_of(path, "bogus"), "bogus")
    assert len(found) == 3


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("poll_interval: 60", "poll_interval"),
        ("token_ttl: 600", "token_ttl"),
        ("page_size: '5'", "page_size"),
        ('lookback_days: "2"', "lookback_days"),
        ("details: 'yes'", "details"),
        ('enabled: "false"', "enabled"),
        ("url: 8080", "url"),
        ("max_sessions: 1.5", "max_sessions"),
        ("max_pages:", "max_pages"),
        ("poll_interval: [30s]", "poll_interval"),
    ],
    ids=[
        "int-for-duration",
        "int-for-ttl",
        "string-for-int",
        "double-quoted-int",
        "string-for-bool",
        "string-for-enabled",
        "int-for-url",
        "float-for-int",
        "null-for-int",
        "list-for-duration",
    ],
)
def test_wrong_type_names_the_key_and_line(tmp_path: Path, line: str, key: str) -> None:
    """YAML's own type must be the flag's: 60 is not a duration, '5' not an integer."""
    path = write(tmp_path, LK_TARGET + f"    {line}\n")
    found = problems(path, env=LK_ENV)
    problem_at(found, path, 6, "livekit[0]", f".{key}")
    assert len(found) == 1


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("lookback_days: 9", "lookback_days"),
        ("lookback_days: -1", "lookback_days"),
        ("token_ttl: 30s", "token_ttl"),
        ("page_size: 1001", "page_size"),
        ("max_pages: 0", "max_pages"),
        ("requests_per_minute: 0", "requests_per_minute"),
        ("max_sessions: -1", "max_sessions"),
        ("poll_interval: 0s", "poll_interval"),
        ("poll_interval: 10x", "poll_interval"),
        ("url: ftp://example.com", "url"),
    ],
)
def test_out_of_range_value_names_the_key_and_line(tmp_path: Path, line: str, key: str) -> None:
    """The flags' ranges hold in the file: each bad value is one problem at its line."""
    path = write(tmp_path, LK_TARGET + f"    {line}\n")
    found = problems(path, env=LK_ENV)
    problem_at(found, path, 6, "livekit[0]", key)
    assert len(found) == 1


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("active_window: 0s", "active_window"),
        ("recording_lookback: 6", "recording_lookback"),
        ("page_size: 1001", "page_size"),
        ("url: not a url", "url"),
    ],
)
def test_livepeer_values_are_checked_too(tmp_path: Path, line: str, key: str) -> None:
    """The Livepeer keys keep their flags' types and ranges as well."""
    path = write(tmp_path, f"livepeer:\n  - name: a\n    api_key_env: LK_A\n    {line}\n")
    found = problems(path, env=LK_ENV)
    problem_at(found, path, 4, "livepeer[0]", key)
    assert len(found) == 1


def test_out_of_range_default_is_an_error_even_when_no_target_uses_it(tmp_path: Path) -> None:
    """defaults are validated like a target's keys, whether or not a target inherits them."""
    path = write(tmp_path, "defaults:\n  livekit:\n    lookback_days: 9\nlivepeer: []\n")
    found = problems(path)
    problem_at(found, path, 3, "defaults.livekit.lookback_days")


def test_out_of_range_default_is_one_problem_for_any_number_of_targets(tmp_path: Path) -> None:
    """One bad line is one problem, not one per target that inherits it."""
    second = LK_TARGET.replace("livekit:\n", "").replace("name: a", "name: b")
    second = second.replace("p_a", "p_b")
    path = write(tmp_path, "defaults:\n  livekit:\n    lookback_days: 9\n" + LK_TARGET + second)
    found = problems(path, env=LK_ENV)
    problem_at(found, path, 3, "defaults.livekit.lookback_days")
    assert len(found) == 1


def test_every_problem_of_the_file_is_reported_at_once(tmp_path: Path) -> None:
    """Unknown keys (top, target, defaults), wrong types and ranges, all in one ConfigError."""
    path = write(
        tmp_path,
        """\
        defaults:
          livekit:
            colour: red
        livekit:
          - name: a
            project_id: p_a
            api_key: k
            api_secret_env: LK_A
            poll_interval: 60
            lookback_days: 9
          - name: b
            project_id: p_b
            api_key: k
            api_secret_env: LK_A
            page_size: "5"
            details: "no"
            token_ttl: 30s
        livepeer:
          - name: c
            api_key_env: LK_A
            colour: blue
        extra: 1
        """,
    )
    found = problems(path, env=LK_ENV)
    expected = [
        (3, "defaults.livekit.colour"),
        (9, "poll_interval"),
        (10, "lookback_days"),
        (15, "page_size"),
        (16, "details"),
        (17, "token_ttl"),
        (21, "colour"),
        (22, "extra"),
    ]
    for line, key in expected:
        problem_at(found, path, line, key)
    assert len(found) == len(expected)


def test_every_problem_starts_with_the_file_and_a_line(tmp_path: Path) -> None:
    """The format of every problem of the file: <path>:<line>: <key path>: ..."""
    path = write(tmp_path, LK_TARGET + "    lookback_days: 9\n    bogus: 1\n    details: 1\n")
    found = problems(path, env=LK_ENV)
    assert len(found) == 3
    for problem in found:
        assert problem.startswith(f"{path}:"), problem
        line = problem.removeprefix(f"{path}:").split(":", 1)[0]
        assert line.isdigit(), problem
        assert "livekit[0]" in problem


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("livekit:\n  - name: a\n\tproject_id: p\n", 3),
        ("livekit:\n  - name: a\n    x: 1\n   y: 2\n", 4),
        ('livekit:\n  - name: "a\n', 3),
    ],
    ids=["tab", "indentation", "unclosed-quote"],
)
def test_invalid_yaml_names_a_line(tmp_path: Path, text: str, line: int) -> None:
    """A file that is not YAML is one problem at the line where the parser stopped."""
    path = write(tmp_path, text)
    found = problems(path)
    assert len(found) == 1
    assert found[0].startswith(f"{path}:{line}:"), found


@pytest.mark.parametrize(
    "text", ["", "- livekit\n", "just text\n"], ids=["empty", "list", "scalar"]
)
def test_a_file_that_is_not_a_mapping_is_an_error(tmp_path: Path, text: str) -> None:
    """The document is a mapping of sources to targets."""
    path = write(tmp_path, text)
    found = problems(path)
    assert len(found) == 1
    assert found[0].startswith(f"{path}:1:")


def test_a_source_that_is_not_a_list_is_an_error(tmp_path: Path) -> None:
    """Each source's key holds a list of targets."""
    path = write(tmp_path, "livekit:\n  name: a\n")
    found = problems(path)
    problem_at(found, path, 2, "livekit")
    assert len(found) == 1


def test_missing_file_is_an_error_naming_it(tmp_path: Path) -> None:
    """A --config.file that cannot be read is a problem naming the path."""
    path = tmp_path / "absent.yaml"
    (found,) = problems(path)
    assert str(path) in found


# --- defaults: no names, identities or secret references -------------------------------------


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("livekit", "name", "x"),
        ("livekit", "project_id", "p_x"),
        ("livekit", "api_key", "APIx"),
        ("livekit", "api_secret_file", "/etc/secret"),
        ("livekit", "api_secret_env", "SOME_VAR"),
        ("livekit", "api_secret", "inline"),
        ("livepeer", "name", "x"),
        ("livepeer", "api_key_file", "/etc/key"),
        ("livepeer", "api_key_env", "SOME_VAR"),
        ("livepeer", "api_key", "inline"),
    ],
)
def test_defaults_may_not_hold_names_identities_or_secrets(
    tmp_path: Path, section: str, key: str, value: str
) -> None:
    """defaults.<source> takes every per-target key except these: each is an error."""
    path = write(tmp_path, f"defaults:\n  {section}:\n    {key}: {value}\n" + LK_TARGET)
    found = problems(path, env=LK_ENV)
    problem_at(found, path, 3, f"defaults.{section}.{key}")
    assert len(found) == 1


# --- secrets -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (LK_TARGET + f"    api_secret: {LK_EU_SECRET}\n", "api_secret"),
        (
            f"livepeer:\n  - name: a\n    api_key_env: LK_A\n    api_key: {LK_EU_SECRET}\n",
            "api_key",
        ),
    ],
    ids=["livekit-api_secret", "livepeer-api_key"],
)
def test_an_inline_secret_is_an_unknown_key(tmp_path: Path, text: str, key: str) -> None:
    """Secrets only by reference: an inline secret is refused, and not echoed."""
    path = write(tmp_path, text)
    found = problems(path, env=LK_ENV)
    problem_at(found, path, line_of(path, f"{key}: {LK_EU_SECRET}"), f".{key}", "unknown key")
    assert len(found) == 1
    assert LK_EU_SECRET not in found[0]


@pytest.mark.parametrize(
    ("text", "names"),
    [
        (
            "livekit:\n  - name: tgt\n    project_id: p\n    api_key: k\n"
            "    api_secret_file: {dir}/s\n    api_secret_env: LK_A\n",
            ("api_secret_file", "api_secret_env"),
        ),
        (
            "livekit:\n  - name: tgt\n    project_id: p\n    api_key: k\n",
            ("api_secret_file", "api_secret_env"),
        ),
        (
            "livepeer:\n  - name: tgt\n    api_key_file: {dir}/s\n    api_key_env: LK_A\n",
            ("api_key_file", "api_key_env"),
        ),
        ("livepeer:\n  - name: tgt\n", ("api_key_file", "api_key_env")),
    ],
    ids=["livekit-both", "livekit-neither", "livepeer-both", "livepeer-neither"],
)
def test_exactly_one_secret_reference(tmp_path: Path, text: str, names: tuple[str, ...]) -> None:
    """Both *_file and *_env, or neither, is one problem at the target naming both keys."""
    (tmp_path / "s").write_text(LK_EU_SECRET)
    path = write(tmp_path, text)
    found = problems(path, env=LK_ENV)
    assert len(found) == 1, found
    assert found[0].startswith(f"{path}:2:")
    assert all(name in found[0] for name in (*names, "tgt"))


@pytest.mark.parametrize(
    ("content", "section"),
    [
        (None, "livekit"),
        (b"", "livekit"),
        (b"  \n\t\n", "livekit"),
        (b"\xff\xfe\xfd", "livekit"),
        (None, "livepeer"),
        (b"", "livepeer"),
        (b"  \n\t\n", "livepeer"),
        (b"\xff\xfe\xfd", "livepeer"),
    ],
    ids=[f"{s}-{c}" for s in ("livekit", "livepeer") for c in ("missing", "empty", "ws", "bin")],
)
def test_unusable_secret_file_names_target_and_key(
    tmp_path: Path, content: bytes | None, section: str
) -> None:
    """A missing, empty, whitespace-only or non-UTF-8 secret file is one problem at its
    reference, naming the target and the key (and nothing in the flags' words)."""
    secret = tmp_path / "secret"
    if content is not None:
        secret.write_bytes(content)
    key = "api_secret_file" if section == "livekit" else "api_key_file"
    extra = "    project_id: p\n    api_key: k\n" if section == "livekit" else ""
    path = write(tmp_path, f"{section}:\n  - name: tgt\n{extra}    {key}: {{dir}}/secret\n")
    found = problems(path)
    assert len(found) == 1, found
    problem_at(found, path, line_of(path, key), "tgt", key)


@pytest.mark.parametrize(
    ("env", "section"),
    [
        ({}, "livekit"),
        ({"VAR": ""}, "livekit"),
        ({"VAR": " \n "}, "livekit"),
        ({}, "livepeer"),
        ({"VAR": ""}, "livepeer"),
    ],
    ids=["livekit-unset", "livekit-empty", "livekit-ws", "livepeer-unset", "livepeer-empty"],
)
def test_unset_or_empty_secret_variable_names_target_and_key_not_the_variable(
    tmp_path: Path, env: dict[str, str], section: str
) -> None:
    """An *_env naming an unset or empty variable is one problem naming target and key; the
    variable's name is not echoed (a secret pasted in its place would be)."""
    key = "api_secret_env" if section == "livekit" else "api_key_env"
    extra = "    project_id: p\n    api_key: k\n" if section == "livekit" else ""
    path = write(tmp_path, f"{section}:\n  - name: tgt\n{extra}    {key}: VAR\n")
    found = problems(path, env=env)
    assert len(found) == 1, found
    problem_at(found, path, line_of(path, key), "tgt", key, "unset or empty")
    assert "VAR" not in found[0]


@pytest.mark.parametrize("key", ["project_id", "api_key"])
def test_an_empty_identity_key_is_an_error_at_its_line(tmp_path: Path, key: str) -> None:
    """project_id: "" or api_key: " " is a problem at that key's line, in the file's words."""
    path = write(tmp_path, LK_TARGET.replace("p_a" if key == "project_id" else "APIa", '" "'))
    found = problems(path, env=LK_ENV)
    assert len(found) == 1, found
    problem_at(found, path, line_of(path, key), "livekit[0]", key)


def test_missing_identity_key_is_one_problem_in_the_files_words(tmp_path: Path) -> None:
    """A target without project_id is one problem at the target, not the flags' advice."""
    path = write(tmp_path, LK_TARGET.replace("    project_id: p_a\n", ""))
    found = problems(path, env=LK_ENV)
    assert len(found) == 1, found
    problem_at(found, path, 2, "project_id")


def test_secret_values_never_appear_in_problems(tmp_path: Path) -> None:
    """Secrets read from files and variables are masked wherever else they were pasted."""
    (tmp_path / "lk").write_text(f"\n{LK_EU_SECRET}\n")
    path = write(
        tmp_path,
        f"""\
        livekit:
          - name: a
            project_id: p_a
            api_key: k
            api_secret_file: {{dir}}/lk
            url: {LK_EU_SECRET}
          - name: b
            project_id: p_b
            api_key: k
            api_secret_env: LK_B
            poll_interval: {LK_US_SECRET}
        livepeer:
          - name: c
            api_key_env: LP_C
            active_window: {LP_B_KEY}
        """,
    )
    found = problems(path, env={"LK_B": LK_US_SECRET, "LP_C": LP_B_KEY})
    assert len(found) == 3, found
    text = "\n".join(found)
    for secret in (LK_EU_SECRET, LK_US_SECRET, LP_B_KEY):
        assert secret not in text


def test_a_secret_files_surrounding_whitespace_is_stripped(tmp_path: Path) -> None:
    """The value is the file's content without leading or trailing whitespace or newlines."""
    (tmp_path / "s").write_text(f" \t\n{LK_EU_SECRET}  \r\n\n")
    path = write(tmp_path, LK_TARGET.replace("api_secret_env: LK_A", "api_secret_file: {dir}/s"))
    credentials = livekit(load(path).targets[0]).credentials
    assert credentials is not None
    assert credentials.api_secret.reveal() == LK_EU_SECRET


def test_livepeer_identity_is_the_digest_of_the_stripped_key(tmp_path: Path) -> None:
    """sha256: + 16 hex digits of the key's UTF-8 bytes, after stripping the file's padding."""
    (tmp_path / "k").write_text(f"\n  {LP_MAIN_KEY}\n")
    path = write(tmp_path, "livepeer:\n  - name: a\n    api_key_file: {dir}/k\n")
    (target,) = load(path).targets
    assert target.identity == "sha256:" + hashlib.sha256(LP_MAIN_KEY.encode()).hexdigest()[:16]


# --- names and identities ------------------------------------------------------------------


def test_name_is_required(tmp_path: Path) -> None:
    """A target without a name is an error at the target."""
    path = write(tmp_path, LK_TARGET.replace("  - name: a\n    project_id", "  - project_id"))
    found = problems(path, env=LK_ENV)
    assert len(found) == 1, found
    problem_at(found, path, 2, "livekit[0]", "name")


@pytest.mark.parametrize(
    "name",
    ['""', '"prod eu"', "prod/eu", "é", "x" * 65, "'a:b'", "123", "true"],
    ids=["empty", "space", "slash", "non-ascii", "65-chars", "colon", "integer", "boolean"],
)
def test_invalid_names_are_errors(tmp_path: Path, name: str) -> None:
    """A name is 1 to 64 of A-Z a-z 0-9 _ . - (and a YAML string)."""
    path = write(tmp_path, LK_TARGET.replace("name: a", f"name: {name}"))
    found = problems(path, env=LK_ENV)
    assert len(found) == 1, found
    problem_at(found, path, 2, "livekit[0]", "name")


@pytest.mark.parametrize("name", ["x" * 64, "A.b_c-9", "-", "0"])
def test_valid_names_are_accepted(tmp_path: Path, name: str) -> None:
    """Any 1 to 64 of the allowed characters is a valid name."""
    path = write(tmp_path, LK_TARGET.replace("name: a", f"name: '{name}'"))
    assert [t.name for t in load(path, env=LK_ENV).targets] == [name]


def test_duplicate_names_in_one_source_are_an_error_even_if_disabled(tmp_path: Path) -> None:
    """Two targets of one source may not share a name, whether or not one is enabled."""
    second = "  - name: a\n    project_id: p_b\n    api_key: k\n    api_secret_env: LK_A\n"
    path = write(tmp_path, LK_TARGET + second + "    enabled: false\n")
    found = problems(path, env=LK_ENV)
    assert len(found) == 1, found
    assert "'a'" in found[0] or " a " in found[0] or "(a)" in found[0]


def test_the_same_name_in_two_sources_is_fine(tmp_path: Path) -> None:
    """Names are unique per source: a LiveKit and a Livepeer target may both be called a."""
    path = write(tmp_path, LK_TARGET + "livepeer:\n  - name: a\n    api_key_env: LP\n")
    s = load(path, env={**LK_ENV, "LP": LP_MAIN_KEY})
    assert [(t.kind, t.name) for t in s.targets] == [(LIVEKIT, "a"), (LIVEPEER, "a")]


def test_two_enabled_livekit_targets_of_one_project_are_an_error(tmp_path: Path) -> None:
    """The same project id under two names would publish the same series twice."""
    second = "  - name: b\n    project_id: p_a\n    api_key: k2\n    api_secret_env: LK_A\n"
    found = problems(write(tmp_path, LK_TARGET + second), env=LK_ENV)
    assert len(found) == 1, found
    assert "p_a" in found[0]


def test_two_enabled_livepeer_targets_of_one_key_are_an_error(tmp_path: Path) -> None:
    """The same key, once by file and once by variable, is one account: an error naming the
    digest and never the key."""
    (tmp_path / "k").write_text(LP_MAIN_KEY)
    path = write(
        tmp_path,
        "livepeer:\n  - name: a\n    api_key_file: {dir}/k\n  - name: b\n    api_key_env: LP\n",
    )
    found = problems(path, env={"LP": LP_MAIN_KEY})
    assert len(found) == 1, found
    assert digest(LP_MAIN_KEY) in found[0]
    assert LP_MAIN_KEY not in found[0]


def test_a_disabled_duplicate_identity_is_fine(tmp_path: Path) -> None:
    """A disabled target does not take part in the identity check."""
    second = "  - name: b\n    project_id: p_a\n    api_key: k\n    api_secret_env: LK_A\n"
    path = write(tmp_path, LK_TARGET + second + "    enabled: false\n")
    assert [(t.name, t.enabled) for t in load(path, env=LK_ENV).targets] == [
        ("a", True),
        ("b", False),
    ]


def test_a_disabled_target_with_an_unreadable_secret_is_an_error(tmp_path: Path) -> None:
    """Disabled targets are validated like the others, secret files read included."""
    text = LK_TARGET.replace("api_secret_env: LK_A", "api_secret_file: {dir}/absent")
    path = write(tmp_path, text + "    enabled: false\n")
    found = problems(path)
    assert len(found) == 1, found
    problem_at(found, path, 5, "api_secret_file")


def test_a_disabled_target_with_a_bad_value_is_an_error(tmp_path: Path) -> None:
    """Types and ranges are checked on disabled targets too."""
    path = write(tmp_path, LK_TARGET + "    enabled: false\n    lookback_days: 9\n")
    found = problems(path, env=LK_ENV)
    assert len(found) == 1, found
    problem_at(found, path, 7, "lookback_days")
