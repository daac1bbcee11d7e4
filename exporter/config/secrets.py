"""Secrets: a value that never prints, and where each one is read from.

A secret has no flag (a flag shows in ``ps``): it comes from a file named by a ``*-file`` flag
or its environment variables, or else from one environment variable holding the value. Every
value read is remembered by the :class:`SecretReader`, so configuration problems can be masked
even when the secret ended up unused (a secret pasted as another flag's value, say).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import Final

from exporter.config.flags import Flag
from exporter.config.resolve import Resolver

__all__ = ["MAX_SECRET_BYTES", "Secret", "SecretInput", "SecretReader"]

MAX_SECRET_BYTES: Final = 64 * 1024
"""Largest secret file read: keys and secrets are tens of bytes."""


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
        neither is set, or (recorded as a problem) when it cannot be used."""
        resolver = self._resolver
        raw = resolver.raw(secret.file)
        if raw is not None:
            where = resolver.where(secret.file, raw)
            try:
                text = _read_file(raw.value)
            except _Unusable as exc:
                resolver.problems.append(f"{where}: {exc}")
                return None
            if not text:
                resolver.problems.append(f"{where}: the file it names is empty")
                return None
            return self._checked(text, where, secret)
        text = resolver.env.get(secret.env, "").strip()
        return self._checked(text, f"${secret.env}", secret) if text else None

    def _checked(self, text: str, where: str, secret: SecretInput) -> Secret | None:
        """``text`` as a secret, unless it holds what no key or secret does (a control or
        non-ASCII character): sent in a header it would break the request, and the error
        would carry it, in an escaped form the log redactor could miss."""
        self.found.append(text)
        if text.isascii() and text.isprintable():
            return Secret(text)
        self._resolver.problems.append(
            f"{where}: the {secret.noun} holds a control or non-ASCII character "
            f"(a {secret.noun} is printable ASCII; check for a stray newline or NUL)"
        )
        return None


class _Unusable(Exception):
    """A secret file that cannot be used; the message says why (never its content)."""


def _read_file(path: str) -> str:
    """The stripped UTF-8 text of the regular file at ``path`` (symlinks followed, as
    Kubernetes mounts secrets), at most :data:`MAX_SECRET_BYTES`: a FIFO would block the
    start forever, ``/dev/zero`` or a huge file would exhaust memory."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            # the path names something that exists, so it is a path, not a pasted secret
            raise _Unusable(f"{path} is not a regular file")
        if info.st_size > MAX_SECRET_BYTES:
            raise _Unusable(f"{path} is larger than {MAX_SECRET_BYTES // 1024} KiB")
        with open(path, "rb") as handle:
            data = handle.read(MAX_SECRET_BYTES + 1)
    except OSError as exc:
        # the value is not echoed: a secret pasted where its path belongs is a common slip
        raise _Unusable(f"cannot read the file it names: {exc.strerror}") from None
    if len(data) > MAX_SECRET_BYTES:
        raise _Unusable(f"{path} is larger than {MAX_SECRET_BYTES // 1024} KiB")
    try:
        return data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise _Unusable("cannot read the file it names: not UTF-8 text") from None
