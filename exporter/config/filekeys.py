"""What a target of ``--config.file`` may say, and how its values are looked up.

A target's keys are derived from its source's flag table (:class:`TargetKeys`): the
snake_case of each flag after the source's prefix, the identity flags as required keys, and
each secret as a ``*_file`` / ``*_env`` pair. A :class:`TargetResolver` then answers the
source's parser exactly as the command line would, so types, units, ranges and defaults are
the flags' own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from exporter.config.flags import Flag
from exporter.config.resolve import Raw, Resolver
from exporter.config.secrets import SecretInput
from exporter.config.targets import SourceOptions

__all__ = ["TargetKeys", "TargetResolver"]


class TargetResolver(Resolver):
    """Flag values of one target of the file: its key > defaults > global flag > default."""

    def __init__(
        self,
        values: Mapping[str, Raw],
        parent: Resolver,
        secrets: Mapping[str, str],
        problems: list[str],
    ) -> None:
        super().__init__({}, secrets, problems)
        self._values = values
        self._parent = parent

    def raw(self, flag: Flag[object]) -> Raw | None:
        raw = self._values.get(flag.name)
        if raw is None and flag.inherits is not None:
            return self._parent.raw(flag.inherits)
        if raw is None and flag.default is not None:
            return Raw(flag.default, "the default")
        return raw

    def given(self, flag: Flag[object]) -> bool:
        return flag.name in self._values

    def optional(self, flag: Flag[object]) -> str | None:
        raw = self._values.get(flag.name)
        return raw.value.strip() or None if raw is not None else None

    def where(self, flag: Flag[object], raw: Raw) -> str:
        return raw.origin


@dataclass(frozen=True, slots=True)
class TargetKeys:
    """The keys one source's targets may have, and what each stands for."""

    flags: dict[str, Flag[object]]
    """Value keys (``poll_interval``) → their flag."""
    identity: tuple[str, ...]
    secrets: dict[str, tuple[str, str, SecretInput]]
    """Secret base (``api_secret``) → (its file key, its env key, where flags read it)."""

    @classmethod
    def of(cls, source: SourceOptions) -> TargetKeys:
        secret_files = {s.file.name: s for s in source.secrets}
        flags: dict[str, Flag[object]] = {}
        identity: list[str] = []
        secrets: dict[str, tuple[str, str, SecretInput]] = {}
        for flag in source.flags:
            key = flag.name.removeprefix(source.section + ".").replace("-", "_")
            if (secret := secret_files.get(flag.name)) is not None:
                base = key.removesuffix("_file")
                secrets[base] = (key, base + "_env", secret)
            elif flag.in_file:
                flags[key] = flag
                if flag.enables:
                    identity.append(key)
        return cls(flags, tuple(identity), secrets)

    def allowed(self, *, in_defaults: bool) -> set[str]:
        if in_defaults:
            return {"enabled", *(k for k in self.flags if k not in self.identity)}
        refs = {
            key for file_key, env_key, _ in self.secrets.values() for key in (file_key, env_key)
        }
        return {"name", "enabled", *self.flags, *refs}
