"""Settings as a pure function of (argv, env, sources): typed, validated, every problem at once.

``Settings.from_sources(argv, env, sources)`` reads nothing global except the secret files it
is told about, so tests pass plain lists and dicts. The core settings are parsed here; each
source parses its own (:class:`SourceOptions`, implemented by every source's ``SPEC``). Secrets
live in :class:`~exporter.config.secrets.Secret`, whose ``repr`` and ``str`` hide the value;
no problem reported here contains a secret's value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from exporter.config import flags as core
from exporter.config.flags import Flag, flag_table
from exporter.config.resolve import Resolver, tokenize
from exporter.config.secrets import Secret, SecretInput, SecretReader
from exporter.config.values import ListenAddress
from exporter.errors import ConfigError
from exporter.logs import Redactor

__all__ = ["Settings", "SourceOptions", "SourceSettings"]

_S = TypeVar("_S")


class SourceSettings(Protocol):
    """One source's parsed settings, as the core sees them."""

    @property
    def target(self) -> str | None:
        """The ``target`` label when the source is configured to run, else None."""

    @property
    def secrets(self) -> tuple[Secret, ...]:
        """Every secret of this source, for the log redactor."""


class SourceOptions(Protocol):
    """What configuration needs of one kind of source: its flags, secrets and parser."""

    @property
    def kind(self) -> str:
        """The ``source`` label, and this source's key in :attr:`Settings.sources`."""

    @property
    def flags(self) -> tuple[Flag[object], ...]:
        """Its flags, in ``--help`` order."""

    @property
    def secrets(self) -> tuple[SecretInput, ...]:
        """Where its secrets come from."""

    @property
    def enable_hint(self) -> str:
        """How to configure it, for the error when no source is."""

    def configure(self, resolver: Resolver, reader: SecretReader) -> SourceSettings:
        """Parse its settings; problems go to ``resolver.problems``."""


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
    sources: Mapping[str, SourceSettings]
    """Each source's settings by kind, configured or not (``target`` None), in table order."""
    demo: bool
    once: bool

    def of(self, kind: type[_S]) -> _S:
        """The settings of the source whose settings are of type ``kind``."""
        for options in self.sources.values():
            if isinstance(options, kind):
                return options
        raise KeyError(kind.__name__)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret value, for the log redactor (a second line of defence only)."""
        return tuple(s.reveal() for options in self.sources.values() for s in options.secrets)

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
        listen_address = resolver.get(core.WEB_LISTEN_ADDRESS)
        telemetry_path = resolver.get(core.WEB_TELEMETRY_PATH)
        log_level = resolver.get(core.LOG_LEVEL)
        log_format = resolver.get(core.LOG_FORMAT)
        poll_interval = resolver.get(core.POLL_INTERVAL)
        poll_timeout = resolver.get(core.POLL_TIMEOUT)
        stale_after = resolver.get(core.POLL_STALE_AFTER)
        configured = {source.kind: source.configure(resolver, reader) for source in sources}
        settings = cls(
            listen_address=listen_address,
            telemetry_path=telemetry_path,
            log_level=log_level,
            log_format=log_format,
            poll_interval=poll_interval,
            poll_timeout=poll_timeout,
            stale_after=stale_after,
            sources=configured,
            demo=demo,
            once=resolver.get(core.ONCE),
        )
        attempted = any(_attempted(source, resolver) for source in sources)
        if not (demo or attempted or any(o.target for o in configured.values())):
            how = ", ".join(source.enable_hint for source in sources)
            problems.append(f"no source configured: {how}, or run with --demo")
        if problems:
            # a secret pasted as another flag's value would otherwise be echoed back
            redactor = Redactor(reader.found)
            raise ConfigError([redactor.text(problem) for problem in problems])
        return settings


def _attempted(source: SourceOptions, resolver: Resolver) -> bool:
    """Whether the user meant ``source`` to run: an enabling flag or a secret was given."""
    return any(resolver.given(flag) for flag in source.flags if flag.enables) or any(
        resolver.env.get(secret.env) for secret in source.secrets
    )
