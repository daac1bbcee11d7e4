"""From argv and the environment to flag values: tokenising, precedence, parsing, problems.

:func:`tokenize` splits argv by the flag table; a :class:`Resolver` then finds each flag's raw
value (flag > ``LIVESESSION_*`` > ecosystem env var > default) and parses it with the flag's own
parser, collecting every problem instead of raising, so the user fixes them all in one go.
Nothing here reads a global: argv and env are passed in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from exporter.config.flags import Flag

__all__ = ["Raw", "Resolver", "lookup", "tokenize"]

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Raw:
    """A flag's unparsed value and where it came from, for error messages."""

    value: str
    origin: str


def tokenize(
    argv: Sequence[str], flags: Sequence[Flag[object]], hints: Mapping[str, str]
) -> tuple[dict[str, str], list[str]]:
    """Split argv into ``{flag name: value}``; unknown input becomes problems.

    Accepts ``--name value``, ``--name=value``, ``--flag``/``--no-flag`` for booleans. Never
    echoes an unknown token's value: it may be a secret typed where a flag was expected.
    ``hints`` gives advice for names that are deliberately not flags (secrets).
    """
    by_name = {flag.name: flag for flag in flags}
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
        negated = name.startswith("no-") and name[3:] in by_name
        flag = by_name.get(name[3:] if negated else name)
        if flag is None:
            hint = hints.get(name)
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


def lookup(flag: Flag[object], given: Mapping[str, str], env: Mapping[str, str]) -> Raw | None:
    """The raw value by precedence: flag > LIVESESSION_ env > ecosystem env; None if unset."""
    if flag.name in given:
        return Raw(given[flag.name], f"--{flag.name}")
    for name in (flag.env, *flag.extra_env):
        if name in env:
            return Raw(env[name], f"${name}")
    return None


class Resolver:
    """Looks up and parses flag values, collecting problems instead of raising."""

    def __init__(
        self, given: Mapping[str, str], env: Mapping[str, str], problems: list[str]
    ) -> None:
        self.env = env
        self.problems = problems
        self._given = given
        self.demo = False
        """Whether ``--demo`` is on: flags with a ``demo_default`` then default to it."""

    def raw(self, flag: Flag[object]) -> Raw | None:
        """The flag's raw value by precedence, then its parent's, then its default."""
        raw = lookup(flag, self._given, self.env)
        if raw is None and flag.inherits is not None:
            return self.raw(flag.inherits)
        if raw is None and self.demo and flag.demo_default is not None:
            return Raw(flag.demo_default, "the --demo default")
        if raw is None and flag.default is not None:
            return Raw(flag.default, "the default")
        return raw

    def given(self, flag: Flag[object]) -> bool:
        """Whether the user set this flag (by argv or env), whatever its value."""
        return lookup(flag, self._given, self.env) is not None

    def given_on_command_line(self, flag: Flag[object]) -> bool:
        return flag.name in self._given

    def get(self, flag: Flag[_T]) -> _T:
        """The parsed value of a flag that has a default; on a problem, records it and
        returns the default so the remaining checks still run."""
        raw = self.raw(flag)
        assert raw is not None, f"{flag.name} has no default"  # noqa: S101  # table invariant
        try:
            return flag.parser.parse(raw.value)
        except ValueError as exc:
            if self.given(flag) or flag.inherits is None:
                self.problems.append(f"{self.where(flag, raw)}: {exc}")  # else the parent says it
            # the value no longer matters (ConfigError follows); any valid one will do
            fallback = (flag.inherits or flag).default
            assert fallback is not None  # noqa: S101  # a flag with a parser has a default
            return flag.parser.parse(fallback)

    def optional(self, flag: Flag[object]) -> str | None:
        """The text of a flag without a default (credentials), or None when unset or empty."""
        raw = lookup(flag, self._given, self.env)
        return raw.value.strip() or None if raw is not None else None

    def where(self, flag: Flag[object], raw: Raw) -> str:
        """How a problem names the value it is about."""
        return where(flag, raw)


def where(flag: Flag[object], raw: Raw) -> str:
    """``--flag / ENV (from origin)``: how a problem names the value it is about."""
    names = " / ".join((f"--{flag.name}", flag.env, *flag.extra_env))
    return f"{names} (from {raw.origin})"
