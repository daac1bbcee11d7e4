"""Settings as a pure function of (argv, env): values, precedence, secrets, every problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from exporter.cli import main
from exporter.config.flags import env_name
from exporter.config.secrets import Secret
from exporter.config.settings import Settings
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
