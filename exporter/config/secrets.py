"""Secrets: a value that never prints, and where each one is read from.

A secret has no flag (a flag shows in ``ps``): it comes from a file named by a ``*-file`` flag
or its environment variables, or else from one environment variable holding the value. Every
value read is remembered by the :class:`SecretReader`, so configuration problems can be masked
even when the secret ended up unused (a secret pasted as another flag's value, say).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from exporter.config.flags import Flag
from exporter.config.resolve import Resolver

__all__ = ["Secret", "SecretInput", "SecretReader"]


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
class SecretInput:
    """Where one secret is read from: a file flag, or else an environment variable."""

    file: Flag[str]
    """The ``*-file`` flag naming a file that holds the secret."""
    env: str
    """The environment variable holding the value itself."""
    noun: str
    """What the secret is called in advice (``secret``, ``key``)."""

    @property
    def flag_name(self) -> str:
        """The flag a user may try to give it by (``livekit.api-secret``); there is none."""
        return self.file.name.removesuffix("-file")

    @property
    def hint(self) -> str:
        """The advice given to someone who tries ``--<flag_name>``."""
        return f"put the {self.noun} in {self.env} or a file named by --{self.file.name}"

    @property
    def envs(self) -> tuple[str, ...]:
        """The value's variable and the file's ecosystem variables, for ``--help``."""
        return (self.env, *self.file.extra_env)


class SecretReader:
    """Reads secrets for one configuration pass and remembers every value it read."""

    def __init__(self, resolver: Resolver) -> None:
        self._resolver = resolver
        self.found: list[str] = []
        """Every secret value read, to keep them out of the problems."""

    def read(self, secret: SecretInput) -> Secret | None:
        """The secret from its file (read and stripped) or else from its variable; None when
        neither is set, or (recorded as a problem) when the file cannot be used."""
        resolver = self._resolver
        raw = resolver.raw(secret.file)
        if raw is not None:
            try:
                text = Path(raw.value).read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
                # the value is not echoed: a secret pasted where its path belongs is a common slip
                resolver.problems.append(
                    f"{resolver.where(secret.file, raw)}: cannot read the file it names: {reason}"
                )
                return None
            if not text:
                resolver.problems.append(
                    f"{resolver.where(secret.file, raw)}: the file it names is empty"
                )
                return None
            self.found.append(text)
            return Secret(text)
        text = resolver.env.get(secret.env, "").strip()
        if text:
            self.found.append(text)
        return Secret(text) if text else None
