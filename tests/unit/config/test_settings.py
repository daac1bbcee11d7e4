"""Settings as a pure function of (argv, env): values, precedence, secrets, every problem."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from exporter.cli import main
from exporter.config.flags import env_name
from exporter.config.secrets import Secret
from exporter.config.settings import Settings
from exporter.config.targets import Shard
from exporter.errors import ConfigError
from exporter.sources.livekit.settings import LiveKitSettings
from exporter.sources.livepeer.settings import LivepeerSettings
from exporter.sources.registry import SOURCES, all_flags

FLAGS = all_flags()

SECRET = "s3cr3t-value-that-must-never-be-printed-0123456789"
LIVEKIT = {"LIVEKIT_PROJECT_ID": "p_abc", "LIVEKIT_API_KEY": "APIkey", "LIVEKIT_API_SECRET": SECRET}
LIVEPEER = {"LIVEPEER_API_KEY": SECRET}


def settings(argv: list[str], env: dict[str, str]) -> Settings:
    return Settings.from_sources(argv, env, SOURCES)


def problems(argv: list[str], env: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        settings(argv, env)
    return list(info.value.problems)


def test_defaults_match_the_interface_contract() -> None:
    """With only credentials given, every value is interface.md's default."""
    s = settings([], LIVEKIT)
    assert (str(s.listen_address), s.telemetry_path) == (":9877", "/metrics")
    assert (s.log_level, s.log_format) == ("info", "auto")
    assert (s.poll_interval, s.poll_timeout, s.stale_after) == (30, 20, 300)
    lk = s.of(LiveKitSettings)
    assert lk.credentials is not None
    assert (lk.credentials.project_id, lk.credentials.api_key) == ("p_abc", "APIkey")
    assert lk.credentials.api_secret.reveal() == SECRET
    assert lk.url == "https://cloud-api.livekit.io"
    assert (lk.poll_interval, lk.token_ttl, lk.lookback_days) == (30, 600, 1)
    assert (lk.page_size, lk.max_pages, lk.details) == (100, 50, True)
    assert (lk.requests_per_minute, lk.max_sessions) == (120, 1000)
    lp = s.of(LivepeerSettings)
    assert lp.api_key is None
    assert (lp.url, lp.target_name) == ("https://livepeer.studio/api", "default")
    assert (lp.poll_interval, lp.active_window, lp.recording_lookback) == (30, 90, 21600)
    assert (lp.page_size, lp.max_pages, lp.max_sessions) == (100, 50, 1000)
    assert (s.demo, s.once) == (False, False)


def test_flag_beats_livesession_env_beats_ecosystem_env() -> None:
    """Precedence is flag > LIVESESSION_* > the ecosystem's own variable > default."""
    env = {**LIVEKIT, "LIVESESSION_LIVEKIT_API_KEY": "fromours", "LIVEKIT_API_KEY": "fromtheirs"}
    assert settings([], env).of(LiveKitSettings).credentials.api_key == "fromours"  # type: ignore[union-attr]
    flagged = settings(["--livekit.api-key", "fromflag"], env)
    assert flagged.of(LiveKitSettings).credentials.api_key == "fromflag"  # type: ignore[union-attr]
    env2 = {**LIVEKIT, "LIVESESSION_POLL_INTERVAL": "1m"}
    assert settings([], env2).poll_interval == 60
    assert settings(["--poll.interval=10s"], env2).poll_interval == 10


