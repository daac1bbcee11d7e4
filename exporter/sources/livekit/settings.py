"""The LiveKit source's flags, credentials and settings, with their validation rules.

The source runs when all three credentials are given (project id, API key, API secret); some
but not all of them is a configuration problem naming the missing ones. The token lifetime has
a floor of a minute, so a token outlives the requests signed with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from exporter.config.flags import POLL_INTERVAL, Flag
from exporter.config.resolve import Resolver
from exporter.config.secrets import Secret, SecretInput, SecretReader
from exporter.config.values import (
    BOOLEAN,
    PATH,
    POSITIVE_DURATION,
    TEXT,
    URL,
    integer,
    min_duration,
)

__all__ = ["FLAGS", "SECRETS", "LiveKitCredentials", "LiveKitSettings", "parse_settings"]

PROJECT_ID: Final = Flag(
    "livekit.project-id",
    TEXT,
    None,
    "enables the LiveKit source (with key and secret)",
    ("LIVEKIT_PROJECT_ID",),
    enables=True,
)
API_KEY: Final = Flag(
    "livekit.api-key", TEXT, None, "token issuer", ("LIVEKIT_API_KEY",), enables=True
)
API_SECRET_FILE: Final = Flag(
    "livekit.api-secret-file",
    PATH,
    None,
    "file holding the token signing secret (or the value in LIVEKIT_API_SECRET)",
    ("LIVEKIT_API_SECRET_FILE",),
    enables=True,
)
URL_FLAG: Final = Flag(
    "livekit.url",
    URL,
    "https://cloud-api.livekit.io",
    "Analytics API base URL",
    ("LIVEKIT_CLOUD_API_URL",),
)
POLL_INTERVAL_FLAG: Final = Flag(
    "livekit.poll-interval",
    POSITIVE_DURATION,
    None,
    "LiveKit poll interval",
    inherits=POLL_INTERVAL,
)
TOKEN_TTL: Final = Flag(
    "livekit.token-ttl",
    min_duration(60, "must be at least 1m, so a token outlives the requests signed with it"),
    "10m",
    "lifetime of each minted token",
)
LOOKBACK_DAYS: Final = Flag(
    "livekit.lookback-days",
    integer(0, 6),
    "1",
    "list window starts this many UTC days before today",
)
PAGE_SIZE: Final = Flag("livekit.page-size", integer(1, 1000), "100", "limit per list page")
MAX_PAGES: Final = Flag("livekit.max-pages", integer(1), "50", "pages per poll at most")
DETAILS: Final = Flag(
    "livekit.details", BOOLEAN, "true", "fetch session details (publisher metrics)"
)
REQUESTS_PER_MINUTE: Final = Flag(
    "livekit.requests-per-minute", integer(1), "120", "request budget for this project"
)
MAX_SESSIONS: Final = Flag("livekit.max-sessions", integer(0), "1000", "cap on per-session series")

FLAGS: Final[tuple[Flag[object], ...]] = (
    PROJECT_ID,
    API_KEY,
    API_SECRET_FILE,
    URL_FLAG,
    POLL_INTERVAL_FLAG,
    TOKEN_TTL,
    LOOKBACK_DAYS,
    PAGE_SIZE,
    MAX_PAGES,
    DETAILS,
    REQUESTS_PER_MINUTE,
    MAX_SESSIONS,
)
API_SECRET: Final = SecretInput(API_SECRET_FILE, "LIVEKIT_API_SECRET", noun="secret")
SECRETS: Final = (API_SECRET,)
ENABLE_HINT: Final = (
    "set LiveKit's project id, API key and secret "
    "(--livekit.project-id, LIVEKIT_API_KEY, LIVEKIT_API_SECRET)"
)


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

    @property
    def target(self) -> str | None:
        """The project id: the ``target`` label, when the source is configured."""
        return None if self.credentials is None else self.credentials.project_id

    @property
    def identity(self) -> str | None:
        """The account polled, when configured: the project id."""
        return self.target

    @property
    def secrets(self) -> tuple[Secret, ...]:
        return () if self.credentials is None else (self.credentials.api_secret,)


def parse_settings(resolver: Resolver, reader: SecretReader) -> LiveKitSettings:
    """The LiveKit settings from flags and env; problems go to the resolver."""
    return LiveKitSettings(
        credentials=_credentials(resolver, reader),
        url=resolver.get(URL_FLAG),
        poll_interval=resolver.get(POLL_INTERVAL_FLAG),
        token_ttl=resolver.get(TOKEN_TTL),
        lookback_days=resolver.get(LOOKBACK_DAYS),
        page_size=resolver.get(PAGE_SIZE),
        max_pages=resolver.get(MAX_PAGES),
        details=resolver.get(DETAILS),
        requests_per_minute=resolver.get(REQUESTS_PER_MINUTE),
        max_sessions=resolver.get(MAX_SESSIONS),
    )


def _credentials(resolver: Resolver, reader: SecretReader) -> LiveKitCredentials | None:
    """All three credentials, none, or a problem naming the missing ones."""
    before = len(resolver.problems)
    secret = reader.read(API_SECRET)
    project_id = resolver.optional(PROJECT_ID)
    api_key = resolver.optional(API_KEY)
    parts = {
        "--livekit.project-id / LIVEKIT_PROJECT_ID": project_id,
        "--livekit.api-key / LIVEKIT_API_KEY": api_key,
        "LIVEKIT_API_SECRET or --livekit.api-secret-file": secret,
    }
    missing = [name for name, value in parts.items() if not value]
    if len(resolver.problems) > before:
        return None
    if missing and len(missing) < len(parts):
        resolver.problems.append(
            "LiveKit source partly configured: missing " + ", ".join(missing) + " (give all three)"
        )
        return None
    if project_id is None or api_key is None or secret is None:
        return None
    return LiveKitCredentials(project_id=project_id, api_key=api_key, api_secret=secret)
