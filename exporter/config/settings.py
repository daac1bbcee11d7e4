"""Settings as a pure function of (argv, env): typed, validated, every problem reported at once.

``Settings.from_sources(argv, env)`` reads nothing global except the secret files it is told
about, so tests pass plain lists and dicts. Secrets live in :class:`Secret`, whose ``repr`` and
``str`` hide the value; no message built here contains a secret's value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, TypeVar, cast

import httpx

from exporter.config.durations import parse_duration
from exporter.config.flags import FLAGS, Flag, Raw, lookup, tokenize
from exporter.config.values import ListenAddress
from exporter.errors import ConfigError
from exporter.logs import Redactor

_T = TypeVar("_T")

__all__ = ["LiveKitCredentials", "LiveKitSettings", "LivepeerSettings", "Secret", "Settings"]

_TRUE: Final = frozenset({"true", "1", "yes", "on"})
_FALSE: Final = frozenset({"false", "0", "no", "off"})
_DEMO_INTERVAL: Final = "2s"
"""Demo mode polls its local simulator this often unless told otherwise: a demo should move."""


class Secret:
    """A credential that prints as asterisks; ``reveal()`` is the one way to read it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True, slots=True)
class LiveKitCredentials:
    """What LiveKit Cloud needs to mint a token and find the project."""

    project_id: str
    api_key: str
    api_secret: Secret = field(repr=False)


@dataclass(frozen=True, slots=True)
class LiveKitSettings:
    """The LiveKit source's options; it runs only when ``credentials`` is set."""

    credentials: LiveKitCredentials | None
    url: str
    poll_interval: float
    token_ttl: float
    lookback_days: int
    page_size: int
    max_pages: int
    details: bool
    requests_per_minute: int
    max_sessions: int


@dataclass(frozen=True, slots=True)
class LivepeerSettings:
    """The Livepeer source's options; it runs only when ``api_key`` is set."""

    api_key: Secret | None = field(repr=False)
    url: str
    target_name: str
    poll_interval: float
    active_window: float
    recording_lookback: float
    page_size: int
    max_pages: int
    max_sessions: int


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the process needs to run, validated."""

    listen_address: ListenAddress
    telemetry_path: str
    log_level: str
    log_format: str
    poll_interval: float
    poll_timeout: float
    stale_after: float
    livekit: LiveKitSettings
    livepeer: LivepeerSettings
    demo: bool
    once: bool

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret value, for the log redactor (a second line of defence only)."""
        found = [] if self.livepeer.api_key is None else [self.livepeer.api_key.reveal()]
        if self.livekit.credentials is not None:
            found.append(self.livekit.credentials.api_secret.reveal())
        return tuple(found)

    @classmethod
    def from_sources(cls, argv: Sequence[str], env: Mapping[str, str]) -> Settings:
        """Parse ``argv`` and ``env``; raise ConfigError listing every problem."""
        given, problems = tokenize(argv)
        found: list[str] = []  # secret values read, to keep them out of the problems
        demo = _parse_bool(lookup(_flag("demo"), given, env), problems, _flag("demo"))
        values = _Values(given, env, problems, demo=bool(demo))
        settings = cls(
            listen_address=values.get("web.listen-address", ListenAddress.parse),
            telemetry_path=values.get("web.telemetry-path", _telemetry_path),
            log_level=values.get("log.level", str),
            log_format=values.get("log.format", str),
            poll_interval=values.get("poll.interval", _positive_duration),
            poll_timeout=values.get("poll.timeout", _positive_duration),
            stale_after=values.get("poll.stale-after", _positive_duration),
            livekit=LiveKitSettings(
                credentials=_livekit_credentials(values, given, env, problems, found),
                url=values.get("livekit.url", _url),
                poll_interval=values.get("livekit.poll-interval", _positive_duration),
                token_ttl=values.get("livekit.token-ttl", _token_ttl),
                lookback_days=values.get("livekit.lookback-days", int),
                page_size=values.get("livekit.page-size", int),
                max_pages=values.get("livekit.max-pages", int),
                details=values.get("livekit.details", bool),
                requests_per_minute=values.get("livekit.requests-per-minute", int),
                max_sessions=values.get("livekit.max-sessions", int),
            ),
            livepeer=LivepeerSettings(
                api_key=_secret(
                    given, env, problems, "livepeer.api-key-file", "LIVEPEER_API_KEY", found
                ),
                url=values.get("livepeer.url", _url),
                target_name=values.get("livepeer.target-name", _nonempty),
                poll_interval=values.get("livepeer.poll-interval", _positive_duration),
                active_window=values.get("livepeer.active-window", _positive_duration),
                recording_lookback=values.get("livepeer.recording-lookback", _positive_duration),
                page_size=values.get("livepeer.page-size", int),
                max_pages=values.get("livepeer.max-pages", int),
                max_sessions=values.get("livepeer.max-sessions", int),
            ),
            demo=bool(demo),
            once=values.get("once", bool),
        )
        attempted = any(
            lookup(_flag(name), given, env) is not None
            for name in ("livekit.project-id", "livekit.api-key", "livekit.api-secret-file")
        ) or any(env.get(name) for name in ("LIVEKIT_API_SECRET", "LIVEPEER_API_KEY"))
        attempted = attempted or lookup(_flag("livepeer.api-key-file"), given, env) is not None
        if not (settings.demo or attempted):
            problems.append(
                "no source configured: set LiveKit's project id, API key and secret "
                "(--livekit.project-id, LIVEKIT_API_KEY, LIVEKIT_API_SECRET), "
                "a Livepeer key (LIVEPEER_API_KEY), or run with --demo"
            )
        if problems:
            # a secret pasted as another flag's value would otherwise be echoed back
            redactor = Redactor(found)
            raise ConfigError([redactor.text(problem) for problem in problems])
        return settings