def test_every_flag_has_its_livesession_env_var() -> None:
    """Each flag is read from LIVESESSION_ + its name upper-cased with . and - as _."""
    assert env_name("livekit.token-ttl") == "LIVESESSION_LIVEKIT_TOKEN_TTL"
    env = {
        **LIVEPEER,
        "LIVESESSION_WEB_LISTEN_ADDRESS": "127.0.0.1:1234",
        "LIVESESSION_WEB_TELEMETRY_PATH": "/m",
        "LIVESESSION_LOG_LEVEL": "debug",
        "LIVESESSION_LOG_FORMAT": "json",
        "LIVESESSION_POLL_TIMEOUT": "3s",
        "LIVESESSION_POLL_STALE_AFTER": "1m",
        "LIVESESSION_LIVEPEER_URL": "http://127.0.0.1:9/api/",
        "LIVESESSION_LIVEPEER_TARGET_NAME": "studio",
        "LIVESESSION_LIVEPEER_POLL_INTERVAL": "15s",
        "LIVESESSION_LIVEPEER_ACTIVE_WINDOW": "2m",
        "LIVESESSION_LIVEPEER_RECORDING_LOOKBACK": "1h",
        "LIVESESSION_LIVEPEER_PAGE_SIZE": "1000",
        "LIVESESSION_LIVEPEER_MAX_PAGES": "3",
        "LIVESESSION_LIVEPEER_MAX_SESSIONS": "0",
        "LIVESESSION_LIVEKIT_DETAILS": "false",
        "LIVESESSION_LIVEKIT_TOKEN_TTL": "1h",
        "LIVESESSION_LIVEKIT_LOOKBACK_DAYS": "6",
        "LIVESESSION_LIVEKIT_PAGE_SIZE": "20",
        "LIVESESSION_LIVEKIT_MAX_PAGES": "2",
        "LIVESESSION_LIVEKIT_REQUESTS_PER_MINUTE": "60",
        "LIVESESSION_LIVEKIT_MAX_SESSIONS": "10",
        "LIVESESSION_LIVEKIT_POLL_INTERVAL": "45s",
        "LIVESESSION_LIVEKIT_URL": "http://127.0.0.1:8/",
        "LIVESESSION_ONCE": "true",
    }
    s = settings([], env)
    assert (str(s.listen_address), s.telemetry_path, s.log_level, s.log_format) == (
        "127.0.0.1:1234",
        "/m",
        "debug",
        "json",
    )
    assert (s.poll_timeout, s.stale_after, s.once) == (3, 60, True)
    lp = s.of(LivepeerSettings)
    assert (lp.url, lp.target_name, lp.poll_interval) == ("http://127.0.0.1:9/api", "studio", 15)
    assert (lp.active_window, lp.recording_lookback) == (120, 3600)
    assert (lp.page_size, lp.max_pages, lp.max_sessions) == (1000, 3, 0)
    lk = s.of(LiveKitSettings)
    assert (lk.details, lk.token_ttl, lk.lookback_days, lk.page_size) == (False, 3600, 6, 20)
    assert (lk.max_pages, lk.requests_per_minute, lk.max_sessions) == (2, 60, 10)
    assert (lk.poll_interval, lk.url) == (45, "http://127.0.0.1:8")


def test_ecosystem_names_configure_both_sources() -> None:
    """LIVEKIT_* and LIVEPEER_* names, as those ecosystems spell them, are honoured."""
    env = {
        **LIVEKIT,
        **LIVEPEER,
        "LIVEKIT_CLOUD_API_URL": "http://127.0.0.1:7",
        "LIVEPEER_API_URL": "http://127.0.0.1:6/api",
    }
    s = settings([], env)
    assert s.of(LiveKitSettings).url == "http://127.0.0.1:7"
    assert s.of(LivepeerSettings).url == "http://127.0.0.1:6/api"
    assert s.of(LivepeerSettings).api_key == Secret(SECRET)


def test_source_intervals_inherit_the_global_interval() -> None:
    """--livekit/--livepeer.poll-interval default to --poll.interval."""
    s = settings(["--poll.interval", "7s", "--livepeer.poll-interval=9s"], LIVEKIT)
    assert (s.of(LiveKitSettings).poll_interval, s.of(LivepeerSettings).poll_interval) == (7, 9)


