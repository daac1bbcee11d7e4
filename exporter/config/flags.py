"""The flag table of interface.md, and where each flag's raw value comes from.

One table drives parsing, ``--help`` and the README's flag table (a test compares them),
so the three cannot drift. Values are looked up flag > ``LIVESESSION_*`` > ecosystem env var
> default; secrets have no flag at all, only ``*_FILE`` paths and environment values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

__all__ = ["FLAGS", "Flag", "Raw", "env_name", "help_text", "lookup", "tokenize"]

Kind = Literal["str", "duration", "int", "bool", "choice", "address", "url", "path", "action"]


@dataclass(frozen=True, slots=True)
class Flag:
    """One command-line flag; ``default`` is text, parsed like a user's value would be."""

    name: str
    kind: Kind
    default: str | None
    help: str
    extra_env: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    low: int | None = None
    high: int | None = None
    inherits: str | None = None
    """The flag whose value is the default (``livekit.poll-interval`` ← ``poll.interval``)."""

    @property
    def env(self) -> str:
        return env_name(self.name)


def env_name(flag: str) -> str:
    """``livekit.token-ttl`` → ``LIVESESSION_LIVEKIT_TOKEN_TTL``."""
    return "LIVESESSION_" + flag.upper().replace(".", "_").replace("-", "_")


FLAGS: Final[tuple[Flag, ...]] = (
    Flag("web.listen-address", "address", ":9877", "address to serve HTTP on"),
    Flag("web.telemetry-path", "str", "/metrics", "path of the exposition"),
    Flag("log.level", "choice", "info", "log level", choices=("debug", "info", "warning", "error")),
    Flag("log.format", "choice", "auto", "log format", choices=("json", "console", "auto")),
    Flag("poll.interval", "duration", "30s", "default interval between polls of each source"),
    Flag("poll.timeout", "duration", "20s", "limit for one HTTP request"),
    Flag("poll.stale-after", "duration", "5m", "how long a failing target's data is still served"),
    Flag(
        "livekit.project-id",
        "str",
        None,
        "enables the LiveKit source (with key and secret)",
        ("LIVEKIT_PROJECT_ID",),
    ),
    Flag("livekit.api-key", "str", None, "token issuer", ("LIVEKIT_API_KEY",)),
    Flag(
        "livekit.api-secret-file",
        "path",
        None,
        "file holding the token signing secret (or the value in LIVEKIT_API_SECRET)",
        ("LIVEKIT_API_SECRET_FILE",),
    ),
    Flag(
        "livekit.url",
        "url",
        "https://cloud-api.livekit.io",
        "Analytics API base URL",
        ("LIVEKIT_CLOUD_API_URL",),
    ),
    Flag(
        "livekit.poll-interval", "duration", None, "LiveKit poll interval", inherits="poll.interval"
    ),
    Flag("livekit.token-ttl", "duration", "10m", "lifetime of each minted token"),
    Flag(
        "livekit.lookback-days",
        "int",
        "1",
        "list window starts this many UTC days before today",
        low=0,
        high=6,
    ),
    Flag("livekit.page-size", "int", "100", "limit per list page", low=1, high=1000),
    Flag("livekit.max-pages", "int", "50", "pages per poll at most", low=1),
    Flag("livekit.details", "bool", "true", "fetch session details (publisher metrics)"),
    Flag(
        "livekit.requests-per-minute",
        "int",
        "120",
        "request budget for this project",
        low=1,
    ),
    Flag("livekit.max-sessions", "int", "1000", "cap on per-session series", low=0),
    Flag(
        "livepeer.api-key-file",
        "path",
        None,
        "file holding the API key (or the value in LIVEPEER_API_KEY); enables the Livepeer source",
        ("LIVEPEER_API_KEY_FILE",),
    ),
    Flag(
        "livepeer.url",
        "url",
        "https://livepeer.studio/api",
        "Studio API base URL",
        ("LIVEPEER_API_URL",),
    ),
    Flag("livepeer.target-name", "str", "default", "value of the target label on self-metrics"),
    Flag(
        "livepeer.poll-interval",
        "duration",
        None,
        "Livepeer poll interval",
        inherits="poll.interval",
    ),
    Flag(
        "livepeer.active-window", "duration", "90s", "lastSeen age under which a session is active"
    ),
    Flag("livepeer.recording-lookback", "duration", "6h", "how far back recordings are tracked"),
    Flag("livepeer.page-size", "int", "100", "limit per page", low=1, high=1000),
    Flag("livepeer.max-pages", "int", "50", "pages per poll at most", low=1),
    Flag("livepeer.max-sessions", "int", "1000", "cap on per-session series", low=0),
    Flag(
        "demo", "bool", "false", "poll the built-in simulator of both APIs; no credentials needed"
    ),
    Flag("once", "bool", "false", "poll every source once, print the exposition, exit 0 or 1"),
    Flag("version", "action", None, "print the version and exit"),
)
_BY_NAME: Final = {flag.name: flag for flag in FLAGS}