def _flag(name: str) -> Flag:
    return next(flag for flag in FLAGS if flag.name == name)


class _Values:
    """Looks up and converts flag values, collecting problems instead of raising."""

    def __init__(
        self, given: Mapping[str, str], env: Mapping[str, str], problems: list[str], *, demo: bool
    ) -> None:
        self._given, self._env, self._problems, self._demo = given, env, problems, demo

    def raw(self, name: str) -> Raw | None:
        flag = _flag(name)
        raw = lookup(flag, self._given, self._env)
        if raw is None and flag.inherits is not None:
            return self.raw(flag.inherits)
        if raw is None and self._demo and name == "poll.interval":
            return Raw(_DEMO_INTERVAL, "the --demo default")
        if raw is None and flag.default is not None:
            return Raw(flag.default, "the default")
        return raw

    def get(self, name: str, convert: Callable[[str], _T]) -> _T:
        """The converted value of a flag that has a default; on a problem, records it and
        returns the default so the remaining checks still run."""
        flag, raw = _flag(name), self.raw(name)
        assert raw is not None, f"{name} has no default"  # noqa: S101  # table invariant
        if flag.kind == "bool":
            return cast(_T, _parse_bool(raw, self._problems, flag))
        try:
            value = convert(raw.value)
            _check(flag, value)
        except ValueError as exc:
            if lookup(flag, self._given, self._env) is not None or flag.inherits is None:
                self._problems.append(f"{_where(flag, raw)}: {exc}")  # else the parent says it
            # the value no longer matters (ConfigError follows); any valid one will do
            return convert(_flag(flag.inherits or name).default or "")
        return value

    def optional(self, name: str) -> str | None:
        """The text of a flag without a default (credentials), or None when unset or empty."""
        raw = lookup(_flag(name), self._given, self._env)
        return raw.value.strip() or None if raw is not None else None


