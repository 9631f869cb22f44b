"""A spotipy client with client-credentials auth, configurable URLs, no hidden retries, and no secret in logs.

- Credentials come from ``SPOTIPY_CLIENT_ID`` / ``SPOTIPY_CLIENT_SECRET`` (or arguments). The secret is
  never logged or stored: the token lives in memory only (``MemoryCacheHandler``, no ``.cache`` file), and a
  logging filter on spotipy's loggers (whose debug output includes the ``Authorization`` header, i.e. the
  base64 of ``id:secret``) redacts the secret, its base64 form and any bearer token.
- ``api_url`` (default ``https://api.spotify.com/v1/``) and ``token_url`` (default
  ``https://accounts.spotify.com/api/token``) can point spotipy at another server (tests use a local one);
  also settable through ``NUDGE_SPOTIFY_API_URL`` / ``NUDGE_SPOTIFY_TOKEN_URL``.
- spotipy normally mounts a urllib3 ``Retry`` on its session that retries 429/5xx itself (sleeping on
  Retry-After) and then reports every exhausted retry as a 429 without headers. We hand spotipy a plain
  ``requests.Session`` instead, so each HTTP error reaches ``training.spotify.fetch`` with its real status
  and headers, and the retry policy there (Retry-After, backoff) is the only one.
"""

from __future__ import annotations

import base64
import logging
import os
import re
from dataclasses import dataclass

import requests
import spotipy
from spotipy.cache_handler import MemoryCacheHandler

from companion.core.errors import UsageError

DEFAULT_API_URL = "https://api.spotify.com/v1/"
DEFAULT_TOKEN_URL = "https://accounts.spotify.com/api/token"
ID_ENV, SECRET_ENV = "SPOTIPY_CLIENT_ID", "SPOTIPY_CLIENT_SECRET"
API_URL_ENV, TOKEN_URL_ENV = "NUDGE_SPOTIFY_API_URL", "NUDGE_SPOTIFY_TOKEN_URL"
REDACTED = "[redacted]"
REDACTED_LOGGERS = ("spotipy", "spotipy.client", "spotipy.oauth2", "training.spotify")
_HEADER_VALUE = re.compile(r"((?:Basic|Bearer)\s+)[A-Za-z0-9+/=._\-]+")


class CredentialsError(UsageError):
    """Spotify credentials are missing; the message names the environment variables."""


class SecretRedactor(logging.Filter):
    """Rewrites log records so that no registered secret (nor an Authorization header value) survives."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def add(self, *secrets: str) -> None:
        self.secrets.update(s for s in secrets if s and len(s) >= 4)

    def redact(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return _HEADER_VALUE.sub(r"\1" + REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        redacted = self.redact(message)
        if redacted != message or record.args:
            record.msg, record.args = redacted, None
        return True


REDACTOR = SecretRedactor()


def _install_redactor() -> None:
    """On every logger of ``REDACTED_LOGGERS`` and each of their children that exists by now: a logger's
    filter sees only the records made on that logger, not those its children pass up."""
    existing = [
        n for n in logging.root.manager.loggerDict if n.startswith(tuple(f"{p}." for p in REDACTED_LOGGERS))
    ]
    for name in (*REDACTED_LOGGERS, *existing):
        logger = logging.getLogger(name)
        if REDACTOR not in logger.filters:
            logger.addFilter(REDACTOR)


def redact(text: str) -> str:
    """``text`` with every registered secret replaced (for error messages shown to the user)."""
    return REDACTOR.redact(text)


@dataclass(frozen=True)
class ClientSettings:
    client_id: str
    client_secret: str
    api_url: str = DEFAULT_API_URL
    token_url: str = DEFAULT_TOKEN_URL
    timeout_s: float = 10.0

    def __repr__(self) -> str:  # never show the secret
        urls = f"api_url={self.api_url!r}, token_url={self.token_url!r}"
        return f"ClientSettings(client_id={self.client_id!r}, {urls})"

    __str__ = __repr__

    @classmethod
    def from_env(
        cls, api_url: str | None = None, token_url: str | None = None, timeout_s: float = 10.0
    ) -> ClientSettings:
        client_id = os.environ.get(ID_ENV, "").strip()
        secret = os.environ.get(SECRET_ENV, "").strip()
        missing = [name for name, value in ((ID_ENV, client_id), (SECRET_ENV, secret)) if not value]
        if missing:
            raise CredentialsError(
                f"Spotify credentials missing: set {' and '.join(missing)} (client-credentials app from "
                "https://developer.spotify.com/dashboard)"
            )
        return cls(
            client_id=client_id,
            client_secret=secret,
            api_url=api_url or os.environ.get(API_URL_ENV) or DEFAULT_API_URL,
            token_url=token_url or os.environ.get(TOKEN_URL_ENV) or DEFAULT_TOKEN_URL,
            timeout_s=timeout_s,
        )


def make_client(settings: ClientSettings) -> spotipy.Spotify:
    """A ``spotipy.Spotify`` on client credentials, with a plain session (no urllib3 retries)."""
    _install_redactor()
    basic = base64.b64encode(f"{settings.client_id}:{settings.client_secret}".encode()).decode("ascii")
    REDACTOR.add(settings.client_secret, basic)
    session = requests.Session()  # default adapters: no status retries, no Retry-After sleeping
    auth = spotipy.SpotifyClientCredentials(
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        requests_session=session,
        requests_timeout=settings.timeout_s,
        cache_handler=MemoryCacheHandler(),
    )
    auth.OAUTH_TOKEN_URL = settings.token_url  # spotipy reads the instance attribute
    client = spotipy.Spotify(
        auth_manager=auth,
        requests_session=session,
        requests_timeout=settings.timeout_s,
        retries=0,
        status_retries=0,
    )
    client.prefix = settings.api_url if settings.api_url.endswith("/") else settings.api_url + "/"
    return client
