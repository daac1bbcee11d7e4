"""The web configuration file, read again whenever it changes, as Go reads it per request.

Go's toolkit re-reads the YAML on every request, so users and headers change without a
restart. Here a request costs one ``os.stat``: the file is read and parsed again only when
its stat key (mtime, size, inode, ctime) changes. ``stat`` follows symlinks, so the
``..data`` swap of a Kubernetes Secret volume is a change. A file whose rewrite keeps size,
inode and (coarse) timestamps is not seen until its next change; editors and Kubernetes
replace files, which always is.
"""

from __future__ import annotations

import codecs
import os
from typing import TYPE_CHECKING, Final

from exporter.web.security.schema import WebConfig, WebConfigError, parse_web_config

if TYPE_CHECKING:
    from structlog.typing import FilteringBoundLogger

__all__ = ["WebConfigSource", "load_web_config"]

_UTF16_BOMS: Final = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def load_web_config(path: str) -> WebConfig:
    """The web configuration in the file at ``path``; relative paths in it are taken from
    the file's directory. Raises :class:`WebConfigError`; an unreadable file's names the
    path (callers name the file before the others, as the CLI and the log line do)."""
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as exc:
        raise WebConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        # libyaml (so Go's yaml.v2) reads UTF-8, or UTF-16 that starts with its BOM
        text = data.decode("utf-16" if data[:2] in _UTF16_BOMS else "utf-8")
    except UnicodeDecodeError as exc:
        raise WebConfigError(f"not UTF-8 text (byte {exc.start})") from None
    return parse_web_config(text, os.path.dirname(path))


class WebConfigSource:
    """The configuration in force: ``current()`` costs one ``stat`` while the file is
    unchanged, and returns the very same :class:`WebConfig` (callers cache by identity).

    While the file is invalid or unreadable, ``current()`` raises :class:`WebConfigError`
    and the previous configuration is not used; the problem is logged once per change of
    the file (``web_config_invalid``), not once per call.
    """

    def __init__(self, path: str, log: FilteringBoundLogger) -> None:
        self._path = path
        self._log = log
        self._state: tuple[object, WebConfig | WebConfigError] | None = None
        """The stat key last read and what it gave; one tuple, swapped whole, so a reader
        on another thread never pairs one file's key with another's result."""

    def current(self) -> WebConfig:
        """The configuration of the file as it is now; raises :class:`WebConfigError`."""
        try:
            stat = os.stat(self._path)
            key: object = (stat.st_mtime_ns, stat.st_size, stat.st_ino, stat.st_ctime_ns)
        except OSError as exc:
            key = ("unreadable", exc.errno)  # one log line until the error itself changes
        state = self._state
        if state is None or state[0] != key:
            state = (key, self._load())
            self._state = state
        result = state[1]
        if isinstance(result, WebConfigError):
            # a fresh exception each time: raising a stored one would grow its traceback
            raise WebConfigError(*result.problems)
        return result

    def _load(self) -> WebConfig | WebConfigError:
        try:
            return load_web_config(self._path)
        except WebConfigError as exc:
            self._log.warning("web_config_invalid", path=self._path, error=str(exc))
            return exc