def test_boolean_flags_take_no_prefix_and_env_words() -> None:
    """--no-livekit.details turns details off; env booleans accept true/false words."""
    assert not settings(["--no-livekit.details"], LIVEKIT).of(LiveKitSettings).details
    assert settings(["--livekit.details"], LIVEKIT).of(LiveKitSettings).details
    assert settings(["--once"], LIVEKIT).once
    assert not settings([], {**LIVEKIT, "LIVESESSION_ONCE": "no"}).once


def test_demo_needs_no_credentials_and_polls_fast() -> None:
    """--demo alone is a valid configuration, with a short default interval."""
    s = settings(["--demo"], {})
    assert s.demo
    assert s.poll_interval == 2
    assert s.of(LiveKitSettings).poll_interval == 2
    assert settings(["--demo", "--poll.interval=5s"], {}).poll_interval == 5


def test_secret_files_are_read_and_stripped(tmp_path: Path) -> None:
    """*_FILE and --*-file secrets are read from disk without surrounding whitespace."""
    lk, lp = tmp_path / "lk", tmp_path / "lp"
    lk.write_text(f"  {SECRET}\n")
    lp.write_text("key-from-file\n")
    env = {"LIVEKIT_PROJECT_ID": "p_x", "LIVEKIT_API_KEY": "k", "LIVEKIT_API_SECRET_FILE": str(lk)}
    s = settings(["--livepeer.api-key-file", str(lp)], env)
    credentials = s.of(LiveKitSettings).credentials
    assert credentials is not None
    assert credentials.api_secret.reveal() == SECRET
    assert s.of(LivepeerSettings).api_key == Secret("key-from-file")
    assert set(s.secrets) == {SECRET, "key-from-file"}


def test_file_beats_value_env(tmp_path: Path) -> None:
    """A secret file, when named, wins over the plain value variable."""
    path = tmp_path / "key"
    path.write_text("from-file")
    s = settings([], {"LIVEPEER_API_KEY": "from-env", "LIVEPEER_API_KEY_FILE": str(path)})
    assert s.of(LivepeerSettings).api_key == Secret("from-file")


def test_secrets_never_print() -> None:
    """repr and str of settings show no secret value."""
    s = settings([], {**LIVEKIT, **LIVEPEER})
    assert SECRET not in repr(s)
    assert SECRET not in str(s.of(LiveKitSettings).credentials)
    assert SECRET not in str(Secret(SECRET))


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    """Bad values, unknown flags and credential gaps all appear in one ConfigError."""
    found = problems(
        [
            "--poll.interval=5x",
            "--log.level",
            "loud",
            "--log.format=xml",
            "--web.listen-address=nohost",
            "--web.telemetry-path=metrics",
            "--livekit.lookback-days=7",
            "--livepeer.page-size=1001",
            "--livekit.url=ftp://x",
            "--livekit.token-ttl=10s",
            "--livepeer.api-key-file",
            str(tmp_path / "missing"),
            "--bogus",
            "--no-once=1",
        ],
        {"LIVEKIT_API_KEY": "k", "LIVESESSION_ONCE": "maybe"},
    )
    text = "\n".join(found)
    for needle in (
        "--poll.interval / LIVESESSION_POLL_INTERVAL (from --poll.interval): invalid duration '5x'",
        "--log.level / LIVESESSION_LOG_LEVEL (from --log.level): 'loud' is not one of",
        "--log.format",
        "--web.listen-address",
        "--web.telemetry-path",
        "--livekit.lookback-days / LIVESESSION_LIVEKIT_LOOKBACK_DAYS "
        "(from --livekit.lookback-days): 7 is above the maximum 6",
        "--livepeer.page-size",
        "--livekit.url / LIVESESSION_LIVEKIT_URL / LIVEKIT_CLOUD_API_URL",
        "--livekit.token-ttl",
        "--livepeer.api-key-file / LIVESESSION_LIVEPEER_API_KEY_FILE / LIVEPEER_API_KEY_FILE",
        "--bogus: unknown flag",
        "--no-once: takes no value",
        "$LIVESESSION_ONCE",
        "LiveKit source partly configured: missing --livekit.project-id / LIVEKIT_PROJECT_ID, "
        "LIVEKIT_API_SECRET or --livekit.api-secret-file",
    ):
        assert needle in text, needle
    assert len(found) == 14