def _where(flag: Flag, raw: Raw) -> str:
    names = " / ".join((f"--{flag.name}", flag.env, *flag.extra_env))
    return f"{names} (from {raw.origin})"


def _check(flag: Flag, value: object) -> None:
    if flag.choices and value not in flag.choices:
        raise ValueError(f"{value!r} is not one of {', '.join(flag.choices)}")
    if isinstance(value, int) and not isinstance(value, bool):
        if flag.low is not None and value < flag.low:
            raise ValueError(f"{value} is below the minimum {flag.low}")
        if flag.high is not None and value > flag.high:
            raise ValueError(f"{value} is above the maximum {flag.high}")


def _parse_bool(raw: Raw | None, problems: list[str], flag: Flag) -> bool:
    if raw is None:
        return flag.default == "true"
    text = raw.value.strip().lower()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    problems.append(f"{_where(flag, raw)}: {raw.value!r} is not a boolean (true or false)")
    return False


def _positive_duration(text: str) -> float:
    seconds = parse_duration(text)
    if seconds <= 0:
        raise ValueError("must be longer than zero")
    return seconds


def _token_ttl(text: str) -> float:
    seconds = parse_duration(text)
    if seconds < 60:
        raise ValueError("must be at least 1m, so a token outlives the requests signed with it")
    return seconds


def _telemetry_path(text: str) -> str:
    if not text.startswith("/") or text in ("/", "/healthz", "/readyz"):
        raise ValueError(f"{text!r} must start with / and not be /, /healthz or /readyz")
    return text


def _url(text: str) -> str:
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as exc:
        raise ValueError(f"{text!r} is not a URL: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"{text!r} must be an http:// or https:// URL with a host")
    return text.rstrip("/")


def _nonempty(text: str) -> str:
    if not text:
        raise ValueError("must not be empty")
    return text


def _secret(
    given: Mapping[str, str],
    env: Mapping[str, str],
    problems: list[str],
    file_flag: str,
    value_env: str,
    found: list[str],
) -> Secret | None:
    """A secret from its file flag/env (read and stripped) or else from ``value_env``.

    Every value read is added to ``found``, so problems can be masked even when the secret
    itself is fine and only ends up unused."""
    flag = _flag(file_flag)
    raw = lookup(flag, given, env)
    if raw is not None:
        try:
            text = Path(raw.value).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            # the value is not echoed: a secret pasted where its path belongs is a common slip
            problems.append(f"{_where(flag, raw)}: cannot read the file it names: {reason}")
            return None
        if not text:
            problems.append(f"{_where(flag, raw)}: the file it names is empty")
            return None
        found.append(text)
        return Secret(text)
    text = env.get(value_env, "").strip()
    if text:
        found.append(text)
    return Secret(text) if text else None


def _livekit_credentials(
    values: _Values,
    given: Mapping[str, str],
    env: Mapping[str, str],
    problems: list[str],
    found: list[str],
) -> LiveKitCredentials | None:
    """All three LiveKit credentials, none, or a problem naming the missing ones."""
    before = len(problems)
    secret = _secret(given, env, problems, "livekit.api-secret-file", "LIVEKIT_API_SECRET", found)
    project_id = values.optional("livekit.project-id")
    api_key = values.optional("livekit.api-key")
    parts = {
        "--livekit.project-id / LIVEKIT_PROJECT_ID": project_id,
        "--livekit.api-key / LIVEKIT_API_KEY": api_key,
        "LIVEKIT_API_SECRET or --livekit.api-secret-file": secret,
    }
    missing = [name for name, value in parts.items() if not value]
    if len(problems) > before:
        return None
    if missing and len(missing) < len(parts):
        problems.append(
            "LiveKit source partly configured: missing " + ", ".join(missing) + " (give all three)"
        )
        return None
    if project_id is None or api_key is None or secret is None:
        return None
    return LiveKitCredentials(project_id=project_id, api_key=api_key, api_secret=secret)
