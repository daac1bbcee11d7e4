"""``--config.file``: the targets of every source from one strict YAML file.

Each source's list holds targets whose keys are the snake_case of its flags (``poll_interval``
for ``--livekit.poll-interval``), parsed by the flags' own parsers, so types, units, ranges
and defaults cannot differ between the two ways to configure. A target's values are looked up
by a :class:`TargetResolver`: its own key > ``defaults.<source>`` > the global flag a key
inherits (``--poll.interval``) > the built-in default; the source then parses them exactly as
it parses flags. Secrets are only referenced (``*_file`` or ``*_env``), never written inline.
Every problem names the file, line and key path, never a secret's value.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Final

from exporter.config.filekeys import TargetKeys, TargetResolver
from exporter.config.resolve import Raw, Resolver
from exporter.config.secrets import SecretReader
from exporter.config.targets import Loaded, SourceOptions, TargetSettings
from exporter.config.values import parse_bool
from exporter.config.yamlfile import Map, Node, Scalar, Seq, parse_yaml
from exporter.errors import ConfigError
from exporter.logs import Redactor

__all__ = ["NAME_PATTERN", "load_file"]

NAME_PATTERN: Final = re.compile(r"[A-Za-z0-9_.-]{1,64}\Z")
_MAX_BYTES: Final = 4 * 1024 * 1024
_SCALAR_TYPES: Final = {"bool": "boolean", "int": "integer"}
"""The YAML type a flag's parser kind needs; every other kind takes a string."""


