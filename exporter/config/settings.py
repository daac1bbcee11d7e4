"""Settings as a pure function of (argv, env, sources): typed, validated, every problem at once.

``Settings.from_sources(argv, env, sources)`` reads nothing global except the files it is told
about (``--config.file`` and secret files), so tests pass plain lists and dicts. The core
settings are parsed here; each source parses its own (:class:`SourceOptions`, implemented by
every source's ``SPEC``), once per target. The targets come from ``--config.file``
(:mod:`exporter.config.configfile`) or else from the per-source flags, one per source; the
two are alternatives. :attr:`Settings.load` loads them again the same way, for a reload.
Secrets live in :class:`~exporter.config.secrets.Secret`, whose ``repr`` and ``str`` hide the
value; no problem reported here contains a secret's value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from exporter.config import flags as core
from exporter.config.configfile import load_file
from exporter.config.flags import flag_table
from exporter.config.network import Network, network
from exporter.config.resolve import Resolver, tokenize
from exporter.config.secrets import SecretReader
from exporter.config.targets import (
    Loaded,
    Shard,
    SourceOptions,
    SourceSettings,
    TargetSettings,
    ordinal_from_pod_name,
)
from exporter.config.values import ListenAddress
from exporter.errors import ConfigError
from exporter.logs import Redactor

__all__ = ["Settings", "SourceOptions", "SourceSettings"]

_S = TypeVar("_S")


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the process needs to run, validated."""

    listen_address: ListenAddress
    telemetry_path: str
    web_config_file: str | None
    """``--web.config.file``; validated by the web layer, which owns its format."""
    health_listen_address: ListenAddress | None
    enable_lifecycle: bool
    log_level: str
    log_format: str
    poll_interval: float
    poll_timeout: float
    stale_after: float
    upstream: Network
    """The CAs and proxies the upstream APIs are reached with (read once, at start)."""
    sources: Mapping[str, SourceSettings]
    """Each source's settings from its flags, configured or not (``target`` None), in table
    order; with a file these are the defaults (``--demo`` points them at the simulator)."""
    loaded: Loaded
    """The targets, as loaded at start."""
    config_file: str | None
    auto_reload_interval: float
    shard: Shard
    demo: bool
    once: bool
    check: bool
    load: Callable[[], Loaded] = field(compare=False, repr=False)
    """Loads the targets again as at start (the file, or the flags with their secret files);
    raises ConfigError listing every problem."""

    @property
    def targets(self) -> tuple[TargetSettings, ...]:
        return self.loaded.targets

    def of(self, kind: type[_S]) -> _S:
        """The flag settings of the source whose settings are of type ``kind``."""
        for options in self.sources.values():
            if isinstance(options, kind):
                return options
        raise KeyError(kind.__name__)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret value, for the log redactor (a second line of defence only)."""
        targets = tuple(s.reveal() for t in self.targets for s in t.settings.secrets)
        return targets + self.upstream.secrets

    @classmethod
    def from_sources(
        cls, argv: Sequence[str], env: Mapping[str, str], sources: Sequence[SourceOptions]
    ) -> Settings:
        """Parse ``argv`` and ``env``; raise ConfigError listing every problem."""
        hints = {s.flag_name: s.hint for source in sources for s in source.secrets}
        given, problems = tokenize(argv, flag_table(s.flags for s in sources), hints)
        resolver = Resolver(given, env, problems)
        reader = SecretReader(resolver)
        resolver.demo = demo = resolver.get(core.DEMO)
        config_file = resolver.optional(core.CONFIG_FILE)
        # with a file, the per-source flags are only conflicts (reported below): their own
        # checks, such as LiveKit's all-or-none credentials, would ask for more flags
        flags = resolver if config_file is None else Resolver(given, env, [])
        configured = {source.kind: source.configure(flags, reader) for source in sources}

        def from_flags() -> Loaded:
            return _load_flags(given, env, sources)

        def from_file() -> Loaded:
            assert config_file is not None  # noqa: S101  # chosen only with a file
            return load_file(config_file, sources, resolver, env)

        load = from_flags if config_file is None else from_file
        loaded = Loaded((), (), 0.0)
        if config_file is None:
            loaded = _targets(configured, sources, resolver)
            attempted = any(_attempted(source, resolver) for source in sources)
            if not (demo or attempted or loaded.targets):
                how = ", ".join(source.enable_hint for source in sources)
                problems.append(f"no source configured: {how}, or run with --demo")
        else:
            problems.extend(_conflicts(config_file, sources, resolver, demo=demo))
            try:
                loaded = from_file()
            except ConfigError as exc:
                problems.extend(exc.problems)
        settings = cls(
            listen_address=resolver.get(core.WEB_LISTEN_ADDRESS),
            telemetry_path=resolver.get(core.WEB_TELEMETRY_PATH),
            web_config_file=resolver.optional(core.WEB_CONFIG_FILE),
            health_listen_address=_health_address(resolver),
            enable_lifecycle=resolver.get(core.WEB_ENABLE_LIFECYCLE),
            log_level=resolver.get(core.LOG_LEVEL),
            log_format=resolver.get(core.LOG_FORMAT),
            poll_interval=resolver.get(core.POLL_INTERVAL),
            poll_timeout=resolver.get(core.POLL_TIMEOUT),
            stale_after=resolver.get(core.POLL_STALE_AFTER),
            upstream=network(resolver),
            sources=configured,
            loaded=loaded,
            config_file=config_file,
            auto_reload_interval=resolver.get(core.CONFIG_AUTO_RELOAD_INTERVAL),
            shard=_shard(resolver),
            demo=demo,
            once=resolver.get(core.ONCE),
            check=resolver.get(core.CONFIG_CHECK),
            load=load,
        )
        if problems:
            # a secret pasted as another flag's value would otherwise be echoed back
            redactor = Redactor(reader.found)
            raise ConfigError([redactor.text(problem) for problem in problems])
        return settings


def _targets(
    configured: Mapping[str, SourceSettings], sources: Sequence[SourceOptions], resolver: Resolver
) -> Loaded:
    """One target per source configured by flags, named as the flags name it."""
    targets = tuple(
        TargetSettings(kind, options.target, options.identity, options)
        for kind, options in configured.items()
        if options.target is not None and options.identity is not None
    )
    files = tuple(
        raw.value
        for source in sources
        for secret in source.secrets
        if (raw := resolver.raw(secret.file)) is not None
    )
    return Loaded(targets, files, 0.0)


def _load_flags(
    given: Mapping[str, str], env: Mapping[str, str], sources: Sequence[SourceOptions]
) -> Loaded:
    """The flags' targets again, secret files read anew (a reload without a file)."""
    problems: list[str] = []
    resolver = Resolver(given, env, problems)
    reader = SecretReader(resolver)
    configured = {source.kind: source.configure(resolver, reader) for source in sources}
    if problems:
        raise ConfigError([Redactor(reader.found).text(problem) for problem in problems])
    return _targets(configured, sources, resolver)