def test_no_source_is_a_problem() -> None:
    """Without credentials or --demo there is nothing to poll: say how to configure one."""
    assert problems([], {}) == [
        "no source configured: set LiveKit's project id, API key and secret "
        "(--livekit.project-id, LIVEKIT_API_KEY, LIVEKIT_API_SECRET), "
        "a Livepeer key (LIVEPEER_API_KEY), or run with --demo"
    ]


def test_secret_flags_are_refused_without_echoing_the_value() -> None:
    """A secret typed as a flag is refused with advice, and its value appears nowhere."""
    found = problems(["--livekit.api-secret", SECRET, f"--livepeer.api-key={SECRET}"], LIVEKIT)
    text = "\n".join(found)
    assert SECRET not in text
    assert "--livekit.api-secret: unknown flag; put the secret in LIVEKIT_API_SECRET" in text
    assert "argument 2: unexpected positional argument" in text
    assert "--livepeer.api-key: unknown flag; put the key in LIVEPEER_API_KEY" in text


def test_unreadable_or_empty_secret_files_are_problems(tmp_path: Path) -> None:
    """A secret file that is empty or not text is a problem naming the variable, not the path."""
    empty = tmp_path / "empty"
    empty.write_text("  \n")
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe\x00")
    found = problems(
        [],
        {
            "LIVEKIT_PROJECT_ID": "p",
            "LIVEKIT_API_KEY": "k",
            "LIVEKIT_API_SECRET_FILE": str(empty),
            "LIVEPEER_API_KEY_FILE": str(binary),
        },
    )
    assert any("(from $LIVEKIT_API_SECRET_FILE): the file it names is empty" in p for p in found)
    assert any("(from $LIVEPEER_API_KEY_FILE)" in p and "not UTF-8" in p for p in found)
    assert not any(str(tmp_path) in p for p in found)


def test_a_secret_pasted_where_its_file_belongs_is_not_echoed() -> None:
    """Setting *_FILE to the secret itself (a common slip) reports the variable, not the value."""
    key = "lp-key-pasted-into-the-file-variable-0123456789"
    found = problems([], {"LIVEPEER_API_KEY_FILE": key})
    assert any("(from $LIVEPEER_API_KEY_FILE): cannot read the file it names" in p for p in found)
    assert not any(key in p for p in found)


def test_a_secret_given_as_another_flags_value_is_masked() -> None:
    """A secret that ends up in another flag's value is masked in that flag's problem."""
    secret = "lk-secret-used-as-a-timeout-0123456789abcdef"
    found = problems([f"--poll.timeout={secret}"], {**LIVEKIT, "LIVEKIT_API_SECRET": secret})
    assert any(p.startswith("--poll.timeout") and "[REDACTED]" in p for p in found)
    assert not any(secret in p for p in found)


def test_missing_value_and_positional_arguments() -> None:
    """A flag at the end without its value, and stray words, are both reported."""
    found = problems(["stray", "--poll.timeout"], LIVEKIT)
    assert found == [
        "argument 1: unexpected positional argument (flags start with --)",
        "--poll.timeout: needs a value",
    ]


def test_help_lists_every_flag_and_env(capsys: pytest.CaptureFixture[str]) -> None:
    """--help is generated from the flag table, so it names every flag and variable."""
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    for flag in FLAGS:
        assert flag.name in text
        if flag.kind != "action":
            assert flag.env in text
    assert "--[no-]livekit.details" in text


# --- targets.md: the file beside the flags, targets from flags, reload, shards ---------------

TARGET_FILE = """\
livekit:
  - name: eu
    project_id: p_file
    api_key: APIfile
    api_secret_env: FILE_SECRET
"""
FILE_SECRET = "file-target-secret-value-0123456789abcdef"