SECRET_FLAG_HINTS: Final = {
    "livekit.api-secret": "put the secret in LIVEKIT_API_SECRET or a file named by "
    "--livekit.api-secret-file",
    "livepeer.api-key": "put the key in LIVEPEER_API_KEY or a file named by "
    "--livepeer.api-key-file",
}
"""Secrets have no flag (a flag shows in ``ps``); asking for one gets this advice instead."""


@dataclass(frozen=True, slots=True)
class Raw:
    """A flag's unparsed value and where it came from, for error messages."""

    value: str
    origin: str


def tokenize(argv: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """Split argv into ``{flag name: value}``; unknown input becomes problems.

    Accepts ``--name value``, ``--name=value``, ``--flag``/``--no-flag`` for booleans. Never
    echoes an unknown token's value: it may be a secret typed where a flag was expected.
    """
    values: dict[str, str] = {}
    problems: list[str] = []
    tokens = list(argv)
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if not token.startswith("--"):
            problems.append(
                f"argument {index}: unexpected positional argument (flags start with --)"
            )
            continue
        name, has_value, value = token[2:].partition("=")
        negated = name.startswith("no-") and name[3:] in _BY_NAME
        flag = _BY_NAME.get(name[3:] if negated else name)
        if flag is None:
            hint = SECRET_FLAG_HINTS.get(name)
            problems.append(f"--{name}: unknown flag" + (f"; {hint}" if hint else ""))
            continue
        if flag.kind in ("bool", "action"):
            if negated and has_value:
                problems.append(f"--{name}: takes no value")
                continue
            values[flag.name] = "false" if negated else (value if has_value else "true")
            continue
        if negated:
            problems.append(f"--{name}: unknown flag")
            continue
        if not has_value:
            if index >= len(tokens):
                problems.append(f"--{name}: needs a value")
                continue
            value = tokens[index]
            index += 1
        values[flag.name] = value
    return values, problems


def lookup(flag: Flag, given: Mapping[str, str], env: Mapping[str, str]) -> Raw | None:
    """The raw value by precedence: flag > LIVESESSION_ env > ecosystem env; None if unset."""
    if flag.name in given:
        return Raw(given[flag.name], f"--{flag.name}")
    for name in (flag.env, *flag.extra_env):
        if name in env:
            return Raw(env[name], f"${name}")
    return None


def help_text(prog: str) -> str:
    """The ``--help`` output, generated from the table."""
    lines = [f"usage: {prog} [flags]", "", "flags (each also read from its environment variable):"]
    for flag in FLAGS:
        spelled = f"--{flag.name}" if flag.kind != "bool" else f"--[no-]{flag.name}"
        default = flag.default if flag.inherits is None else f"--{flag.inherits}"
        envs = ", ".join((flag.env, *flag.extra_env)) if flag.kind != "action" else ""
        lines.append(f"  {spelled}")
        lines.append(f"      {flag.help}" + (f" (default {default})" if default else ""))
        if envs:
            lines.append(f"      env: {envs}")
    lines += [
        "",
        "secrets are read only from the environment or files:",
        "  LIVEKIT_API_SECRET, LIVEKIT_API_SECRET_FILE, LIVEPEER_API_KEY, LIVEPEER_API_KEY_FILE",
    ]
    return "\n".join(lines) + "\n"
