"""The spotipy client: client credentials against a real local server, our URLs, no hidden retries, no secret
in logs."""

from __future__ import annotations

import base64
import logging

import pytest
from spotipy.exceptions import SpotifyException, SpotifyOauthError

from tests.support.fake_spotify import ACCESS_TOKEN, FakeSpotify, track_object
from training.spotify.client import REDACTED, ClientSettings, CredentialsError, make_client, redact

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore:.*deprecated by Spotify")]

CLIENT_ID = "nudge-test-id"
SECRET = "Sup3r-S3cret-Value-0042"
BASIC = base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()


@pytest.fixture
def server():
    with FakeSpotify(CLIENT_ID, SECRET) as fake:
        fake.artists["artist1"] = [track_object("trk1"), track_object("trk2")]
        yield fake


def _settings(server: FakeSpotify, secret: str = SECRET) -> ClientSettings:
    return ClientSettings(CLIENT_ID, secret, api_url=server.api_url, token_url=server.token_url, timeout_s=5)


def test_settings_come_from_the_spotipy_environment_variables(monkeypatch):
    monkeypatch.delenv("SPOTIPY_CLIENT_ID", raising=False)
    monkeypatch.delenv("SPOTIPY_CLIENT_SECRET", raising=False)
    with pytest.raises(CredentialsError, match="SPOTIPY_CLIENT_ID and SPOTIPY_CLIENT_SECRET"):
        ClientSettings.from_env()
    monkeypatch.setenv("SPOTIPY_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("SPOTIPY_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("NUDGE_SPOTIFY_API_URL", "http://127.0.0.1:1/v1/")
    settings = ClientSettings.from_env()
    assert (settings.client_id, settings.client_secret) == (CLIENT_ID, SECRET)
    assert settings.api_url == "http://127.0.0.1:1/v1/"
    assert settings.token_url == "https://accounts.spotify.com/api/token"
    assert SECRET not in repr(settings) and SECRET not in str(settings)


def test_client_gets_a_token_from_our_token_url_and_calls_our_api(server, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    client = make_client(_settings(server))
    result = client.artist_top_tracks("artist1")
    assert [t["id"] for t in result["tracks"]] == ["trk1", "trk2"]
    token_requests = server.requests_to("^/api/token$")
    assert len(token_requests) == 1 and token_requests[0].headers["Authorization"] == f"Basic {BASIC}"
    api = server.requests_to("^/v1/artists/artist1/top-tracks$")
    assert api[0].headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    client.artist_top_tracks("artist1")
    assert len(server.requests_to("^/api/token$")) == 1  # the token is reused from memory
    assert list(tmp_path.iterdir()) == []  # no spotipy .cache token file


def test_wrong_credentials_are_refused_without_echoing_the_secret(server):
    client = make_client(_settings(server, secret="wrong-secret-value"))
    with pytest.raises(SpotifyOauthError) as caught:
        client.artist_top_tracks("artist1")
    assert "invalid_client" in str(caught.value) and "wrong-secret-value" not in str(caught.value)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_spotipy_does_not_retry_by_itself_and_keeps_status_and_headers(server, status):
    server.fail("top-tracks", status, times=1, headers={"Retry-After": "7"})
    client = make_client(_settings(server))
    with pytest.raises(SpotifyException) as caught:
        client.artist_top_tracks("artist1")
    assert caught.value.http_status == status
    assert caught.value.headers.get("Retry-After") == "7"
    assert len(server.requests_to("top-tracks")) == 1  # exactly one attempt: the retry policy is ours


def test_debug_logs_never_show_the_secret_or_tokens(server, caplog):
    caplog.set_level(logging.DEBUG)
    client = make_client(_settings(server))
    client.artist_top_tracks("artist1")
    server.fail("top-tracks", 404)
    with pytest.raises(SpotifyException):
        client.artist_top_tracks("artist1")
    text = caplog.text
    assert "Sending POST request" in text and "Authorization" in text  # spotipy's debug lines are there...
    assert SECRET not in text and BASIC not in text and ACCESS_TOKEN not in text  # ...but redacted
    assert REDACTED in text


def test_redact_hides_registered_secrets_and_header_values(server):
    make_client(_settings(server))
    assert redact(f"oops {SECRET} and {BASIC}") == f"oops {REDACTED} and {REDACTED}"
    assert redact("Authorization: Bearer abc.def-123") == f"Authorization: Bearer {REDACTED}"


def test_child_loggers_of_the_package_are_redacted_too(server, caplog):
    caplog.set_level(logging.DEBUG)
    child = logging.getLogger("training.spotify.fetch")  # a module logger: its records pass up, unfiltered
    make_client(_settings(server))
    child.warning("token %s and %s", SECRET, f"Bearer {ACCESS_TOKEN}")
    assert SECRET not in caplog.text and ACCESS_TOKEN not in caplog.text and REDACTED in caplog.text
