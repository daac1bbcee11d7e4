"""The flag table: every flag with its parser, default, help and environment variables.

One table drives parsing, ``--help`` and the README's flag table (a test compares them), so the
three cannot drift. The core flags are here; each source declares its own in its
``settings.py``, and :func:`flag_table` puts them between the core flags that open and close
``--help``. Values are looked up flag > ``LIVESESSION_*`` > ecosystem env var > default
(:mod:`exporter.config.resolve`); secrets have no flag at all (:mod:`exporter.config.secrets`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

from exporter.config.values import (
    BOOLEAN,
    DURATION,
    LISTEN_ADDRESS,
    PATH,
    POSITIVE_DURATION,
    TELEMETRY_PATH,
    TEXT,
    ListenAddress,
    Parser,
    choice,
    integer,
)

__all__ = [
    "CONFIG_AUTO_RELOAD_INTERVAL",
    "CONFIG_CHECK",
    "CONFIG_FILE",
    "DEMO",
    "LOG_FORMAT",
    "LOG_LEVEL",
    "ONCE",
    "POLL_INTERVAL",
    "POLL_STALE_AFTER",
    "POLL_TIMEOUT",
    "SHARD",
    "SHARD_FROM_POD_NAME",
    "TOTAL_SHARDS",
    "UPSTREAM_CA_FILE",
    "VERSION",
    "WEB_CONFIG_FILE",
    "WEB_ENABLE_LIFECYCLE",
    "WEB_HEALTH_LISTEN_ADDRESS",
    "WEB_LISTEN_ADDRESS",
    "WEB_TELEMETRY_PATH",
    "Flag",
    "env_name",
    "flag_table",
    "help_text",
]

_T = TypeVar("_T", covariant=True)


@dataclass(frozen=True, slots=True)
class Flag(Generic[_T]):
    """One command-line flag; ``default`` is text, parsed like a user's value would be."""

    name: str
    parser: Parser[_T]
    default: str | None
    help: str
    extra_env: tuple[str, ...] = ()
    inherits: Flag[_T] | None = None
    """The flag whose value is the default (``livekit.poll-interval`` ← ``poll.interval``)."""
    demo_default: str | None = None
    """The default under ``--demo``, where it differs (a demo should move)."""
    enables: bool = False
    """Giving this flag (even empty) means its source was meant to run; in ``--config.file``
    it is a target's identity (required, and not allowed under ``defaults``)."""
    in_file: bool = True
    """Whether a target of ``--config.file`` sets it too, as a key (snake_case of the name
    after the source's prefix); the Livepeer target name is a target's ``name`` there."""

    @property
    def kind(self) -> str:
        """The value's type as ``--help`` and the README name it."""
        return self.parser.kind

    @property
    def env(self) -> str:
        return env_name(self.name)


def env_name(flag: str) -> str:
    """``livekit.token-ttl`` → ``LIVESESSION_LIVEKIT_TOKEN_TTL``."""
    return "LIVESESSION_" + flag.upper().replace(".", "_").replace("-", "_")


_ACTION: Final = Parser("action", str)
"""A flag that does something instead of setting a value (``--version``)."""