def load_file(
    path: str, sources: Sequence[SourceOptions], parent: Resolver, env: Mapping[str, str]
) -> Loaded:
    """Every target of the file at ``path``, validated, secrets read; ConfigError otherwise."""
    problems: list[str] = []
    try:
        with open(path, "rb") as handle:
            content = handle.read(_MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError([f"--config.file {path}: cannot read it: {exc.strerror}"]) from None
    if len(content) > _MAX_BYTES:
        raise ConfigError([f"--config.file {path}: larger than {_MAX_BYTES // 2**20} MiB"])
    try:
        text = content.decode()
    except UnicodeDecodeError:
        raise ConfigError([f"--config.file {path}: not UTF-8 text"]) from None
    root, problems = parse_yaml(text, path)
    if not isinstance(root, Map):
        found = "nothing" if root is None else _a(root.kind)
        raise ConfigError([f"{path}:1: expected a mapping of sources to targets, found {found}"])
    load = _Load(path, parent, env, problems)
    keys = {source.section: TargetKeys.of(source) for source in sources}
    for key, (line, _) in root.entries.items():
        if key != "defaults" and key not in keys:
            expected = ", ".join(["defaults", *keys])
            problems.append(f"{path}:{line}: {key}: unknown key (expected {expected})")
    defaults = load.defaults(root.entries.get("defaults"), keys)
    targets: list[TargetSettings] = []
    for source in sources:
        entry = root.entries.get(source.section)
        if entry is not None:
            section = source.section
            targets += load.targets(source, keys[section], entry[1], defaults[section])
    _check_unique(targets, problems)
    if problems:
        # a bad value of defaults is reported once, not again for each target it reaches
        redactor = Redactor(load.reader_found)
        unique = dict.fromkeys(redactor.text(p) for p in problems)
        raise ConfigError(list(unique), files=(path, *load.secret_files))
    digest = hashlib.sha256(content).digest()
    return Loaded(tuple(targets), (path, *load.secret_files), float(int.from_bytes(digest[:6])))


class _Load:
    """One pass over the file, collecting problems, secret values and secret file paths."""

    def __init__(
        self, path: str, parent: Resolver, env: Mapping[str, str], problems: list[str]
    ) -> None:
        self.path, self.parent, self.env, self.problems = path, parent, env, problems
        self.reader_found: list[str] = []
        self.secret_files: list[str] = []
        self.names: dict[tuple[str, str], int] = {}
        """Line of each (source section, name) first seen: names are unique per source."""

    def problem(self, line: int, where: str, message: str) -> None:
        self.problems.append(f"{self.path}:{line}: {where}: {message}")

    def defaults(
        self, entry: tuple[int, Node] | None, keys: Mapping[str, TargetKeys]
    ) -> dict[str, dict[str, Raw]]:
        found: dict[str, dict[str, Raw]] = {section: {} for section in keys}
        if entry is None:
            return found
        node = self.mapping(entry[1], "defaults")
        for section, (line, child) in (node.entries if node else {}).items():
            if section not in keys:
                self.problem(line, f"defaults.{section}", "unknown source")
                continue
            where = f"defaults.{section}"
            values = self.mapping(child, where)
            if values is None:
                continue
            found[section] = self.values(values, where, keys[section], in_defaults=True)
            flags = {flag.name: flag for flag in keys[section].flags.values()}
            for name, raw in found[section].items():  # checked here too: no target may use it
                if (flag := flags.get(name)) is not None:
                    try:
                        flag.parser.parse(raw.value)
                    except ValueError as exc:
                        self.problems.append(f"{raw.origin}: {exc}")
        return found

    def targets(
        self, source: SourceOptions, keys: TargetKeys, node: Node, defaults: dict[str, Raw]
    ) -> list[TargetSettings]:
        if not isinstance(node, Seq):
            self.problem(
                node.line, source.section, f"expected a list of targets, found {_a(node.kind)}"
            )
            return []
        found = []
        for index, item in enumerate(node.items):
            target = self.target(source, keys, item, f"{source.section}[{index}]", defaults)
            if target is not None:
                found.append(target)
        return found

    def target(
        self,
        source: SourceOptions,
        keys: TargetKeys,
        node: Node,
        where: str,
        defaults: dict[str, Raw],
    ) -> TargetSettings | None:
        entries = self.mapping(node, where)
        if entries is None:
            return None
        before = len(self.problems)
        name = self.name(entries, where)
        if name is not None:
            where = f"{where} ({name})"
        values = self.values(entries, where, keys, in_defaults=False)
        for key in keys.identity:
            entry = entries.entries.get(key)
            if entry is None:
                self.problem(entries.line, where, f"{key} is required")
            elif isinstance(entry[1], Scalar) and not entry[1].text.strip():
                self.problem(entry[0], f"{where}.{key}", "must not be empty")
        secrets = self.secrets(entries, where, keys, values)
        merged = {**defaults, **values}
        enabled = merged.pop("enabled", None)
        resolver = TargetResolver(merged, self.parent, secrets, self.problems)
        reader = SecretReader(resolver)
        checked = len(self.problems)
        settings = source.configure(resolver, reader)
        self.reader_found.extend(reader.found)
        if checked > before:
            # a required key is already reported here: the source's own all-or-none check of
            # its credentials would only repeat it in its flags' words
            kept = [p for p in self.problems[checked:] if p.startswith(f"{self.path}:")]
            self.problems[checked:] = kept
        identity = settings.identity
        if len(self.problems) > before or name is None or identity is None:
            return None
        on = enabled is None or parse_bool(enabled.value)
        return TargetSettings(source.kind, name, identity, settings, enabled=on)

    def name(self, entries: Map, where: str) -> str | None:
        entry = entries.entries.get("name")
        if entry is None:
            self.problem(entries.line, where, "name is required")
            return None
        line, node = entry
        if not isinstance(node, Scalar) or node.type != "string":
            self.problem(line, f"{where}.name", f"expected a string, found {_a(node.kind)}")
            return None
        if not NAME_PATTERN.match(node.text):
            self.problem(line, f"{where}.name", "must be 1 to 64 of A-Z a-z 0-9 _ . -")
            return None
        section = where.partition("[")[0]
        first = self.names.setdefault((section, node.text), line)
        if first != line:
            self.problem(
                line, f"{where}.name", f"{node.text!r} is already the name of line {first}"
            )
        return node.text

    def values(
        self, entries: Map, where: str, keys: TargetKeys, *, in_defaults: bool
    ) -> dict[str, Raw]:
        """Each value key as the raw text its flag's parser takes, at its line."""
        allowed = keys.allowed(in_defaults=in_defaults)
        found: dict[str, Raw] = {}
        for key, (line, node) in entries.entries.items():
            here = f"{where}.{key}"
            if key not in allowed:
                self.problem(line, here, "unknown key" + _why_not(key, keys, in_defaults))
                continue
            flag = keys.flags.get(key)
            if flag is None and key != "enabled":
                continue  # name and secret references are read on their own
            want = "boolean" if flag is None else _SCALAR_TYPES.get(flag.kind, "string")
            if self.typed(node, want, here, line):
                assert isinstance(node, Scalar)  # noqa: S101  # typed() checked it
                found["enabled" if flag is None else flag.name] = Raw(
                    node.text, f"{self.path}:{line}: {here}"
                )
        return found

    def secrets(
        self, entries: Map, where: str, keys: TargetKeys, values: dict[str, Raw]
    ) -> dict[str, str]:
        """Resolve each secret reference: a ``*_file`` path goes to ``values`` (read by the
        source's SecretReader), a ``*_env`` variable's value is returned by its env name."""
        from_env: dict[str, str] = {}
        for file_key, env_key, secret in keys.secrets.values():
            given = [k for k in (file_key, env_key) if k in entries.entries]
            if len(given) != 1:
                how = "both are given" if given else "one is required"
                self.problem(entries.line, where, f"exactly one of {file_key}, {env_key}: {how}")
                continue
            line, node = entries.entries[given[0]]
            here = f"{where}.{given[0]}"
            if not self.typed(node, "string", here, line):
                continue
            assert isinstance(node, Scalar)  # noqa: S101  # typed() checked it
            if given[0] == file_key:
                values[secret.file.name] = Raw(node.text, f"{self.path}:{line}: {here}")
                self.secret_files.append(node.text)
                continue
            value = self.env.get(node.text, "").strip()
            if not value:
                # the name is not echoed: a secret pasted where its variable's name belongs
                self.problem(line, here, "the environment variable it names is unset or empty")
                continue
            self.reader_found.append(value)
            from_env[secret.env] = value
        return from_env

    def mapping(self, node: Node, where: str) -> Map | None:
        if isinstance(node, Map):
            return node
        self.problem(node.line, where, f"expected a mapping, found {_a(node.kind)}")
        return None

    def typed(self, node: Node, want: str, where: str, line: int) -> bool:
        if isinstance(node, Scalar) and node.type == want:
            return True
        self.problem(line, where, f"expected {_a(want)}, found {_a(node.kind)}")
        return False


def _a(kind: str) -> str:
    return ("an " if kind[0] in "aeiou" else "a ") + kind


def _why_not(key: str, keys: TargetKeys, in_defaults: bool) -> str:
    if not in_defaults:
        return ""
    if key == "name" or key in keys.identity:
        return " (a target's name and identity cannot have defaults)"
    if any(key in refs[:2] for refs in keys.secrets.values()):
        return " (secret references cannot have defaults)"
    return ""


def _check_unique(targets: Sequence[TargetSettings], problems: list[str]) -> None:
    """Enabled targets poll different accounts (names are checked as they are read)."""
    identities: dict[tuple[str, str], str] = {}
    for target in targets:
        if not target.enabled:
            continue
        other = identities.get((target.kind, target.identity))
        if other is not None:
            problems.append(
                f"{target.kind} targets {other!r} and {target.name!r} poll the same account "
                f"({target.identity}): they would publish the same series twice"
            )
        identities[(target.kind, target.identity)] = target.name