def config_file(tmp_path: Path, text: str = TARGET_FILE) -> Path:
    path = tmp_path / "targets.yaml"
    path.write_text(text)
    return path


CONFLICTS = [
    (["--livekit.url", "http://conflict-value.invalid"], {}, "--livekit.url"),
    ([], {"LIVESESSION_LIVEPEER_PAGE_SIZE": "999"}, "LIVESESSION_LIVEPEER_PAGE_SIZE"),
    ([], {"LIVEKIT_API_SECRET": SECRET}, "LIVEKIT_API_SECRET"),
    ([], {"LIVEPEER_API_KEY": SECRET}, "LIVEPEER_API_KEY"),
    ([], {"LIVEKIT_PROJECT_ID": "p_conflict"}, "LIVEKIT_PROJECT_ID"),
    ([], {"LIVEKIT_API_KEY": "APIconflict"}, "LIVEKIT_API_KEY"),
    ([], {"LIVEKIT_API_SECRET_FILE": "/run/conflict-x"}, "LIVEKIT_API_SECRET_FILE"),
    ([], {"LIVEKIT_CLOUD_API_URL": "http://c.invalid"}, "LIVEKIT_CLOUD_API_URL"),
    ([], {"LIVEPEER_API_KEY_FILE": "/run/conflict-y"}, "LIVEPEER_API_KEY_FILE"),
    ([], {"LIVEPEER_API_URL": "http://d.invalid"}, "LIVEPEER_API_URL"),
    (["--livepeer.target-name=studio-conflict"], {}, "--livepeer.target-name"),
    (["--livekit.token-ttl=77m"], {}, "--livekit.token-ttl"),
    (["--no-livekit.details"], {}, "--livekit.details"),
]


@pytest.mark.parametrize(("argv", "env", "name"), CONFLICTS, ids=[name for _, _, name in CONFLICTS])
def test_per_source_flags_and_env_conflict_with_a_file(
    tmp_path: Path, argv: list[str], env: dict[str, str], name: str
) -> None:
    """Giving a per-source flag or variable beside --config.file is an error naming both the
    file and the flag or variable, never the value."""
    path = config_file(tmp_path)
    found = problems(["--config.file", str(path), *argv], {"FILE_SECRET": FILE_SECRET, **env})
    naming = [p for p in found if str(path) in p and name in p]
    assert len(naming) == 1, found
    values = [*env.values(), *(a.partition("=")[2] or a for a in argv if a != name)]
    for value in values:
        if value != "--no-livekit.details":
            assert value not in naming[0]
    assert not any(SECRET in p for p in found)


def test_a_per_source_variable_beside_a_file_asks_for_no_more_flags(tmp_path: Path) -> None:
    """The conflict is the complaint: no advice to complete the per-source flags."""
    path = config_file(tmp_path)
    found = problems(
        ["--config.file", str(path)], {"FILE_SECRET": FILE_SECRET, "LIVEKIT_API_SECRET": SECRET}
    )
    assert any("LIVEKIT_API_SECRET" in p and str(path) in p for p in found)
    assert not any("--livekit.project-id" in p or "--livekit.api-key" in p for p in found), found


@pytest.mark.parametrize(
    ("argv", "env"),
    [
        (["--poll.timeout=3s", "--web.listen-address=127.0.0.1:0"], {}),
        (["--log.level=debug", "--poll.stale-after=1m", "--poll.interval=10s"], {}),
        ([], {"LIVESESSION_POLL_TIMEOUT": "3s", "LIVESESSION_WEB_TELEMETRY_PATH": "/m"}),
    ],
)
def test_global_flags_are_fine_with_a_file(
    tmp_path: Path, argv: list[str], env: dict[str, str]
) -> None:
    """--web.*, --log.*, --poll.* stay flags (and variables) beside a file."""
    path = config_file(tmp_path)
    s = settings(["--config.file", str(path), *argv], {"FILE_SECRET": FILE_SECRET, **env})
    assert [t.name for t in s.targets] == ["eu"]
    assert s.config_file == str(path)


