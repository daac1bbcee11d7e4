"""The Livepeer source's flags, API key and settings.

The source runs when an API key is given, from the file named by ``--livepeer.api-key-file`` or
from ``LIVEPEER_API_KEY``. A key names no project, so the ``target`` label is
``--livepeer.target-name``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Final

from exporter.config.flags import POLL_INTERVAL, Flag
from exporter.config.resolve import Resolver
from exporter.config.secrets import Secret, SecretInput, SecretReader
from exporter.config.values import NONEMPTY, PATH, POSITIVE_DURATION, URL, integer

__all__ = ["FLAGS", "SECRETS", "LivepeerSettings", "key_identity", "parse_settings"]

API_KEY_FILE: Final = Flag(
    "livepeer.api-key-file",
    PATH,
    None,
    "file holding the API key (or the value in LIVEPEER_API_KEY); enables the Livepeer source",
    ("LIVEPEER_API_KEY_FILE",),
    enables=True,
)
URL_FLAG: Final = Flag(
    "livepeer.url",
    URL,
    "https://livepeer.studio/api",
    "Studio API base URL",
    ("LIVEPEER_API_URL",),
)
TARGET_NAME: Final = Flag(
    "livepeer.target-name", NONEMPTY, "default", "value of the target label", in_file=False
)
POLL_INTERVAL_FLAG: Final = Flag(
    "livepeer.poll-interval",
    POSITIVE_DURATION,
    None,
    "Livepeer poll interval",
    inherits=POLL_INTERVAL,
)
ACTIVE_WINDOW: Final = Flag(
    "livepeer.active-window",
    POSITIVE_DURATION,
    "90s",
    "lastSeen age under which a session is active",
)
RECORDING_LOOKBACK: Final = Flag(
    "livepeer.recording-lookback",
    POSITIVE_DURATION,
    "6h",
    "how far back recordings are tracked",
)
PAGE_SIZE: Final = Flag("livepeer.page-size", integer(1, 1000), "100", "limit per page")
MAX_PAGES: Final = Flag("livepeer.max-pages", integer(1), "50", "pages per poll at most")
MAX_SESSIONS: Final = Flag("livepeer.max-sessions", integer(0), "1000", "cap on per-session series")

FLAGS: Final[tuple[Flag[object], ...]] = (
    API_KEY_FILE,
    URL_FLAG,
    TARGET_NAME,
    POLL_INTERVAL_FLAG,
    ACTIVE_WINDOW,
    RECORDING_LOOKBACK,
    PAGE_SIZE,
    MAX_PAGES,
    MAX_SESSIONS,
)
API_KEY: Final = SecretInput(API_KEY_FILE, "LIVEPEER_API_KEY", noun="key")
SECRETS: Final = (API_KEY,)
ENABLE_HINT: Final = "a Livepeer key (LIVEPEER_API_KEY)"


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

    @property
    def target(self) -> str | None:
        """The ``target`` label, when the source is configured."""
        return None if self.api_key is None else self.target_name

    @property
    def identity(self) -> str | None:
        """The account polled, when configured: a digest of the key (it sees one project)."""
        return None if self.api_key is None else key_identity(self.api_key)

    @property
    def secrets(self) -> tuple[Secret, ...]:
        return () if self.api_key is None else (self.api_key,)


def key_identity(key: Secret) -> str:
    """``sha256:`` and 16 hex digits of the key's SHA-256: stable, and useless to an attacker."""
    return "sha256:" + hashlib.sha256(key.reveal().encode()).hexdigest()[:16]


def parse_settings(resolver: Resolver, reader: SecretReader) -> LivepeerSettings:
    """The Livepeer settings from flags and env; problems go to the resolver."""
    return LivepeerSettings(
        api_key=reader.read(API_KEY),
        url=resolver.get(URL_FLAG),
        target_name=resolver.get(TARGET_NAME),
        poll_interval=resolver.get(POLL_INTERVAL_FLAG),
        active_window=resolver.get(ACTIVE_WINDOW),
        recording_lookback=resolver.get(RECORDING_LOOKBACK),
        page_size=resolver.get(PAGE_SIZE),
        max_pages=resolver.get(MAX_PAGES),
        max_sessions=resolver.get(MAX_SESSIONS),
    )
