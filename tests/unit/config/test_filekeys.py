"""What a target of ``--config.file`` may say (TargetKeys) and how its values are looked up
(TargetResolver): the snake_case of the source's flags, precedence own key > defaults >
global flag > built-in default (targets.md, "The file")."""

from __future__ import annotations

from exporter.config.filekeys import TargetKeys, TargetResolver
from exporter.config.resolve import Raw, Resolver
from exporter.sources import livekit, livepeer
from exporter.sources.livekit import settings as lk
from exporter.sources.livepeer import settings as lp

LIVEKIT_VALUE_KEYS = {
    "url",
    "poll_interval",
    "token_ttl",
    "lookback_days",
    "page_size",
    "max_pages",
    "details",
    "requests_per_minute",
    "max_sessions",
}
LIVEPEER_VALUE_KEYS = {
    "url",
    "poll_interval",
    "active_window",
    "recording_lookback",
    "page_size",
    "max_pages",
    "max_sessions",
}


def test_livekit_keys_are_its_flags_in_snake_case() -> None:
    """Every --livekit.* flag but the secret file is a key, identity keys included."""
    keys = TargetKeys.of(livekit.SPEC)
    assert set(keys.flags) == LIVEKIT_VALUE_KEYS | {"project_id", "api_key"}
    assert keys.flags["token_ttl"] is lk.TOKEN_TTL
    assert keys.flags["poll_interval"] is lk.POLL_INTERVAL_FLAG


def test_livekit_identity_is_project_id_and_api_key() -> None:
    """The keys that say which account a LiveKit target is are required and its own."""
    assert set(TargetKeys.of(livekit.SPEC).identity) == {"project_id", "api_key"}


def test_livekit_secret_is_a_file_or_env_pair() -> None:
    """The secret is referenced by api_secret_file or api_secret_env, never inline."""
    keys = TargetKeys.of(livekit.SPEC)
    assert {base: refs[:2] for base, refs in keys.secrets.items()} == {
        "api_secret": ("api_secret_file", "api_secret_env")
    }
    assert keys.secrets["api_secret"][2] is lk.API_SECRET


def test_livepeer_keys_are_its_flags_without_the_target_name() -> None:
    """--livepeer.target-name is the target's name in a file, not a key of its own."""
    keys = TargetKeys.of(livepeer.SPEC)
    assert set(keys.flags) == LIVEPEER_VALUE_KEYS
    assert keys.identity == ()
    assert {base: refs[:2] for base, refs in keys.secrets.items()} == {
        "api_key": ("api_key_file", "api_key_env")
    }


def test_a_target_may_hold_name_enabled_values_and_secret_references() -> None:
    """In a target: name, enabled, every value key and both secret references."""
    allowed = TargetKeys.of(livekit.SPEC).allowed(in_defaults=False)
    assert allowed == LIVEKIT_VALUE_KEYS | {
        "name",
        "enabled",
        "project_id",
        "api_key",
        "api_secret_file",
        "api_secret_env",
    }
    assert "api_secret" not in allowed


def test_defaults_hold_no_name_identity_or_secret_reference() -> None:
    """In defaults: enabled and the value keys, nothing that names or unlocks an account."""
    assert TargetKeys.of(livekit.SPEC).allowed(in_defaults=True) == LIVEKIT_VALUE_KEYS | {"enabled"}
    assert TargetKeys.of(livepeer.SPEC).allowed(in_defaults=True) == LIVEPEER_VALUE_KEYS | {
        "enabled"
    }


def resolver(
    values: dict[str, Raw], given: dict[str, str], env: dict[str, str], problems: list[str]
) -> TargetResolver:
    parent = Resolver(given, env, [])
    return TargetResolver(values, parent, {}, problems)


def test_own_value_beats_the_global_flag() -> None:
    """A target's value is used even when --poll.interval is given."""
    values = {"livekit.poll-interval": Raw("5s", "f.yaml:3: livekit[0].poll_interval")}
    r = resolver(values, {"poll.interval": "20s"}, {}, [])
    assert r.get(lk.POLL_INTERVAL_FLAG) == 5


def test_without_a_value_an_inheriting_key_takes_the_global_flag() -> None:
    """poll_interval without a value inherits --poll.interval (flag or its variable)."""
    assert resolver({}, {"poll.interval": "20s"}, {}, []).get(lk.POLL_INTERVAL_FLAG) == 20
    env = {"LIVESESSION_POLL_INTERVAL": "40s"}
    assert resolver({}, {}, env, []).get(lp.POLL_INTERVAL_FLAG) == 40


def test_without_a_value_or_global_flag_the_built_in_default_applies() -> None:
    """30 s for the interval, the flag's own default for the others."""
    r = resolver({}, {}, {}, [])
    assert (r.get(lk.POLL_INTERVAL_FLAG), r.get(lk.TOKEN_TTL), r.get(lk.PAGE_SIZE)) == (
        30,
        600,
        100,
    )


def test_per_source_variables_do_not_reach_a_file_target() -> None:
    """A target of the file never takes a value from a --livekit.* flag or its variable."""
    given = {"livekit.token-ttl": "1h"}
    env = {"LIVESESSION_LIVEKIT_PAGE_SIZE": "7", "LIVEKIT_CLOUD_API_URL": "http://x.invalid"}
    r = resolver({}, given, env, [])
    assert (r.get(lk.TOKEN_TTL), r.get(lk.PAGE_SIZE)) == (600, 100)
    assert r.get(lk.URL_FLAG) == "https://cloud-api.livekit.io"
    assert not r.given(lk.TOKEN_TTL)


def test_a_bad_value_is_a_problem_at_its_origin() -> None:
    """The problem names where the value came from (file, line, key path) and why."""
    problems: list[str] = []
    origin = "f.yaml:7: livekit[1] (eu).lookback_days"
    r = resolver({"livekit.lookback-days": Raw("9", origin)}, {}, {}, problems)
    r.get(lk.LOOKBACK_DAYS)
    assert problems == [f"{origin}: 9 is above the maximum 6"]


def test_optional_text_is_stripped_and_empty_is_none() -> None:
    """Identity values are read like the flags read them: stripped, empty meaning unset."""
    values = {"livekit.project-id": Raw(" p_a ", "o"), "livekit.api-key": Raw("  ", "o")}
    r = resolver(values, {}, {}, [])
    assert r.optional(lk.PROJECT_ID) == "p_a"
    assert r.optional(lk.API_KEY) is None