WEB_LISTEN_ADDRESS: Final[Flag[ListenAddress]] = Flag(
    "web.listen-address",
    LISTEN_ADDRESS,
    ":9877",
    "address to serve HTTP on",
    demo_default="127.0.0.1:9877",
)
WEB_TELEMETRY_PATH: Final = Flag(
    "web.telemetry-path", TELEMETRY_PATH, "/metrics", "path of the exposition"
)
WEB_CONFIG_FILE: Final = Flag(
    "web.config.file",
    PATH,
    None,
    "exporter-toolkit web configuration: TLS, mutual TLS, basic auth, headers, rate limit",
)
WEB_HEALTH_LISTEN_ADDRESS: Final = Flag(
    "web.health-listen-address",
    TEXT,
    None,
    "also serve /healthz and /readyz, and nothing else, on this plain-HTTP address (probes)",
)
WEB_ENABLE_LIFECYCLE: Final = Flag(
    "web.enable-lifecycle", BOOLEAN, "false", "serve POST /-/reload (reloads the configuration)"
)
CONFIG_FILE: Final = Flag(
    "config.file", PATH, None, "YAML file listing the targets (instead of the per-source flags)"
)
CONFIG_AUTO_RELOAD_INTERVAL: Final = Flag(
    "config.auto-reload-interval",
    DURATION,
    "0s",
    "reload when the file or a secret file it names changes, checked this often; 0 = off",
)
LOG_LEVEL: Final = Flag(
    "log.level", choice("debug", "info", "warning", "error"), "info", "log level"
)
LOG_FORMAT: Final = Flag("log.format", choice("json", "console", "auto"), "auto", "log format")
POLL_INTERVAL: Final = Flag(
    "poll.interval",
    POSITIVE_DURATION,
    "30s",
    "default interval between polls of each source",
    demo_default="2s",
)
POLL_TIMEOUT: Final = Flag("poll.timeout", POSITIVE_DURATION, "20s", "limit for one HTTP request")
POLL_STALE_AFTER: Final = Flag(
    "poll.stale-after", POSITIVE_DURATION, "5m", "how long a failing target's data is still served"
)
UPSTREAM_CA_FILE: Final = Flag(
    "upstream.ca-file",
    PATH,
    None,
    "PEM bundle of the CAs the upstream APIs' certificates must chain to, instead of certifi's;"
    " 'system' = the OS trust store",
    extra_env=("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"),
)
SHARD: Final = Flag("shard", integer(0), "0", "this process's shard ordinal (0-based)")
TOTAL_SHARDS: Final = Flag(
    "total-shards", integer(1), "1", "number of shards the targets split into"
)
SHARD_FROM_POD_NAME: Final = Flag(
    "shard.from-pod-name", TEXT, None, "take --shard from a StatefulSet pod name's -<ordinal>"
)
DEMO: Final = Flag(
    "demo", BOOLEAN, "false", "poll the built-in simulator of both APIs; no credentials needed"
)
ONCE: Final = Flag(
    "once", BOOLEAN, "false", "poll every source once, print the exposition, exit 0 or 1"
)
CONFIG_CHECK: Final = Flag(
    "config.check",
    BOOLEAN,
    "false",
    "validate the configuration (reading every secret), print the targets, exit 0 or 2",
)
VERSION: Final = Flag("version", _ACTION, None, "print the version and exit")

_HEAD: Final[tuple[Flag[object], ...]] = (
    WEB_LISTEN_ADDRESS,
    WEB_TELEMETRY_PATH,
    WEB_CONFIG_FILE,
    WEB_HEALTH_LISTEN_ADDRESS,
    WEB_ENABLE_LIFECYCLE,
    LOG_LEVEL,
    LOG_FORMAT,
    POLL_INTERVAL,
    POLL_TIMEOUT,
    POLL_STALE_AFTER,
    UPSTREAM_CA_FILE,
    CONFIG_FILE,
    CONFIG_AUTO_RELOAD_INTERVAL,
    SHARD,
    TOTAL_SHARDS,
    SHARD_FROM_POD_NAME,
)
_TAIL: Final[tuple[Flag[object], ...]] = (DEMO, ONCE, CONFIG_CHECK, VERSION)


def flag_table(source_flags: Iterable[Sequence[Flag[object]]]) -> tuple[Flag[object], ...]:
    """Every flag in ``--help`` order: the core's, each source's in turn, then the modes."""
    return (*_HEAD, *(flag for flags in source_flags for flag in flags), *_TAIL)


def help_text(prog: str, flags: Sequence[Flag[object]], secret_envs: Sequence[str]) -> str:
    """The ``--help`` output, generated from the table."""
    lines = [f"usage: {prog} [flags]", "", "flags (each also read from its environment variable):"]
    for flag in flags:
        spelled = f"--{flag.name}" if flag.kind != "bool" else f"--[no-]{flag.name}"
        default = flag.default if flag.inherits is None else f"--{flag.inherits.name}"
        envs = ", ".join((flag.env, *flag.extra_env)) if flag.kind != "action" else ""
        lines.append(f"  {spelled}")
        lines.append(f"      {flag.help}" + (f" (default {default})" if default else ""))
        if envs:
            lines.append(f"      env: {envs}")
    lines += ["", "secrets are read only from the environment or files:"]
    lines.append("  " + ", ".join(secret_envs))
    return "\n".join(lines) + "\n"