def test_global_flag_values_apply_with_a_file(tmp_path: Path) -> None:
    """Global values given beside a file are in force."""
    path = config_file(tmp_path)
    s = settings(
        ["--config.file", str(path), "--poll.timeout=3s", "--web.listen-address=127.0.0.1:0"],
        {"FILE_SECRET": FILE_SECRET},
    )
    assert (s.poll_timeout, str(s.listen_address)) == (3, "127.0.0.1:0")


def test_the_file_is_also_read_from_its_variable(tmp_path: Path) -> None:
    """LIVESESSION_CONFIG_FILE names the file like --config.file."""
    path = config_file(tmp_path)
    s = settings([], {"LIVESESSION_CONFIG_FILE": str(path), "FILE_SECRET": FILE_SECRET})
    assert [(t.name, t.identity) for t in s.targets] == [("eu", "p_file")]


def test_demo_with_a_file_is_an_error(tmp_path: Path) -> None:
    """--demo polls the simulator: it cannot be combined with a file of real targets."""
    path = config_file(tmp_path)
    found = problems(["--config.file", str(path), "--demo"], {"FILE_SECRET": FILE_SECRET})
    assert any("--demo" in p and str(path) in p for p in found), found


def test_flags_give_one_target_per_source(tmp_path: Path) -> None:
    """Without a file: LiveKit named by its project id, Livepeer by --livepeer.target-name,
    identities the project id and the key's digest."""
    s = settings(["--livepeer.target-name=studio"], {**LIVEKIT, **LIVEPEER})
    digest = "sha256:" + hashlib.sha256(SECRET.encode()).hexdigest()[:16]
    assert [(t.kind, t.name, t.identity, t.enabled) for t in s.targets] == [
        ("livekit_cloud", "p_abc", "p_abc", True),
        ("livepeer_studio", "studio", digest, True),
    ]
    assert s.loaded.hash == 0
    assert s.config_file is None


def test_livepeer_target_from_flags_is_named_default() -> None:
    """--livepeer.target-name defaults to default."""
    assert [t.name for t in settings([], LIVEPEER).targets] == ["default"]


def test_load_without_a_file_reads_the_secret_file_again(tmp_path: Path) -> None:
    """Settings.load() (a reload) reads a rotated secret file anew."""
    secret = tmp_path / "secret"
    secret.write_text("first-secret-value-0123456789")
    env = {
        "LIVEKIT_PROJECT_ID": "p",
        "LIVEKIT_API_KEY": "k",
        "LIVEKIT_API_SECRET_FILE": str(secret),
    }
    s = settings([], env)
    secret.write_text("second-secret-value-0123456789\n")
    (target,) = s.load().targets
    assert target != s.targets[0]
    assert isinstance(target.settings, LiveKitSettings)
    assert target.settings.credentials is not None
    assert target.settings.credentials.api_secret.reveal() == "second-secret-value-0123456789"
    assert str(secret) in s.load().files


def test_load_without_a_file_refuses_a_now_empty_secret_file(tmp_path: Path) -> None:
    """A secret file emptied since the start makes Settings.load() raise ConfigError."""
    secret = tmp_path / "secret"
    secret.write_text("first-secret-value-0123456789")
    s = settings(["--livepeer.api-key-file", str(secret)], {})
    secret.write_text("\n")
    with pytest.raises(ConfigError):
        s.load()


def test_load_with_a_file_reads_the_file_again(tmp_path: Path) -> None:
    """Settings.load() returns the targets of the file as it is now."""
    path = config_file(tmp_path)
    env = {"FILE_SECRET": FILE_SECRET, "LP": SECRET}
    s = settings(["--config.file", str(path)], env)
    path.write_text(TARGET_FILE + "livepeer:\n  - name: studio\n    api_key_env: LP\n")
    loaded = s.load()
    assert [t.name for t in loaded.targets] == ["eu", "studio"]
    assert loaded.hash != s.loaded.hash