def _conflicts(
    path: str, sources: Sequence[SourceOptions], resolver: Resolver, *, demo: bool
) -> list[str]:
    """The per-source flags and variables given beside a file: each is a problem."""
    problems = []
    for source in sources:
        names = [f"--{flag.name}" for flag in source.flags if resolver.given_on_command_line(flag)]
        variables = [name for flag in source.flags for name in (flag.env, *flag.extra_env)]
        variables += [secret.env for secret in source.secrets]
        names += [f"${name}" for name in variables if name in resolver.env]
        problems += [f"--config.file {path}: cannot be combined with {name}" for name in names]
    if demo:
        problems.append(f"--config.file {path}: --demo polls the built-in simulator instead")
    if problems:
        problems.append("the file configures every target: give each setting there instead")
    return problems


def _health_address(resolver: Resolver) -> ListenAddress | None:
    text = resolver.optional(core.WEB_HEALTH_LISTEN_ADDRESS)
    if text is None:
        return None
    try:
        return ListenAddress.parse(text)
    except ValueError as exc:
        resolver.problems.append(f"--web.health-listen-address: {exc}")
        return None


def _shard(resolver: Resolver) -> Shard:
    total = resolver.get(core.TOTAL_SHARDS)
    ordinal = resolver.get(core.SHARD)
    pod = resolver.optional(core.SHARD_FROM_POD_NAME)
    if pod is not None:
        if resolver.given(core.SHARD):
            resolver.problems.append("--shard and --shard.from-pod-name: give one of them")
        try:
            ordinal = ordinal_from_pod_name(pod)
        except ValueError as exc:
            resolver.problems.append(f"--shard.from-pod-name: {exc}")
            return Shard()
    if ordinal >= total:
        resolver.problems.append(
            f"--shard {ordinal}: must be below --total-shards {total} (ordinals start at 0)"
        )
        return Shard()
    return Shard(ordinal, total)


def _attempted(source: SourceOptions, resolver: Resolver) -> bool:
    """Whether the user meant ``source`` to run: an enabling flag or a secret was given."""
    return any(resolver.given(flag) for flag in source.flags if flag.enables) or any(
        resolver.env.get(secret.env) for secret in source.secrets
    )