def test_load_with_a_file_reads_its_secret_files_again(tmp_path: Path) -> None:
    """A rotated secret file named by the file is read anew by Settings.load()."""
    secret = tmp_path / "secret"
    secret.write_text("first-secret-value-0123456789")
    path = config_file(tmp_path, f"livepeer:\n  - name: a\n    api_key_file: {secret}\n")
    s = settings(["--config.file", str(path)], {})
    secret.write_text("second-secret-value-0123456789")
    (before,), (after,) = s.targets, s.load().targets
    assert before.identity != after.identity
    assert isinstance(after.settings, LivepeerSettings)
    assert after.settings.api_key == Secret("second-secret-value-0123456789")


def test_load_with_a_now_invalid_file_raises_every_problem(tmp_path: Path) -> None:
    """A file broken since the start makes Settings.load() raise ConfigError with its problems."""
    path = config_file(tmp_path)
    s = settings(["--config.file", str(path)], {"FILE_SECRET": FILE_SECRET})
    path.write_text(TARGET_FILE + "    lookback_days: 9\n    colour: red\n")
    with pytest.raises(ConfigError) as info:
        s.load()
    assert len(info.value.problems) == 2
    assert all(p.startswith(f"{path}:") for p in info.value.problems)


def test_no_sharding_by_default() -> None:
    """Without shard flags this process is shard 0 of 1."""
    assert settings([], LIVEKIT).shard == Shard(0, 1)


def test_shard_and_total_shards() -> None:
    """--shard N --total-shards M make this process shard N of M."""
    assert settings(["--shard", "1", "--total-shards", "2"], LIVEKIT).shard == Shard(1, 2)


@pytest.mark.parametrize(("ordinal", "total"), [("2", "2"), ("5", "3"), ("1", "1")])
def test_shard_must_be_below_total_shards(ordinal: str, total: str) -> None:
    """Ordinals start at 0: --shard must be below --total-shards."""
    found = problems(["--shard", ordinal, "--total-shards", total], LIVEKIT)
    assert any("--shard" in p and "--total-shards" in p for p in found), found


@pytest.mark.parametrize("argv", [["--total-shards=0"], ["--shard=-1"]])
def test_shard_numbers_out_of_range_are_errors(argv: list[str]) -> None:
    """There is at least one shard, and ordinals are not negative."""
    found = problems(argv, LIVEKIT)
    assert any(argv[0].partition("=")[0] in p for p in found), found


def test_shard_from_pod_name() -> None:
    """--shard.from-pod-name takes the ordinal from a StatefulSet pod name."""
    argv = ["--shard.from-pod-name", "exporter-1", "--total-shards", "3"]
    assert settings(argv, LIVEKIT).shard == Shard(1, 3)
    env = {**LIVEKIT, "LIVESESSION_SHARD_FROM_POD_NAME": "livesession-exporter-2"}
    assert settings(["--total-shards=3"], env).shard == Shard(2, 3)


def test_shard_from_pod_name_beyond_total_is_an_error() -> None:
    """The pod's ordinal must be below --total-shards too."""
    found = problems(["--shard.from-pod-name=exporter-3", "--total-shards=3"], LIVEKIT)
    assert any("--total-shards" in p for p in found), found


def test_shard_from_pod_name_without_ordinal_is_an_error() -> None:
    """A pod name not ending in -<ordinal> is a problem naming the flag."""
    found = problems(["--shard.from-pod-name", "exporter", "--total-shards", "3"], LIVEKIT)
    assert any("--shard.from-pod-name" in p for p in found), found


def test_shard_and_shard_from_pod_name_together_are_an_error() -> None:
    """One of --shard and --shard.from-pod-name."""
    argv = ["--shard=0", "--shard.from-pod-name=exporter-1", "--total-shards=3"]
    found = problems(argv, LIVEKIT)
    assert any("--shard " in p or "--shard and" in p for p in found), found
    assert any("--shard.from-pod-name" in p for p in found), found
